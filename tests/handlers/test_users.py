"""A user's data (docs/api.md §3 GET /me/devices, §4 GET /users/{user_id}/subscriptions and DELETE
/users/{user_id}) under moto: the handlers fed the events/ files with test credentials swapped in."""

from __future__ import annotations

import itertools
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from pushgate.identifiers import token_hash
from pushgate.models import DeviceType, SubscriptionStatus
from pushgate.services.subscriptions import device_pointer_hash
from pushgate.services.users import UserService
from tests.events import http_request
from tests.keys import browser_keys
from tests.surfaces import Surfaces, Tenant

ENDPOINT = "https://fcm.googleapis.com/fcm/send/users-test"
APNS_TOKEN = "b" * 64
INVALID_API_KEY = (401, {"code": "INVALID_API_KEY", "error": "The provided API key is invalid."})
INVALID_TOKEN = (401, {"RC": 401, "RM": "Unauthorized", "error": {"code": "INVALID_TOKEN", "message": "Invalid or expired token"}})
NOTHING_REMOVED = {"subscriptions": 0, "devices": 0, "topics": 0, "connections": 0}


def list_subscriptions(surfaces: Surfaces, tenant: Tenant, user: str, cursor: str | None = None, key: str | None = None) -> tuple[int, Any]:
    event = http_request("http-list-user-subscriptions.json", path_parameters={"user_id": user},
                         query={"api_key": key or tenant.secret_key, "cursor": cursor})
    return surfaces.http("list_user_subscriptions", event)


def delete_user(surfaces: Surfaces, tenant: Tenant, user: str, key: str | None = None) -> tuple[int, Any]:
    event = http_request("http-delete-user.json", path_parameters={"user_id": user}, query={"api_key": key or tenant.secret_key})
    return surfaces.http("delete_user", event)


def my_devices(surfaces: Surfaces, headers: dict[str, str | None], query: dict[str, str] | None = None) -> tuple[int, Any]:
    return surfaces.http("list_my_devices", http_request("http-list-my-devices.json", headers=headers, query=query or {}))


def register(surfaces: Surfaces, tenant: Tenant, user: str, endpoint: str = ENDPOINT, native_token: str = APNS_TOKEN) -> None:
    """A web subscription through the account API and an iOS device through the device API."""
    assert surfaces.account_subscribe(tenant, user, endpoint, browser_keys())[0] == 200
    body = {"type": "ios", "deviceId": f"iphone-of-{user}", "token": native_token}
    assert surfaces.device_subscribe(tenant, user, body)[0] == 200


def test_the_sample_events_list_and_erase_a_user(surfaces, tenant) -> None:  # noqa: ANN001
    register(surfaces, tenant, "user-42")
    query = {"api_key": tenant.secret_key}
    status, listing = surfaces.http("list_user_subscriptions", http_request("http-list-user-subscriptions.json", query=query))
    assert status == 200 and len(listing["subscriptions"]) == 2 and listing["pagination"] is None
    status, erased = surfaces.http("delete_user", http_request("http-delete-user.json", query=query))
    assert (status, erased) == (200, {"success": True, "removed": {**NOTHING_REMOVED, "subscriptions": 1, "devices": 1}, "complete": True})
    headers = {"im-authorization": tenant.session("user-42"), "im-client-key": tenant.public_key}
    assert surfaces.http("list_my_devices", http_request("http-list-my-devices.json", headers=headers)) == (
        200, {"RC": 0, "RM": "OK", "result": {"n": 0, "devices": []}})


def test_the_listing_covers_every_surface_and_status(surfaces, tenant) -> None:  # noqa: ANN001
    register(surfaces, tenant, "alice")
    assert surfaces.topics_subscribe(tenant, ENDPOINT, ["news", "sports"])[0] == 200
    assert surfaces.device_unsubscribe(tenant, "alice", "ios", "iphone-of-alice")[1]["result"]["n"] == 1
    register(surfaces, tenant, "bob", "https://fcm.googleapis.com/fcm/send/bob", "c" * 64)
    status, listing = list_subscriptions(surfaces, tenant, "alice")
    assert status == 200 and listing["pagination"] is None
    by_type = {entry["type"]: entry for entry in listing["subscriptions"]}
    assert set(by_type) == {"web", "ios"}
    web, ios = by_type["web"], by_type["ios"]
    assert web["endpoint"] == ENDPOINT and "token" not in web and "device_id" not in web
    assert web["status"] == "ACTIVE" and sorted(web["topics"]) == ["news", "sports"] and isinstance(web["created_at"], int)
    assert ios["token"] == APNS_TOKEN and ios["device_id"] == "iphone-of-alice" and ios["status"] == "REMOVED" and ios["topics"] == []


def test_the_listing_is_paged_like_a_topic(surfaces, tenant, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setattr("pushgate.services.users.SUBSCRIPTIONS_PAGE_SIZE", 2)
    for n in range(5):
        assert surfaces.account_subscribe(tenant, "a/lice", f"{ENDPOINT}/{n}", browser_keys())[0] == 200
    seen, cursor, pages = [], None, 0
    while True:
        status, page = list_subscriptions(surfaces, tenant, "a/lice", cursor)
        assert status == 200
        seen += [entry["endpoint"] for entry in page["subscriptions"]]
        pages += 1
        if page["pagination"] is None:
            break
        link = urlsplit(page["pagination"])
        assert link.path == "/users/a%2Flice/subscriptions" and "api_key" not in page["pagination"]
        cursor = dict(parse_qsl(link.query))["cursor"]
    assert sorted(seen) == sorted(f"{ENDPOINT}/{n}" for n in range(5)) and pages == 3
    # A cursor is honoured only for the listing that handed it out.
    assert list_subscriptions(surfaces, tenant, "bob", cursor)[1]["code"] == "INVALID_PARAM"
    assert list_subscriptions(surfaces, tenant, "a/lice", "not-a-cursor")[1]["code"] == "INVALID_PARAM"


def test_erasure_deletes_every_row_of_the_user_and_nothing_else(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    repository = tenant.services.repository
    register(surfaces, tenant, "alice")
    register(surfaces, tenant, "bob", "https://fcm.googleapis.com/fcm/send/bob", "c" * 64)
    register(surfaces, other_tenant, "alice", "https://fcm.googleapis.com/fcm/send/other-app", "d" * 64)
    assert surfaces.topics_subscribe(tenant, ENDPOINT, ["news", "sports"])[0] == 200
    assert surfaces.topics_subscribe(tenant, APNS_TOKEN, ["news"])[0] == 200
    assert surfaces.topics_subscribe(tenant, "https://fcm.googleapis.com/fcm/send/bob", ["news"])[0] == 200
    alice_socket, anonymous_socket, bob_socket = surfaces.ws_open(tenant, "alice"), surfaces.ws_open(tenant, None), surfaces.ws_open(tenant, "bob")
    late_socket = surfaces.ws_open(tenant, None)
    assert surfaces.ws(late_socket, {"cmd": "auth", "token": tenant.session("alice")})["success"] is True

    status, erased = delete_user(surfaces, tenant, "alice")
    assert (status, erased) == (200, {"success": True, "removed": {"subscriptions": 1, "devices": 1, "topics": 3, "connections": 2}, "complete": True})
    # Deleted, not soft-deleted: no row is left to find.
    assert repository.get_device(tenant.app_id, token_hash(ENDPOINT)) is None
    assert repository.get_device(tenant.app_id, token_hash(APNS_TOKEN)) is None
    assert repository.device_topics(tenant.app_id, token_hash(ENDPOINT)) == []
    assert repository.get_device_pointer(tenant.app_id, device_pointer_hash("alice", DeviceType.IOS, "iphone-of-alice")) is None
    assert repository.get_connection(alice_socket) is None and repository.get_connection(late_socket) is None
    assert surfaces.list_topics(tenant) == {"news": 1}
    # Bob, the anonymous socket and the other app's "alice" are untouched.
    assert repository.get_connection(anonymous_socket) is not None and repository.get_connection(bob_socket) is not None
    assert len(list_subscriptions(surfaces, tenant, "bob")[1]["subscriptions"]) == 2
    assert len(list_subscriptions(surfaces, other_tenant, "alice")[1]["subscriptions"]) == 2
    # Idempotent: again, nothing more to remove.
    assert delete_user(surfaces, tenant, "alice") == (200, {"success": True, "removed": NOTHING_REMOVED, "complete": True})
    assert list_subscriptions(surfaces, tenant, "alice") == (200, {"subscriptions": [], "pagination": None})


def test_a_device_that_moved_to_another_user_is_not_erased(surfaces, tenant) -> None:  # noqa: ANN001
    keys = browser_keys()
    assert surfaces.account_subscribe(tenant, "alice", ENDPOINT, keys)[0] == 200
    assert surfaces.device_subscribe(tenant, "alice", {"type": "ios", "deviceId": "iphone", "token": APNS_TOKEN})[0] == 200
    # The same browser (same keys) signed in as bob: the subscription is bob's now.
    assert surfaces.account_subscribe(tenant, "bob", ENDPOINT, keys)[0] == 200
    assert delete_user(surfaces, tenant, "alice")[1]["removed"] == {**NOTHING_REMOVED, "devices": 1}
    device = tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT))
    assert device is not None and device.user_id == "bob" and device.status is SubscriptionStatus.ACTIVE


def test_a_big_erasure_is_finished_over_several_calls(surfaces, tenant) -> None:  # noqa: ANN001
    for n in range(7):
        assert surfaces.account_subscribe(tenant, "alice", f"{ENDPOINT}/{n}", browser_keys())[0] == 200
        assert surfaces.topics_subscribe(tenant, f"{ENDPOINT}/{n}", ["news"])[0] == 200
    ticks = itertools.count()
    # Each device takes one tick of this clock: three devices a call.
    surfaces.handler("delete_user").users = UserService(tenant.services.repository, clock=lambda: next(ticks) / 2, erase_budget=3)
    calls, removed = [], 0
    while not calls or not calls[-1]["complete"]:
        status, body = delete_user(surfaces, tenant, "alice")
        assert status == 200
        calls.append(body)
        removed += body["removed"]["subscriptions"]
    assert len(calls) == 3 and [c["complete"] for c in calls] == [False, False, True]
    assert removed == 7 and sum(c["removed"]["topics"] for c in calls) == 7
    assert surfaces.list_topics(tenant) == {}


@pytest.mark.parametrize("function", ["list_user_subscriptions", "delete_user"])
def test_the_server_side_routes_need_the_secret_key(surfaces, tenant, function) -> None:  # noqa: ANN001
    call = list_subscriptions if function == "list_user_subscriptions" else delete_user
    assert call(surfaces, tenant, "alice", key=tenant.public_key) == INVALID_API_KEY
    assert call(surfaces, tenant, "alice", key="sk_unknown") == INVALID_API_KEY
    status, body = call(surfaces, tenant, "x" * 257)
    assert status == 400 and body["code"] == "INVALID_PARAM" and "user_id" in body["error"]


def test_my_devices_lists_the_callers_active_devices(surfaces, tenant) -> None:  # noqa: ANN001
    register(surfaces, tenant, "alice")
    assert surfaces.device_subscribe(tenant, "alice", {"type": "fcm", "deviceId": "pixel", "token": "fcm-token-alice"})[0] == 200
    assert surfaces.device_unsubscribe(tenant, "alice", "fcm", "pixel")[1]["result"]["n"] == 1
    register(surfaces, tenant, "bob", "https://fcm.googleapis.com/fcm/send/bob", "c" * 64)
    status, body = my_devices(surfaces, surfaces.device_headers(tenant, "alice"))
    assert status == 200 and body["RC"] == 0 and body["result"]["n"] == 2
    by_type = {device["type"]: device for device in body["result"]["devices"]}
    assert by_type["web"]["endpoint"] == ENDPOINT and by_type["web"]["deviceId"] is None
    assert by_type["ios"] == {**by_type["ios"], "token": APNS_TOKEN, "deviceId": "iphone-of-alice"}
    # The server side names its user with ?clientId=.
    server_side = {"im-client-key": None, "im-authorization": None, "im-api-key": tenant.secret_key}
    assert my_devices(surfaces, server_side, {"clientId": "alice"}) == (status, body)
    assert my_devices(surfaces, {**surfaces.device_headers(tenant, "alice"), "im-authorization": "ses_forged"}) == INVALID_TOKEN
    assert my_devices(surfaces, {**server_side, "im-api-key": tenant.public_key}, {"clientId": "alice"}) == INVALID_TOKEN
