"""Fixtures of the fault-injection suite (a Web Push world under moto, see web_world.py) and the
table of figures printed at the end of every run of it (figures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.log_hygiene import SecretLedger, leak_report, scan_logs
from tests.faults.figures import recorded, table
from tests.faults.web_world import FaultyPushService, WebWorld
from tests.pipeline.conftest import queues  # noqa: F401 - the template's queues, in moto


@pytest.fixture
def push_service() -> Iterator[FaultyPushService]:
    service = FaultyPushService()
    yield service
    service.stop()


@pytest.fixture
def web_world(aws, queues, import_handler, monkeypatch, lambda_context, push_service, capsys, caplog, tmp_path) -> Iterator[WebWorld]:  # noqa: ANN001, F811
    """The world; once the test is over, what its handlers logged (Powertools' stdout, the
    stdlib loggers) must hold none of its secrets (tests/e2e/log_hygiene.py's scanner)."""
    world = WebWorld(aws, queues, import_handler, monkeypatch, lambda_context, push_service).rebuild()
    yield world
    out, err = capsys.readouterr()
    captured = tmp_path / "handlers.log"
    captured.write_text(out + err + caplog.text)
    ledger = world_secrets(world, aws["ssm"])
    leaks, scanned = scan_logs(ledger, [captured])
    assert scanned > 0 and len(ledger) > 0, "nothing was logged or no secret recorded: the check would pass vacuously"
    assert not leaks, leak_report(leaks)


def world_secrets(world: WebWorld, ssm: Any) -> SecretLedger:
    """Every credential and subscription secret of the world: endpoints, browser keys, the app's
    secret key, its channels' VAPID private keys."""
    ledger = SecretLedger()
    for path, browser in world.push_service.browsers.items():
        ledger.add("endpoint", f"http://{world.push_service.host}{path}")
        ledger.add("p256dh", browser.p256dh)
        ledger.add("auth", browser.auth_b64)
    ledger.add("secret_key", world.app.secret_key)
    for channel in world.app.channels:
        parameter = getattr(channel, "vapid_private_key_parameter", None)
        if parameter:
            ledger.add("vapid private key", ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"])
    return ledger


def pytest_terminal_summary(terminalreporter: Any) -> None:
    rows = recorded()
    if rows:
        terminalreporter.write_sep("=", "delivery pipeline under faults (tests/faults)")
        terminalreporter.write_line(table(rows))
