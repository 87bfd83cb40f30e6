"""One browser, four doors (docs/api.md §6 and docs/data-model.md): the WebSocket (§1), the account
API (§2), the device API (§3) and the channel API (§5) all register the same record for the same
endpoint, which the topics API (§4) finds by that endpoint; any surface its owner uses removes it;
other users get each surface's conflict error; other apps see nothing; the same browser (same
keys) moves between users whichever surfaces they use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pushgate.identifiers import token_hash
from pushgate.models import SubscriptionStatus
from tests.keys import browser_keys
from tests.surfaces import Surfaces, Tenant

ENDPOINT = "https://fcm.googleapis.com/fcm/send/one-browser"
SURFACES = ["ws", "account", "device", "channel"]
DEVICE_ID = "browser-uuid-1"


def register(surfaces: Surfaces, tenant: Tenant, surface: str, user: str, keys: tuple[str, str], endpoint: str = ENDPOINT) -> Any:
    """Subscribe through one surface; returns what that surface answered."""
    if surface == "ws":
        return surfaces.ws_subscribe(surfaces.ws_open(tenant, user), endpoint, keys)
    if surface == "account":
        return surfaces.account_subscribe(tenant, user, endpoint, keys)
    if surface == "device":
        return surfaces.device_subscribe_web(tenant, user, DEVICE_ID, endpoint, keys)
    return surfaces.channel_upsert(tenant, user, endpoint, keys)


def registered(surface: str, answer: Any) -> bool:
    return {
        "ws": lambda: answer == {"cmd": "push_subscribed", "success": True},
        "account": lambda: answer[0] == 200 and answer[1]["data"]["operation_status"] == "SUCCESS",
        "device": lambda: answer == (200, {"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}}),
        "channel": lambda: answer[0] in (200, 201) and answer[1]["identifier"].startswith(ENDPOINT),
    }[surface]()


def remove(surfaces: Surfaces, tenant: Tenant, surface: str, user: str, endpoint: str = ENDPOINT) -> Any:
    if surface == "ws":
        return surfaces.ws_unsubscribe(surfaces.ws_open(tenant, user), endpoint)
    if surface == "account":
        return surfaces.account_unsubscribe(tenant, user, endpoint)
    if surface == "device":
        return surfaces.device_unsubscribe(tenant, user, "web", DEVICE_ID)
    return surfaces.channel_delete(tenant, user, endpoint)


def removal_accepted(surface: str, answer: Any) -> bool:
    """Every surface accepts an unsubscribe; only the device API says how much it removed."""
    return {
        "ws": lambda: answer == {"cmd": "push_unsubscribed", "success": True},
        "account": lambda: answer == (200, {"data": {"operation_status": "SUCCESS"}}),
        "device": lambda: answer[0] == 200 and answer[1]["RC"] == 0,
        "channel": lambda: answer[0] == 204 and answer[1] is None,
    }[surface]()


CONFLICTS: dict[str, Callable[[Any], bool]] = {
    "ws": lambda answer: answer == {"cmd": "error", "src": "push_subscribe", "val": "Endpoint belongs to another user"},
    "account": lambda answer: answer == (200, {"error_no": 8510, "error_message": "endpoint belongs to another user"}),
    "device": lambda answer: answer[0] == 409 and answer[1]["error"]["code"] == "DEVICE_OWNED_BY_ANOTHER_USER",
    "channel": lambda answer: answer[0] == 409 and answer[1]["error"]["code"] == "conflict" and answer[1]["error"]["status"] == 409,
}


def stored(tenant: Tenant, endpoint: str = ENDPOINT):  # noqa: ANN201
    return tenant.services.repository.get_device(tenant.app_id, token_hash(endpoint))


def records(tenant: Tenant, *users: str) -> list:
    return [d for user in users for d in tenant.services.repository.user_devices(tenant.app_id, user)]


@pytest.mark.parametrize("first", SURFACES)
def test_the_same_endpoint_is_one_record_on_every_surface(surfaces, tenant, first) -> None:  # noqa: ANN001
    keys = browser_keys()
    assert registered(first, register(surfaces, tenant, first, "alice", keys))
    device = stored(tenant)
    assert (device.user_id, device.type.value, device.status, device.channel_id) == ("alice", "web", SubscriptionStatus.ACTIVE, tenant.channel_id)

    # The topics API finds it by its endpoint.
    assert surfaces.topics_subscribe(tenant, ENDPOINT, ["news"]) == (200, {"success": True})
    status, found = surfaces.get_device(tenant, ENDPOINT)
    assert (status, found["device"]["type"], found["device"]["user_id"], found["subscriptions"]) == (200, "web", "alice", ["news"])
    assert surfaces.topic_subscribers(tenant, "news") == (200, {"subscribers": [ENDPOINT], "pagination": None})

    # Every other surface upserts that same record: one device, one push_subscription_id.
    for surface in SURFACES:
        assert registered(surface, register(surfaces, tenant, surface, "alice", keys)), surface
    status, account = surfaces.account_subscribe(tenant, "alice", ENDPOINT, keys)
    assert account["data"]["push_subscription_id"] == device.subscription_id
    status, channel = surfaces.channel_upsert(tenant, "alice", ENDPOINT, keys)
    assert (status, channel["id"]) == (200, device.token_hash)  # updated in place, not created
    assert [d.subscription_id for d in records(tenant, "alice")] == [device.subscription_id]
    assert surfaces.channel_list(tenant, "alice")[1] == {"items": [channel]}
    assert surfaces.list_topics(tenant) == {"news": 1}


@pytest.mark.parametrize("via", SURFACES)
def test_any_surface_its_owner_uses_removes_it(surfaces, tenant, via) -> None:  # noqa: ANN001
    for remover in SURFACES:
        endpoint = f"{ENDPOINT}-{via}-{remover}"
        keys = browser_keys()
        assert registered(via, register(surfaces, tenant, via, "alice", keys, endpoint))
        if remover == "device" and via != "device":
            # The device API names a browser by its deviceId: the owner registers it there too (same record).
            assert registered("device", register(surfaces, tenant, "device", "alice", keys, endpoint))
        subscription_id = stored(tenant, endpoint).subscription_id
        surfaces.topics_subscribe(tenant, endpoint, ["news"])

        answer = remove(surfaces, tenant, remover, "alice", endpoint)
        assert removal_accepted(remover, answer), (via, remover, answer)
        if remover == "device":
            assert answer[1]["result"]["n"] == 1
        assert stored(tenant, endpoint).status is SubscriptionStatus.REMOVED, (via, remover)
        status, found = surfaces.get_device(tenant, endpoint)
        assert (status, found["device"]["status"], found["subscriptions"]) == (200, "REMOVED", [])
        assert surfaces.topics_subscribe(tenant, endpoint, ["news"])[1]["code"] == "INVALID_DEVICE_TOKEN"
        assert endpoint not in [item["identifier"] for item in surfaces.channel_list(tenant, "alice")[1]["items"]]

        # Registering again through the first surface brings the same record back.
        assert registered(via, register(surfaces, tenant, via, "alice", keys, endpoint))
        assert (stored(tenant, endpoint).status, stored(tenant, endpoint).subscription_id) == (SubscriptionStatus.ACTIVE, subscription_id)
        assert remove(surfaces, tenant, "ws", "alice", endpoint) == {"cmd": "push_unsubscribed", "success": True}
    assert surfaces.list_topics(tenant) == {}


@pytest.mark.parametrize("owner_surface", SURFACES)
def test_another_user_gets_the_conflict_error_everywhere_and_changes_nothing(surfaces, tenant, owner_surface) -> None:  # noqa: ANN001
    keys = browser_keys()
    assert registered(owner_surface, register(surfaces, tenant, owner_surface, "alice", keys))
    surfaces.topics_subscribe(tenant, ENDPOINT, ["news"])
    before = stored(tenant)
    for surface in SURFACES:
        answer = register(surfaces, tenant, surface, "mallory", browser_keys())
        assert CONFLICTS[surface](answer), (surface, answer)
        answer = remove(surfaces, tenant, surface, "mallory")
        assert removal_accepted(surface, answer), (surface, answer)
        if surface == "device":
            assert answer[1]["result"]["n"] == 0
    assert stored(tenant) == before
    assert surfaces.channel_list(tenant, "mallory")[1] == {"items": []}
    assert records(tenant, "mallory") == []
    assert surfaces.get_device(tenant, ENDPOINT)[1] == {"device": {"type": "web", "user_id": "alice", "status": "ACTIVE", "date": before.created_at},
                                                         "subscriptions": ["news"]}


def test_a_user_of_another_app_cannot_see_or_touch_it(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    keys = browser_keys()
    assert registered("ws", register(surfaces, tenant, "ws", "alice", keys))
    surfaces.topics_subscribe(tenant, ENDPOINT, ["news"])
    before = stored(tenant)

    # The other app's server-side key: the token is unknown there.
    invalid_token = (400, {"code": "INVALID_DEVICE_TOKEN", "error": "The provided device token is invalid."})
    assert surfaces.get_device(other_tenant, ENDPOINT) == invalid_token
    assert surfaces.topics_subscribe(other_tenant, ENDPOINT, ["news"]) == invalid_token
    assert surfaces.topics_unsubscribe(other_tenant, ENDPOINT, ["*"]) == invalid_token
    assert surfaces.topic_subscribers(other_tenant, "news") == (200, {"subscribers": [], "pagination": None})
    assert surfaces.list_topics(other_tenant) == {}
    # Its users, even one called alice, remove nothing here, on any surface.
    for surface in SURFACES:
        assert removal_accepted(surface, remove(surfaces, other_tenant, surface, "alice")), surface
    assert surfaces.channel_list(other_tenant, "alice")[1] == {"items": []}
    # This app's channel is not found through the other app's key.
    status, body = surfaces.channel_list(other_tenant, "alice", channel_id=tenant.channel_id)
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body = surfaces.channel_upsert(other_tenant, "alice", ENDPOINT, keys, channel_id=tenant.channel_id)
    assert (status, body["error"]["code"]) == (404, "not_found")
    # This app's credentials on the other app's doors: refused.
    connection, _ = surfaces.ws_connect(other_tenant, token=tenant.session("alice"))
    assert surfaces.ws_unsubscribe(connection, ENDPOINT) == {"cmd": "error", "src": "push_unsubscribe", "val": "Not authenticated"}
    assert surfaces.device_unsubscribe(other_tenant, "alice", "web", DEVICE_ID)[1]["result"]["n"] == 0
    assert stored(tenant) == before
    assert surfaces.get_device(tenant, ENDPOINT)[1]["subscriptions"] == ["news"]
    # The other app registering the same URL gets a record of its own; this one is untouched.
    assert surfaces.channel_upsert(other_tenant, "alice", ENDPOINT, browser_keys())[0] == 201
    assert stored(tenant) == before
    assert surfaces.get_device(other_tenant, ENDPOINT)[1]["subscriptions"] == []


def test_the_same_browser_moves_between_users_across_surfaces(surfaces, tenant) -> None:  # noqa: ANN001
    keys = browser_keys()
    assert registered("ws", register(surfaces, tenant, "ws", "alice", keys))
    surfaces.topics_subscribe(tenant, ENDPOINT, ["news"])
    original = stored(tenant)
    path = [("channel", "bob"), ("account", "carol"), ("device", "dave"), ("ws", "alice"), ("device", "erin"), ("channel", "alice")]
    previous = "alice"
    for surface, user in path:
        answer = register(surfaces, tenant, surface, user, keys)
        assert registered(surface, answer), (surface, user, answer)
        if surface == "channel":
            assert answer[0] == 201  # created for the new owner
        device = stored(tenant)
        assert (device.user_id, device.subscription_id, device.status) == (user, original.subscription_id, SubscriptionStatus.ACTIVE)
        status, found = surfaces.get_device(tenant, ENDPOINT)
        assert (found["device"]["user_id"], found["subscriptions"]) == (user, ["news"])  # topics follow the browser
        if previous != user:
            # The previous owner has let go: it is not theirs to list or remove any more.
            assert surfaces.channel_list(tenant, previous)[1] == {"items": []}
            assert removal_accepted("ws", remove(surfaces, tenant, "ws", previous))
            assert removal_accepted("device", remove(surfaces, tenant, "device", previous))
            assert stored(tenant).active and stored(tenant).user_id == user
        previous = user
    assert len([d for d in records(tenant, "alice", "bob", "carol", "dave", "erin") if d.active]) == 1
    assert surfaces.list_topics(tenant) == {"news": 1}
