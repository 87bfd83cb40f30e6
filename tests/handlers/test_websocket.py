"""The WebSocket route functions (docs/api.md §1) under moto, fed API Gateway WebSocket
events from events/ws-*.json: $connect / $disconnect, one function per `cmd`, and $default."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pushgate.identifiers import token_hash
from pushgate.models import SubscriptionStatus
from tests.events import load_event, ws_event, ws_reply
from tests.keys import browser_keys, hostile_user_jwts
from tests.surfaces import Tenant, new_connection_id, web_subscription

ENDPOINT = "https://fcm.googleapis.com/fcm/send/websocket-test"
SUBSCRIBED = {"cmd": "push_subscribed", "success": True}
UNSUBSCRIBED = {"cmd": "push_unsubscribed", "success": True}


def error(src: str | None, reason: str) -> dict[str, Any]:
    return {"cmd": "error", "src": src, "val": reason}


def stored(tenant: Tenant, endpoint: str = ENDPOINT):  # noqa: ANN201
    return tenant.services.repository.get_device(tenant.app_id, token_hash(endpoint))


def test_the_sample_events_walk_through_a_session(surfaces, tenant) -> None:  # noqa: ANN001
    connection = new_connection_id()
    connect = ws_event("ws-connect.json", connection, query={"key": tenant.public_key, "token": tenant.session("alice")})
    assert connect["requestContext"]["eventType"] == "CONNECT" and connect["headers"]["Sec-WebSocket-Version"] == "13"
    assert surfaces.invoke("ws_connect", connect)["statusCode"] == 200

    sample_subscription = json.loads(load_event("ws-push-subscribe.json")["body"])["subscription"]
    for function, event_name, expected in [
        ("ws_push_get_vapid", "ws-push-get-vapid.json", {"cmd": "push_vapid", "key": tenant.vapid_public_key}),
        ("ws_push_subscribe", "ws-push-subscribe.json", SUBSCRIBED),
        ("ws_push_unsubscribe", "ws-push-unsubscribe.json", UNSUBSCRIBED),
        ("ws_default", "ws-default-unknown-command.json", error("push_frobnicate", "Unknown command")),
        ("ws_default", "ws-default-invalid-json.json", error(None, "Invalid JSON")),
    ]:
        event = ws_event(event_name, connection)
        assert event["requestContext"]["eventType"] == "MESSAGE" and isinstance(event["body"], str)
        assert ws_reply(surfaces.invoke(function, event)) == expected, event_name
    device = stored(tenant, sample_subscription["endpoint"])
    assert (device.user_id, device.status) == ("alice", SubscriptionStatus.REMOVED)

    auth = ws_event("ws-auth.json", connection, message={"cmd": "auth", "token": tenant.jwt("alice")})
    assert ws_reply(surfaces.invoke("ws_auth", auth)) == {"cmd": "auth", "success": True, "user": "alice"}
    disconnect = ws_event("ws-disconnect.json", connection)
    assert disconnect["requestContext"]["eventType"] == "DISCONNECT"
    assert surfaces.invoke("ws_disconnect", disconnect)["statusCode"] == 200
    assert tenant.services.repository.get_connection(connection) is None


def test_connect_needs_the_apps_public_key(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    for key in (None, "", "pk_unknown", tenant.secret_key, tenant.public_key.upper(), tenant.public_key + "x"):
        connection, status = surfaces.ws_connect(None, token=tenant.session("alice"), key=key)
        assert status == 401, key
        assert tenant.services.repository.get_connection(connection) is None
    # No query string at all.
    connection = new_connection_id()
    assert surfaces.invoke("ws_connect", ws_event("ws-connect.json", connection, query={}))["statusCode"] == 401
    # Another app's key opens a connection of that app, where this app's token means nothing.
    connection, status = surfaces.ws_connect(other_tenant, token=tenant.session("alice"))
    assert status == 200
    assert surfaces.ws_subscribe(connection, ENDPOINT, browser_keys()) == error("push_subscribe", "Not authenticated")


@pytest.mark.parametrize("credential", ["session", "jwt"])
def test_a_token_at_connect_authenticates(surfaces, tenant, credential) -> None:  # noqa: ANN001
    token = tenant.session("alice") if credential == "session" else tenant.jwt("alice")
    connection, status = surfaces.ws_connect(tenant, token=token)
    assert status == 200
    assert tenant.services.repository.get_connection(connection).user_id == "alice"
    assert surfaces.ws_subscribe(connection, ENDPOINT, browser_keys()) == SUBSCRIBED
    assert stored(tenant).user_id == "alice"


def test_a_bad_token_at_connect_leaves_the_connection_open_but_anonymous(surfaces, tenant) -> None:  # noqa: ANN001
    for token in (None, "", "ses_forged", "a.b.c", tenant.jwt("alice", exp=1)):
        connection, status = surfaces.ws_connect(tenant, token=token)
        assert status == 200, token
        assert tenant.services.repository.get_connection(connection).user_id is None
        assert surfaces.ws(connection, {"cmd": "push_get_vapid"}) == error("push_get_vapid", "Not authenticated")
        assert surfaces.ws(connection, {"cmd": "auth", "token": tenant.session("alice")}) == {"cmd": "auth", "success": True, "user": "alice"}
        assert surfaces.ws(connection, {"cmd": "push_get_vapid"}) == {"cmd": "push_vapid", "key": tenant.vapid_public_key}


def test_auth_accepts_sessions_and_user_jwts_and_nothing_else(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, None)
    invalid = error("auth", "Invalid token")
    jwts = hostile_user_jwts(tenant.created.user_token_private_key, tenant.app.user_token_keys[0])
    for token in [None, "", 42, ["x"], "ses_forged", other_tenant.session("alice"), other_tenant.jwt("alice"), *jwts.values()]:
        assert surfaces.ws(connection, {"cmd": "auth", "token": token}) == invalid, token
        assert tenant.services.repository.get_connection(connection).user_id is None
    assert surfaces.ws(connection, {"cmd": "auth"}) == invalid
    assert surfaces.ws(connection, {"cmd": "auth", "token": tenant.jwt("carol")}) == {"cmd": "auth", "success": True, "user": "carol"}
    # Authenticating again switches the connection's user; a failed attempt keeps the current one.
    assert surfaces.ws(connection, {"cmd": "auth", "token": tenant.session("dave")})["user"] == "dave"
    assert surfaces.ws(connection, {"cmd": "auth", "token": "ses_forged"}) == invalid
    assert tenant.services.repository.get_connection(connection).user_id == "dave"
    # A connection that never went through $connect cannot authenticate.
    assert surfaces.ws(new_connection_id(), {"cmd": "auth", "token": tenant.session("alice")}) == invalid


def test_push_get_vapid_returns_the_channels_key(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    reply = surfaces.ws(connection, {"cmd": "push_get_vapid"})
    assert reply == {"cmd": "push_vapid", "key": tenant.vapid_public_key}
    channel = tenant.services.repository.get_channel(tenant.app_id, tenant.channel_id)
    assert reply["key"] == channel.vapid_public_key and len(reply["key"]) == 87  # 65 bytes, base64url
    other = surfaces.ws_open(other_tenant, "alice")
    assert surfaces.ws(other, {"cmd": "push_get_vapid"})["key"] == other_tenant.vapid_public_key != reply["key"]


def test_push_subscribe_upserts_by_endpoint_and_a_user_has_many(surfaces, tenant) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    endpoints = [ENDPOINT, "https://updates.push.services.mozilla.com/wpush/v2/abc", "https://web.push.apple.com/QGZ-xyz",
                 "https://wns2-par02p.notify.windows.com/w/?token=BQYAAAB"]
    for endpoint in endpoints:
        assert surfaces.ws_subscribe(connection, endpoint, browser_keys()) == SUBSCRIBED, endpoint
    first_id = stored(tenant).subscription_id
    new_keys = browser_keys()
    assert surfaces.ws_subscribe(connection, ENDPOINT, new_keys) == SUBSCRIBED
    device = stored(tenant)
    assert (device.subscription_id, device.keys.p256dh, device.keys.auth) == (first_id, *new_keys)
    devices = tenant.services.repository.user_devices(tenant.app_id, "alice")
    assert sorted(d.token for d in devices if d.active) == sorted(endpoints)


SUBSCRIBE_ERRORS = [
    ({"cmd": "push_subscribe"}, "Missing subscription object"),
    ({"cmd": "push_subscribe", "subscription": None}, "Missing subscription object"),
    ({"cmd": "push_subscribe", "subscription": {}}, "subscription must include endpoint, keys.p256dh and keys.auth"),
    ({"cmd": "push_subscribe", "subscription": "https://fcm.googleapis.com/x"}, "subscription must include endpoint, keys.p256dh and keys.auth"),
    ({"cmd": "push_subscribe", "subscription": [ENDPOINT]}, "subscription must include endpoint, keys.p256dh and keys.auth"),
    ({"cmd": "push_subscribe", "subscription": {"endpoint": ENDPOINT}}, "subscription must include endpoint, keys.p256dh and keys.auth"),
    ({"cmd": "push_subscribe", "subscription": {"endpoint": ENDPOINT, "keys": {"p256dh": browser_keys()[0]}}}, "subscription must include endpoint, keys.p256dh and keys.auth"),
    ({"cmd": "push_subscribe", "subscription": {"endpoint": ENDPOINT, "keys": "p256dh"}}, "subscription must include endpoint, keys.p256dh and keys.auth"),
    ({"cmd": "push_subscribe", "subscription": {"keys": {"p256dh": browser_keys()[0], "auth": browser_keys()[1]}}}, "subscription must include endpoint, keys.p256dh and keys.auth"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("http://fcm.googleapis.com/fcm/send/x", browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("https://127.0.0.1/x", browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("https://localhost/x", browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("https://169.254.169.254/latest", browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("https://fcm.googleapis.com.evil.example/x", browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("https://fcm.googleapis.com:8443/x", browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("https://u:p@fcm.googleapis.com/x", browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("https://fcm.googleapis.com/" + "x" * 1024, browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription("https://fcm.googleapis.com/a b", browser_keys())}, "Invalid push endpoint"),
    ({"cmd": "push_subscribe", "subscription": web_subscription(ENDPOINT, ("BAAA" + "A" * 83, browser_keys()[1]))}, "Invalid subscription keys"),
    ({"cmd": "push_subscribe", "subscription": web_subscription(ENDPOINT, ("not base64!", browser_keys()[1]))}, "Invalid subscription keys"),
    ({"cmd": "push_subscribe", "subscription": web_subscription(ENDPOINT, (browser_keys()[0], "c2hvcnQ"))}, "Invalid subscription keys"),
    ({"cmd": "push_subscribe", "subscription": web_subscription(ENDPOINT, (browser_keys()[0], "A" * 300))}, "Invalid subscription keys"),
]


def test_push_subscribe_errors(surfaces, tenant) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    for message, reason in SUBSCRIBE_ERRORS:
        assert surfaces.ws(connection, message) == error("push_subscribe", reason), message
    assert tenant.services.repository.user_devices(tenant.app_id, "alice") == []


def test_commands_need_an_authenticated_connection(surfaces, tenant) -> None:  # noqa: ANN001
    anonymous = surfaces.ws_open(tenant, None)
    never_connected = new_connection_id()
    for connection in (anonymous, never_connected):
        assert surfaces.ws_subscribe(connection, ENDPOINT, browser_keys()) == error("push_subscribe", "Not authenticated")
        assert surfaces.ws_unsubscribe(connection, ENDPOINT) == error("push_unsubscribe", "Not authenticated")
        assert surfaces.ws(connection, {"cmd": "push_get_vapid"}) == error("push_get_vapid", "Not authenticated")
    assert stored(tenant) is None


def test_push_unsubscribe(surfaces, tenant) -> None:  # noqa: ANN001
    alice = surfaces.ws_open(tenant, "alice")
    surfaces.ws_subscribe(alice, ENDPOINT, browser_keys())
    for message in ({"cmd": "push_unsubscribe"}, {"cmd": "push_unsubscribe", "endpoint": ""}, {"cmd": "push_unsubscribe", "endpoint": None}):
        assert surfaces.ws(alice, message) == error("push_unsubscribe", "Missing endpoint")
    assert stored(tenant).active
    assert surfaces.ws_unsubscribe(alice, ENDPOINT) == UNSUBSCRIBED
    assert stored(tenant).status is SubscriptionStatus.REMOVED
    # Already removed, or never known: success, silently.
    assert surfaces.ws_unsubscribe(alice, ENDPOINT) == UNSUBSCRIBED
    assert surfaces.ws_unsubscribe(alice, "https://fcm.googleapis.com/fcm/send/never-seen") == UNSUBSCRIBED
    assert surfaces.ws_unsubscribe(alice, "not a url at all") == UNSUBSCRIBED


def test_push_unsubscribe_is_scoped_to_the_caller(surfaces, tenant) -> None:  # noqa: ANN001
    alice, bob = surfaces.ws_open(tenant, "alice"), surfaces.ws_open(tenant, "bob")
    surfaces.ws_subscribe(alice, ENDPOINT, browser_keys())
    before = stored(tenant)
    assert surfaces.ws_unsubscribe(bob, ENDPOINT) == UNSUBSCRIBED  # knowing the URL is not enough
    assert stored(tenant) == before


def test_another_users_endpoint_is_refused_unless_it_is_the_same_browser(surfaces, tenant) -> None:  # noqa: ANN001
    alice, bob = surfaces.ws_open(tenant, "alice"), surfaces.ws_open(tenant, "bob")
    keys = browser_keys()
    surfaces.ws_subscribe(alice, ENDPOINT, keys)
    before = stored(tenant)
    assert surfaces.ws_subscribe(bob, ENDPOINT, browser_keys()) == error("push_subscribe", "Endpoint belongs to another user")
    assert stored(tenant) == before
    assert surfaces.ws_subscribe(bob, ENDPOINT, keys) == SUBSCRIBED
    assert (stored(tenant).user_id, stored(tenant).subscription_id) == ("bob", before.subscription_id)


def _failing(operation: str):  # noqa: ANN202
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "InternalServerError", "Message": "simulated outage"}}, operation)

    return fail


def test_a_storage_failure_while_saving_is_reported(surfaces, tenant, monkeypatch) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    client = surfaces.handler("ws_push_subscribe").pushgate.repository._client
    monkeypatch.setattr(client, "put_item", _failing("PutItem"))
    monkeypatch.setattr(client, "update_item", _failing("UpdateItem"))
    assert surfaces.ws_subscribe(connection, ENDPOINT, browser_keys()) == error("push_subscribe", "Failed to save subscription")
    monkeypatch.undo()
    assert stored(tenant) is None
    assert surfaces.ws_subscribe(connection, ENDPOINT, browser_keys()) == SUBSCRIBED


def test_a_storage_failure_while_removing_is_reported(surfaces, tenant, monkeypatch) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    surfaces.ws_subscribe(connection, ENDPOINT, browser_keys())
    client = surfaces.handler("ws_push_unsubscribe").pushgate.repository._client
    monkeypatch.setattr(client, "update_item", _failing("UpdateItem"))
    monkeypatch.setattr(client, "transact_write_items", _failing("TransactWriteItems"))
    assert surfaces.ws_unsubscribe(connection, ENDPOINT) == error("push_unsubscribe", "Failed to remove subscription")
    monkeypatch.undo()
    assert stored(tenant).active
    assert surfaces.ws_unsubscribe(connection, ENDPOINT) == UNSUBSCRIBED


def test_a_storage_failure_reading_the_connection_is_not_reported_as_unauthenticated(surfaces, tenant, monkeypatch) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    client = surfaces.handler("ws_push_subscribe").pushgate.repository._client
    monkeypatch.setattr(client, "get_item", _failing("GetItem"))
    assert surfaces.ws_subscribe(connection, ENDPOINT, browser_keys()) == error("push_subscribe", "Failed to save subscription")
    assert surfaces.ws_unsubscribe(connection, ENDPOINT) == error("push_unsubscribe", "Failed to remove subscription")


def test_unknown_commands_and_invalid_json(surfaces, tenant) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    assert surfaces.ws(connection, {"cmd": "push_frobnicate", "x": 1}) == error("push_frobnicate", "Unknown command")
    assert surfaces.ws(connection, {"cmd": "PUSH_SUBSCRIBE"}) == error("PUSH_SUBSCRIBE", "Unknown command")
    for message in ({"no": "cmd"}, {"cmd": None}, {"cmd": 42}, {"cmd": ["auth"]}, {}):
        assert surfaces.ws(connection, message) == error(None, "Unknown command"), message
    invalid_json = error(None, "Invalid JSON")
    for raw in ("not json", "", "{", '{"cmd": "auth"', "[1, 2]", '"push_subscribe"', "null", "42", "\x00\xff"):
        assert surfaces.ws(connection, raw_body=raw, route="$default") == invalid_json, raw
    # A command route given a frame that is not a JSON object answers the same way.
    for route in ("auth", "push_get_vapid", "push_subscribe", "push_unsubscribe"):
        assert surfaces.ws(connection, raw_body="[]", route=route) == invalid_json


def test_disconnect_forgets_the_connection(surfaces, tenant) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    assert surfaces.ws_subscribe(connection, ENDPOINT, browser_keys()) == SUBSCRIBED
    assert surfaces.ws_disconnect(connection) == 200
    assert tenant.services.repository.get_connection(connection) is None
    assert surfaces.ws_subscribe(connection, ENDPOINT, browser_keys()) == error("push_subscribe", "Not authenticated")
    assert surfaces.ws_unsubscribe(connection, ENDPOINT) == error("push_unsubscribe", "Not authenticated")
    assert surfaces.ws(connection, {"cmd": "push_get_vapid"}) == error("push_get_vapid", "Not authenticated")
    assert surfaces.ws(connection, {"cmd": "auth", "token": tenant.session("alice")}) == error("auth", "Invalid token")
    # The subscription outlives the connection; disconnecting twice is harmless.
    assert stored(tenant).active
    assert surfaces.ws_disconnect(connection) == 200


def test_connections_are_swept_by_ttl(surfaces, tenant) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    row = tenant.services.repository.get_connection(connection)
    assert row.app_id == tenant.app_id and row.expires_at > row.connected_at + 2 * 3600
