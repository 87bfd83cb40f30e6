"""Fixtures of the security suite: the handler tests' apps and surfaces (tests/handlers), the
template's queues (tests/pipeline), a guard that records and refuses every outbound connection,
and the figures table printed at the end of the run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.handlers.conftest import surfaces, tenant  # noqa: F401 - fixtures reused as they are
from tests.pipeline.conftest import queues  # noqa: F401 - the template's queues, in moto
from tests.security.figures import render, tables
from tests.security.network_guard import OutboundAttempts, no_outbound_connections


@pytest.fixture
def outbound(monkeypatch: pytest.MonkeyPatch) -> Iterator[OutboundAttempts]:
    with no_outbound_connections(monkeypatch) as attempts:
        yield attempts


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for name, rows in tables().items():
        terminalreporter.write_sep("=", name)
        terminalreporter.write_line(render(rows))
