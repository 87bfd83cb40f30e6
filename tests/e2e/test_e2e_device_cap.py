"""docs/limits.md "Devices per user" end to end: with the app's own cap set by
`pushgate app limits --devices N`, a user's (N+1)th browser, registered through another surface
than the others, evicts the least recently registered one; a push to the user then reaches the N
kept browsers at a real push service (web-push-testing, as in test_e2e_delivery) and not the
evicted one, and the eviction is on the stack's event bus as pushgate.device.evicted."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import requests

from pushgate.identifiers import token_hash
from pushgate_local.process import running_stack
from tests.e2e.clients import open_ws, pushgate_cli, send
from tests.e2e.local_stack import LocalStackProcess
from tests.e2e.push_service import LoopbackPushService, PushSubscription
from tests.e2e.test_e2e_delivery import (
    a_notification,
    counts,
    register_with_account_api,
    register_with_channel_api,
    register_with_device_api,
    send_push,
    wait_until_delivered,
)

pytestmark = pytest.mark.e2e

CAP = 2
EVENTS_TIMEOUT_SECONDS = 30
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "events" / "pushgate.device.evicted.json").read_text())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, push_service: LoopbackPushService) -> Iterator[LocalStackProcess]:
    """A stack of its own, as `make run` starts it, allowed to send to the loopback push service;
    its demo app capped at CAP devices per user."""
    with running_stack(tmp_path_factory.mktemp("device-cap-stack"), push_service.push_host) as stack:
        limits = pushgate_cli(stack, "app", "limits", "--app", stack.demo()["app_id"], "--devices", str(CAP))
        assert limits["devices"] == CAP, limits
        yield stack


def register_with_websocket(stack: LocalStackProcess, user_id: str, subscription: PushSubscription) -> None:
    """docs/api.md §1, authenticated at connect with a session."""
    with open_ws(stack, token=stack.create_session(user_id)) as connection:
        reply = send(connection, {"cmd": "push_subscribe", "subscription": subscription.to_json()})
    assert reply == {"cmd": "push_subscribed", "success": True}, reply


def statuses(stack: LocalStackProcess, user_id: str) -> dict[str, str]:
    """GET /users/{user_id}/subscriptions: endpoint -> status."""
    response = requests.get(
        f"{stack.http_url}/users/{user_id}/subscriptions", params={"api_key": stack.demo()["secret_key"]}, timeout=30
    )
    assert response.status_code == 200, response.text
    return {item["endpoint"]: item["status"] for item in response.json()["subscriptions"]}


def evicted_events(stack: LocalStackProcess, user_id: str, expected: int) -> list[dict[str, Any]]:
    """The pushgate.device.evicted events of the user on the bus, once there are `expected`."""
    deadline = time.monotonic() + EVENTS_TIMEOUT_SECONDS
    while True:
        response = requests.get(
            f"{stack.http_url}/_pushgate/local/events", params={"detail-type": "pushgate.device.evicted"}, timeout=30
        )
        assert response.status_code == 200, response.text
        found = [event for event in response.json()["events"] if event["detail"]["user_id"] == user_id]
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def test_the_device_over_the_cap_evicts_the_oldest_and_a_push_reaches_only_the_kept(
    stack: LocalStackProcess, push_service: LoopbackPushService
) -> None:
    # Given a user's browsers, each registered through another surface, one over the cap
    user = f"capped-{uuid.uuid4()}"
    vapid_public_key = stack.demo()["channels"][0]["vapid_public_key"]
    oldest, *kept = browsers = [push_service.subscribe(vapid_public_key) for _ in range(CAP + 1)]
    register_with_account_api(stack, user, oldest)
    register_with_websocket(stack, user, kept[0])
    assert statuses(stack, user) == {oldest.endpoint: "ACTIVE", kept[0].endpoint: "ACTIVE"}
    register_with_channel_api(stack, user, kept[1])
    # Then the least recently registered is removed, the others kept
    assert statuses(stack, user) == {oldest.endpoint: "REMOVED", **{browser.endpoint: "ACTIVE" for browser in kept}}
    # And a push to the user reaches the kept browsers only
    notification, data = a_notification()
    push_id = send_push(stack, f"/users/{user}", notification, data)
    wait_until_delivered(stack, push_service, push_id, counts(targeted=CAP, sent=CAP))
    for browser in kept:
        assert push_service.messages(browser) == [{"id": push_id, "notification": notification, "data": data}]
    assert push_service.messages(oldest) == []
    # And the eviction is on the bus, with the token's hash, never the endpoint
    events = evicted_events(stack, user, expected=1)
    assert [event["detail"]["token_hash"] for event in events] == [token_hash(oldest.endpoint)], events
    jsonschema.validate(events[0], SCHEMA)
    assert events[0]["detail"]["registered_token_hash"] == token_hash(kept[1].endpoint)
    assert all(browser.endpoint not in json.dumps(events) for browser in browsers)


def test_registering_a_kept_browser_again_evicts_nothing_and_a_new_one_evicts_the_next_oldest(
    stack: LocalStackProcess, push_service: LoopbackPushService
) -> None:
    user = f"again-{uuid.uuid4()}"
    vapid_public_key = stack.demo()["channels"][0]["vapid_public_key"]
    first, second, third = (push_service.subscribe(vapid_public_key) for _ in range(3))
    register_with_device_api(stack, user, first)
    time.sleep(1.1)  # registrations are ordered to the second: make "first" the older for certain
    register_with_account_api(stack, user, second)
    time.sleep(1.1)
    register_with_account_api(stack, user, first)  # first again: now the most recent, still two devices
    assert statuses(stack, user) == {first.endpoint: "ACTIVE", second.endpoint: "ACTIVE"}
    time.sleep(1.1)
    register_with_websocket(stack, user, third)
    assert statuses(stack, user) == {first.endpoint: "ACTIVE", second.endpoint: "REMOVED", third.endpoint: "ACTIVE"}
    assert [event["detail"]["token_hash"] for event in evicted_events(stack, user, expected=1)] == [token_hash(second.endpoint)]
