"""The device API handlers (docs/api.md §3, IMKIT style) under moto, fed the events/ files."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pushgate.identifiers import token_hash
from pushgate.models import SubscriptionStatus
from tests.events import http_request, load_event, response_json
from tests.keys import browser_keys, hostile_user_jwts
from tests.surfaces import Surfaces, Tenant, web_subscription

OK_1 = (200, {"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}})
OK_0 = (200, {"RC": 0, "RM": "OK", "result": {"n": 0, "ok": 1}})
INVALID_TOKEN = (401, {"RC": 401, "RM": "Unauthorized", "error": {"code": "INVALID_TOKEN", "message": "Invalid or expired token"}})
MISSING_PARAMETER = (400, {"RC": 400, "RM": "Bad Request", "error": {"code": "MISSING_PARAMETER", "message": "type and deviceId are required"}})
ENDPOINT = "https://fcm.googleapis.com/fcm/send/device-api-test"
APNS_TOKEN = "a" * 64
NATIVE_TYPES = ["ios", "ios-voip", "android", "fcm"]


def subscribe(surfaces: Surfaces, headers: dict[str, Any], body: Any = None, raw_body: str | None = None) -> tuple[int, Any]:
    event = http_request("http-device-subscribe-ios.json", headers=headers, body=body, raw_body=raw_body)
    return surfaces.http("device_subscribe", event)


def unsubscribe(surfaces: Surfaces, headers: dict[str, Any], body: Any = None, raw_body: str | None = None) -> tuple[int, Any]:
    event = http_request("http-device-unsubscribe.json", headers=headers, body=body, raw_body=raw_body)
    return surfaces.http("device_unsubscribe", event)


def stored(tenant: Tenant, token: str):  # noqa: ANN201
    return tenant.services.repository.get_device(tenant.app_id, token_hash(token))


def active_devices(tenant: Tenant, user: str) -> list:
    return [d for d in tenant.services.repository.user_devices(tenant.app_id, user) if d.active]


@pytest.mark.parametrize("event_name", ["http-device-subscribe-web.json", "http-device-subscribe-ios.json"])
def test_the_sample_events_subscribe_once_credentials_are_filled_in(surfaces, tenant, event_name) -> None:  # noqa: ANN001
    sample = json.loads(load_event(event_name)["body"])
    event = http_request(event_name, headers=surfaces.device_headers(tenant, "alice"))
    assert surfaces.http("device_subscribe", event) == OK_1
    token = sample["subscription"]["endpoint"] if sample["type"] == "web" else sample["token"]
    device = stored(tenant, token)
    assert (device.user_id, device.type.value, device.device_id, device.status) == ("alice", sample["type"], sample["deviceId"], SubscriptionStatus.ACTIVE)
    if sample["type"] == "web":
        assert device.keys.p256dh == sample["subscription"]["keys"]["p256dh"]
        assert device.channel_id == tenant.channel_id


def test_every_device_type_is_one_record_per_device_id(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    for device_type in NATIVE_TYPES:
        token = f"{device_type}-token-{'0' * 32}"
        assert subscribe(surfaces, headers, {"type": device_type, "deviceId": f"{device_type}-device", "token": token}) == OK_1
        assert stored(tenant, token).type.value == device_type
    keys = browser_keys()
    assert subscribe(surfaces, headers, {"type": "web", "deviceId": "browser", "subscription": web_subscription(ENDPOINT, keys)}) == OK_1
    assert stored(tenant, ENDPOINT).keys.auth == keys[1]
    assert sorted(d.device_id for d in active_devices(tenant, "alice")) == ["android-device", "browser", "fcm-device", "ios-device", "ios-voip-device"]


def test_unsubscribe_counts_what_it_removed_and_is_idempotent(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    subscribe(surfaces, headers, {"type": "fcm", "deviceId": "pixel-8-uuid-002", "token": "fcm-token-1"})
    # The sample event: {"type": "fcm", "deviceId": "pixel-8-uuid-002"}.
    event = http_request("http-device-unsubscribe.json", headers=headers)
    assert surfaces.http("device_unsubscribe", event) == OK_1
    assert stored(tenant, "fcm-token-1").status is SubscriptionStatus.REMOVED
    assert surfaces.http("device_unsubscribe", event) == OK_0
    assert unsubscribe(surfaces, headers, {"type": "ios", "deviceId": "never-registered"}) == OK_0


def test_type_must_match_to_unsubscribe(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    subscribe(surfaces, headers, {"type": "fcm", "deviceId": "pixel", "token": "fcm-token-2"})
    assert unsubscribe(surfaces, headers, {"type": "android", "deviceId": "pixel"}) == OK_0
    assert stored(tenant, "fcm-token-2").active
    assert unsubscribe(surfaces, headers, {"type": "fcm", "deviceId": "pixel"}) == OK_1


def test_resubscribing_a_device_id_with_a_new_token_replaces_the_old_one(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    old, new = "apns-old-" + "1" * 55, "apns-new-" + "2" * 55
    assert subscribe(surfaces, headers, {"type": "ios", "deviceId": "iphone", "token": old}) == OK_1
    assert surfaces.topics_subscribe(tenant, old, ["news", "sports"]) == (200, {"success": True})
    assert surfaces.list_topics(tenant) == {"news": 1, "sports": 1}

    assert subscribe(surfaces, headers, {"type": "ios", "deviceId": "iphone", "token": new}) == OK_1

    status, old_device = surfaces.get_device(tenant, old)
    assert status == 200 and old_device["device"]["status"] == "REMOVED" and old_device["subscriptions"] == []
    status, new_device = surfaces.get_device(tenant, new)
    assert (status, new_device["device"]["status"], new_device["device"]["type"]) == (200, "ACTIVE", "ios")
    assert surfaces.list_topics(tenant) == {}  # the old token's topics went with it
    assert surfaces.topics_subscribe(tenant, old, ["news"])[1]["code"] == "INVALID_DEVICE_TOKEN"
    assert [d.token for d in active_devices(tenant, "alice")] == [new]
    # One record: unsubscribing removes the new token, once.
    assert unsubscribe(surfaces, headers, {"type": "ios", "deviceId": "iphone"}) == OK_1
    assert not stored(tenant, new).active
    assert unsubscribe(surfaces, headers, {"type": "ios", "deviceId": "iphone"}) == OK_0


def test_resubscribing_the_same_token_keeps_one_active_record(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    body = {"type": "android", "deviceId": "tablet", "token": "android-token-3"}
    assert subscribe(surfaces, headers, body) == OK_1
    first = stored(tenant, "android-token-3")
    assert subscribe(surfaces, headers, body) == OK_1
    assert stored(tenant, "android-token-3").subscription_id == first.subscription_id
    assert len(active_devices(tenant, "alice")) == 1


def test_the_same_token_under_another_device_id_is_not_removed_by_the_first(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    subscribe(surfaces, headers, {"type": "fcm", "deviceId": "first", "token": "shared-token"})
    subscribe(surfaces, headers, {"type": "fcm", "deviceId": "second", "token": "shared-token"})
    assert unsubscribe(surfaces, headers, {"type": "fcm", "deviceId": "first"}) == OK_0
    assert stored(tenant, "shared-token").active
    assert unsubscribe(surfaces, headers, {"type": "fcm", "deviceId": "second"}) == OK_1


def test_unsubscribe_works_for_a_token_the_provider_has_expired(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    subscribe(surfaces, headers, {"type": "fcm", "deviceId": "old-phone", "token": "dead-at-fcm"})
    # The provider no longer knows the token; we do not call it, so the cleanup succeeds.
    assert unsubscribe(surfaces, headers, {"type": "fcm", "deviceId": "old-phone"}) == OK_1
    # Pruned by the sender (status EXPIRED) before the app unsubscribes: still a clean 200.
    subscribe(surfaces, headers, {"type": "fcm", "deviceId": "older-phone", "token": "pruned-token"})
    tenant.services.repository.set_device_status(tenant.app_id, token_hash("pruned-token"), "alice", SubscriptionStatus.EXPIRED, int(time.time()))
    status, body = unsubscribe(surfaces, headers, {"type": "fcm", "deviceId": "older-phone"})
    assert status == 200 and body["RC"] == 0 and body["result"]["ok"] == 1
    assert unsubscribe(surfaces, headers, {"type": "fcm", "deviceId": "older-phone"}) == OK_0


def test_a_user_jwt_and_a_bearer_prefix_are_accepted(surfaces, tenant) -> None:  # noqa: ANN001
    jwt_headers = {"im-client-key": tenant.public_key, "im-authorization": tenant.jwt("carol")}
    assert subscribe(surfaces, jwt_headers, {"type": "ios", "deviceId": "d1", "token": "jwt-token"}) == OK_1
    assert stored(tenant, "jwt-token").user_id == "carol"
    bearer = {"im-client-key": tenant.public_key, "im-authorization": f"Bearer {tenant.session('dave')}"}
    assert subscribe(surfaces, bearer, {"type": "ios", "deviceId": "d1", "token": "bearer-token"}) == OK_1
    assert stored(tenant, "bearer-token").user_id == "dave"


def test_server_side_api_key_acts_for_the_client_id(surfaces, tenant) -> None:  # noqa: ANN001
    server = {"im-client-key": None, "im-authorization": None, "im-api-key": tenant.secret_key}
    assert subscribe(surfaces, server, {"type": "fcm", "deviceId": "srv", "token": "server-token", "clientId": "erin"}) == OK_1
    assert stored(tenant, "server-token").user_id == "erin"
    assert unsubscribe(surfaces, server, {"type": "fcm", "deviceId": "srv", "clientId": "someone-else"}) == OK_0
    assert stored(tenant, "server-token").active
    assert unsubscribe(surfaces, server, {"type": "fcm", "deviceId": "srv", "clientId": "erin"}) == OK_1
    status, body = subscribe(surfaces, server, {"type": "fcm", "deviceId": "srv", "token": "t"})
    assert (status, body["error"]["code"]) == (400, "INVALID_PARAMETER") and body["error"]["message"].startswith("clientId")
    # The public key is not a server key; nor is anything else.
    for key in (tenant.public_key, "sk_unknown", tenant.secret_key + "x"):
        assert subscribe(surfaces, {**server, "im-api-key": key}, {"type": "fcm", "deviceId": "srv", "token": "t", "clientId": "erin"}) == INVALID_TOKEN


def test_client_id_does_not_let_a_user_act_for_another(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    assert subscribe(surfaces, headers, {"type": "fcm", "deviceId": "d", "token": "alice-token", "clientId": "bob"}) == OK_1
    assert stored(tenant, "alice-token").user_id == "alice"


def test_unauthenticated_calls_are_invalid_token(surfaces, tenant, other_tenant, pushgate) -> None:  # noqa: ANN001
    from pushgate.services.sessions import SessionService

    an_hour_ago = SessionService(pushgate.repository, clock=lambda: time.time() - 3600)
    expired_session, _ = an_hour_ago.create(tenant.app, "alice", 60)
    jwts = hostile_user_jwts(tenant.created.user_token_private_key, tenant.app.user_token_keys[0])
    cases: dict[str, dict[str, Any]] = {
        "no headers": {"im-client-key": None, "im-authorization": None},
        "no token": {"im-client-key": tenant.public_key, "im-authorization": None},
        "empty token": {"im-client-key": tenant.public_key, "im-authorization": ""},
        "no client key": {"im-client-key": None, "im-authorization": tenant.session("alice")},
        "unknown client key": {"im-client-key": "pk_unknown", "im-authorization": tenant.session("alice")},
        "secret key as client key": {"im-client-key": tenant.secret_key, "im-authorization": tenant.session("alice")},
        "forged session": {"im-client-key": tenant.public_key, "im-authorization": "ses_forged"},
        "expired session": {"im-client-key": tenant.public_key, "im-authorization": expired_session},
        "session of another app": {"im-client-key": tenant.public_key, "im-authorization": other_tenant.session("alice")},
        "JWT of another app": {"im-client-key": tenant.public_key, "im-authorization": other_tenant.jwt("alice")},
        "another app's client key": {"im-client-key": other_tenant.public_key, "im-authorization": tenant.session("alice")},
        **{f"JWT {name}": {"im-client-key": tenant.public_key, "im-authorization": token} for name, token in jwts.items()},
    }
    for name, headers in cases.items():
        body = {"type": "ios", "deviceId": "d", "token": APNS_TOKEN}
        assert subscribe(surfaces, headers, body) == INVALID_TOKEN, name
        assert unsubscribe(surfaces, headers, {"type": "ios", "deviceId": "d"}) == INVALID_TOKEN, name
    assert stored(tenant, APNS_TOKEN) is None


def test_missing_type_or_device_id(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    for body in ({}, {"type": "ios"}, {"deviceId": "d"}, {"type": "", "deviceId": "d"}, {"type": "ios", "deviceId": ""},
                 {"type": None, "deviceId": None}, {"token": APNS_TOKEN}):
        assert subscribe(surfaces, headers, {**body, "token": APNS_TOKEN}) == MISSING_PARAMETER, body
        assert unsubscribe(surfaces, headers, body) == MISSING_PARAMETER, body


p256dh, auth = browser_keys()
INVALID_PARAMETERS = [
    ({"type": "windows-phone", "deviceId": "d", "token": APNS_TOKEN}, "type"),
    ({"type": "IOS", "deviceId": "d", "token": APNS_TOKEN}, "type"),
    ({"type": ["ios"], "deviceId": "d", "token": APNS_TOKEN}, "type"),
    ({"type": "ios", "deviceId": 42, "token": APNS_TOKEN}, "deviceId"),
    ({"type": "ios", "deviceId": {"id": 1}, "token": APNS_TOKEN}, "deviceId"),
    ({"type": "ios", "deviceId": "d" * 257, "token": APNS_TOKEN}, "deviceId"),
    ({"type": "ios", "deviceId": "line\nbreak", "token": APNS_TOKEN}, "deviceId"),
    ({"type": "ios", "deviceId": "d"}, "token"),
    ({"type": "ios", "deviceId": "d", "token": ""}, "token"),
    ({"type": "fcm", "deviceId": "d", "token": 12345}, "token"),
    ({"type": "fcm", "deviceId": "d", "token": "has spaces in it"}, "token"),
    ({"type": "fcm", "deviceId": "d", "token": "t" * 4097}, "token"),
    ({"type": "web", "deviceId": "d"}, "subscription"),
    ({"type": "web", "deviceId": "d", "subscription": "https://fcm.googleapis.com/x"}, "subscription"),
    ({"type": "web", "deviceId": "d", "subscription": {"keys": {"p256dh": p256dh, "auth": auth}}}, "subscription.endpoint"),
    ({"type": "web", "deviceId": "d", "subscription": web_subscription("http://fcm.googleapis.com/x", (p256dh, auth))}, "subscription.endpoint"),
    ({"type": "web", "deviceId": "d", "subscription": web_subscription("https://127.0.0.1/x", (p256dh, auth))}, "subscription.endpoint"),
    ({"type": "web", "deviceId": "d", "subscription": web_subscription("https://fcm.googleapis.com/" + "x" * 1024, (p256dh, auth))}, "subscription.endpoint"),
    ({"type": "web", "deviceId": "d", "subscription": {"endpoint": ENDPOINT}}, "subscription.keys.p256dh"),
    ({"type": "web", "deviceId": "d", "subscription": web_subscription(ENDPOINT, ("BAAA" + "A" * 83, auth))}, "subscription.keys.p256dh"),
    ({"type": "web", "deviceId": "d", "subscription": web_subscription(ENDPOINT, (p256dh, "c2hvcnQ"))}, "subscription.keys.auth"),
    ({"type": "web", "deviceId": "d", "subscription": web_subscription(ENDPOINT, (p256dh, "not base64!"))}, "subscription.keys.auth"),
]


def test_invalid_parameters_name_the_field(surfaces, tenant) -> None:  # noqa: ANN001
    for body, field in INVALID_PARAMETERS:
        status, response = subscribe(surfaces, surfaces.device_headers(tenant, "alice"), body)
        assert (status, response["RC"], response["RM"], response["error"]["code"]) == (400, 400, "Bad Request", "INVALID_PARAMETER"), body
        assert response["error"]["message"].startswith(field + " is "), (body, response)
    assert active_devices(tenant, "alice") == []


def test_unsubscribe_invalid_parameters(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    for body, field in [({"type": "blackberry", "deviceId": "d"}, "type"), ({"type": "ios", "deviceId": 7}, "deviceId")]:
        status, response = unsubscribe(surfaces, headers, body)
        assert (status, response["error"]["code"]) == (400, "INVALID_PARAMETER") and response["error"]["message"].startswith(field)


def test_malformed_and_oversized_bodies(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    not_an_object = (400, {"RC": 400, "RM": "Bad Request", "error": {"code": "INVALID_PARAMETER", "message": "body must be a JSON object"}})
    for call in (subscribe, unsubscribe):
        for raw in ("{not json", "[1, 2]", '"a string"', "null", "42"):
            assert call(surfaces, headers, raw_body=raw) == not_an_object, raw
        status, body = call(surfaces, headers, raw_body=json.dumps({"type": "ios", "deviceId": "d", "pad": "x" * 65536}))
        assert (status, body["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")
        # No body at all: nothing names the device.
        assert call(surfaces, headers, body=None) == MISSING_PARAMETER


def test_another_users_token_is_a_conflict_and_changes_nothing(surfaces, tenant) -> None:  # noqa: ANN001
    alice, bob = surfaces.device_headers(tenant, "alice"), surfaces.device_headers(tenant, "bob")
    subscribe(surfaces, alice, {"type": "ios", "deviceId": "phone", "token": APNS_TOKEN})
    before = stored(tenant, APNS_TOKEN)
    conflict = (409, {"RC": 409, "RM": "Conflict", "error": {"code": "DEVICE_OWNED_BY_ANOTHER_USER", "message": "token belongs to another user"}})
    assert subscribe(surfaces, bob, {"type": "ios", "deviceId": "phone", "token": APNS_TOKEN}) == conflict
    assert unsubscribe(surfaces, bob, {"type": "ios", "deviceId": "phone"}) == OK_0
    assert stored(tenant, APNS_TOKEN) == before
    # Once alice has let go of it, bob may register the token.
    assert unsubscribe(surfaces, alice, {"type": "ios", "deviceId": "phone"}) == OK_1
    assert subscribe(surfaces, bob, {"type": "ios", "deviceId": "phone", "token": APNS_TOKEN}) == OK_1
    assert stored(tenant, APNS_TOKEN).user_id == "bob"


def test_a_web_subscription_moves_only_with_the_same_keys(surfaces, tenant) -> None:  # noqa: ANN001
    keys = browser_keys()
    assert surfaces.device_subscribe_web(tenant, "alice", "laptop", ENDPOINT, keys) == OK_1
    assert surfaces.device_subscribe_web(tenant, "bob", "laptop", ENDPOINT, browser_keys())[0] == 409
    assert stored(tenant, ENDPOINT).user_id == "alice"
    assert surfaces.device_subscribe_web(tenant, "bob", "laptop", ENDPOINT, keys) == OK_1
    assert stored(tenant, ENDPOINT).user_id == "bob"
    # alice's deviceId no longer names a record of hers.
    assert surfaces.device_unsubscribe(tenant, "alice", "web", "laptop") == OK_0
    assert surfaces.device_unsubscribe(tenant, "bob", "web", "laptop") == OK_1


def test_unknown_fields_are_ignored(surfaces, tenant) -> None:  # noqa: ANN001
    headers = surfaces.device_headers(tenant, "alice")
    body = {"type": "ios", "deviceId": "d", "token": APNS_TOKEN, "badge": 3, "extra": {"nested": [1, 2]}}
    assert subscribe(surfaces, headers, body) == OK_1


def test_responses_are_json(surfaces, tenant) -> None:  # noqa: ANN001
    event = http_request("http-device-subscribe-ios.json", headers=surfaces.device_headers(tenant, "alice"))
    response = surfaces.invoke("device_subscribe", event)
    assert response["headers"]["Content-Type"] == "application/json"
    assert response_json(response) == OK_1
