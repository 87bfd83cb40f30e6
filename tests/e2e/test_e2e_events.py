"""The stack's events end to end (docs/events.md) on the stack `make run` starts: an Android app
uninstalled (the fake FCM answers UNREGISTERED) is pruned by the FCM sender, which puts
pushgate.device.pruned on the stack's EventBridge bus, and the push's last count puts
pushgate.push.completed there; the embedded endpoint's bus sends them on to the queue behind
GET /_pushgate/local/events, which is what is asserted, as a developer would look."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from pushgate.identifiers import token_hash

from tests.e2e.local_stack import LocalStackProcess
from tests.e2e.test_e2e_native import Fake, push, register, wait_until_done

pytestmark = pytest.mark.e2e

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"
EVENTS_TIMEOUT_SECONDS = 30
POLL_INTERVAL_SECONDS = 0.2


def recorded(stack: LocalStackProcess, detail_type: str | None = None) -> list[dict[str, Any]]:
    params = {"detail-type": detail_type} if detail_type else {}
    response = requests.get(f"{stack.http_url}/_pushgate/local/events", params=params, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["events"]


def wait_for(stack: LocalStackProcess, detail_type: str, push_id: str) -> list[dict[str, Any]]:
    """The events of this type for this push, once there is one (put after the counts are written)."""
    deadline = time.monotonic() + EVENTS_TIMEOUT_SECONDS
    while True:
        found = [event for event in recorded(stack, detail_type) if event["detail"].get("push_id") == push_id]
        if found or time.monotonic() > deadline:
            assert found, f"no {detail_type} for {push_id}\n{stack.logs()}"
            return found
        time.sleep(POLL_INTERVAL_SECONDS)


def test_an_uninstalled_app_is_announced_pruned_and_the_push_completed_once(local_stack: LocalStackProcess) -> None:
    fcm = Fake(local_stack, "fcm")
    user = f"events-{uuid.uuid4()}"
    gone, kept = f"fcm-{secrets.token_urlsafe(40)}", f"fcm-{secrets.token_urlsafe(40)}"
    session_id = local_stack.create_session(user)
    register(local_stack, session_id, "android", gone)
    register(local_stack, session_id, "android", kept)
    fcm.behave(gone, "unregistered")

    push_id = push(local_stack, {"to": f"/users/{user}", "data": {"kind": "sync"}})
    assert wait_until_done(local_stack, push_id)["counts"]["pruned"] == 1

    [pruned] = wait_for(local_stack, "pushgate.device.pruned", push_id)
    assert pruned["source"] == "pushgate"
    assert {key: pruned["detail"][key] for key in ("app_id", "device_type", "user_id", "token_hash")} == {
        "app_id": local_stack.demo()["app_id"], "device_type": "android", "user_id": user, "token_hash": token_hash(gone)
    }
    [completed] = wait_for(local_stack, "pushgate.push.completed", push_id)
    assert completed["detail"]["counts"] == {"targeted": 2, "sent": 1, "failed": 0, "pruned": 1, "cancelled": 0}

    for event in (pruned, completed):
        jsonschema.validate(event, json.loads((SCHEMAS / f"{event['detail-type']}.json").read_text()))
    everything = json.dumps(recorded(local_stack))
    assert gone not in everything and kept not in everything  # tokens are credentials: never on the bus
    # Asked again, the same events: the route keeps what it drained.
    assert [event["id"] for event in wait_for(local_stack, "pushgate.push.completed", push_id)] == [completed["id"]]
