"""`pushgate subscriptions export` from one app and `import` into another, on the running local
stack, with the CLI as installed: the other app then has the same subscriptions, and a push of its
own reaches them.

The browsers' endpoints are on a loopback push service that counts requests per endpoint
(bench/load/counting_push_service.py), allowed through PUSHGATE_EXTRA_PUSH_HOSTS in the stack's and
the CLI's environment alike. It checks no VAPID signature: a real browser subscription is bound to
the VAPID key it was made with, so moving one between apps only works when they share that key
(docs/import-export.md); what this test proves is the records and the delivery path."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from bench.load.counting_push_service import CountingPushService
from pushgate_local.process import running_stack
from tests.e2e.clients import create_app
from tests.e2e.local_stack import REPO, LocalStackProcess, new_browser_keys

pytestmark = pytest.mark.e2e

DELIVERY_TIMEOUT_SECONDS = 60
POLL_INTERVAL_SECONDS = 0.2


@pytest.fixture(scope="module")
def push_service() -> Iterator[CountingPushService]:
    service = CountingPushService()
    yield service
    service.stop()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, push_service: CountingPushService) -> Iterator[LocalStackProcess]:
    with running_stack(tmp_path_factory.mktemp("transfer-stack"), push_service.host) as stack:
        yield stack


def cli(stack: LocalStackProcess, push_service: CountingPushService, *argv: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("pushgate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pushgate_cli.main"]
    env = {**os.environ, "PUSHGATE_EXTRA_PUSH_HOSTS": push_service.host}
    return subprocess.run([*command, *argv, "--local-url", stack.http_url], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=120, check=False)


def subscribe(stack: LocalStackProcess, endpoint: str, user_id: str, topic: str) -> None:
    p256dh, auth = new_browser_keys()
    params = {"session_id": stack.create_session(user_id), "endpoint": endpoint, "key_p256dh": p256dh, "key_auth": auth}
    response = requests.get(f"{stack.http_url}/{stack.demo()['account_id']}/push_subscribe", params=params, timeout=30)
    assert response.json()["data"]["operation_status"] == "SUCCESS", response.text
    response = requests.post(f"{stack.http_url}/topics/subscribe", params={"api_key": stack.demo()["secret_key"]},
                             json={"token": endpoint, "topics": [topic]}, timeout=30)
    assert response.json() == {"success": True}, response.text


def push_and_wait(stack: LocalStackProcess, secret_key: str, to: str) -> dict[str, Any]:
    response = requests.post(f"{stack.http_url}/push", params={"api_key": secret_key},
                             json={"to": to, "notification": {"title": "moved", "body": "still here"}}, timeout=30)
    assert response.status_code == 200, response.text
    url = f"{stack.http_url}/pushes/{response.json()['id']}"
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        push = requests.get(url, params={"api_key": secret_key}, timeout=30).json()["push"]
        if push["status"] == "done":
            return push
        time.sleep(POLL_INTERVAL_SECONDS)
    raise AssertionError(f"push not done within {DELIVERY_TIMEOUT_SECONDS} s: {push}\n{stack.logs()}")


def without_dates(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(({k: v for k, v in r.items() if k not in ("created_at", "updated_at")} for r in records), key=lambda r: r["endpoint"])


def test_subscriptions_exported_from_one_app_and_imported_into_another_receive_its_pushes(
    stack: LocalStackProcess, push_service: CountingPushService, tmp_path: Path
) -> None:
    # Given three browsers of two users of the demo app, in one topic
    run = uuid.uuid4().hex[:8]
    topic, users = f"moving-{run}", [f"mover-{run}-a", f"mover-{run}-b"]
    endpoints = [push_service.url(f"/transfer/{run}/{index}") for index in range(3)]
    for endpoint, user_id in zip(endpoints, [users[0], users[0], users[1]], strict=True):
        subscribe(stack, endpoint, user_id, topic)
    # When their subscriptions are exported and imported into a new app
    exported = tmp_path / "demo.jsonl"
    result = cli(stack, push_service, "subscriptions", "export", "--app", stack.demo()["app_id"], *[f"--user={u}" for u in users])
    assert result.returncode == 0, result.stderr
    exported.write_text(result.stdout)
    other = create_app(stack, f"imported-{run}")
    result = cli(stack, push_service, "subscriptions", "import", "--app", other["app_id"], str(exported), "--json")
    assert result.returncode == 0, result.stderr
    assert {k: json.loads(result.stdout)[k] for k in ("created", "failed")} == {"created": 3, "failed": 0}
    # Then the new app holds the same subscriptions, topic included
    result = cli(stack, push_service, "subscriptions", "export", "--app", other["app_id"])
    imported = [json.loads(line) for line in result.stdout.splitlines()]
    original = [json.loads(line) for line in exported.read_text().splitlines()]
    assert len(original) == 3 and without_dates(imported) == without_dates(original)
    # And a push of the new app to the topic, then to one user, reaches exactly those browsers
    push = push_and_wait(stack, other["secret_key"], f"/topics/{topic}")
    assert {k: push["counts"][k] for k in ("targeted", "sent", "failed")} == {"targeted": 3, "sent": 3, "failed": 0}
    assert push_service.counts(f"/transfer/{run}/") == {"endpoints": 3, "deliveries": 3}
    push = push_and_wait(stack, other["secret_key"], f"/users/{users[1]}")
    assert push["counts"]["sent"] == 1
    assert push_service.counts(f"/transfer/{run}/2") == {"endpoints": 1, "deliveries": 2}
