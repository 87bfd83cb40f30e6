"""Hostile input on every surface (docs/api.md §6: bad input never yields a 5xx or a stack trace, it
yields the surface's documented error; unknown fields are ignored; a body over 64 KiB is refused).

Every HTTP function gets malformed and non-object JSON, values of every wrong type, overlong
fields, oversized bodies, broken base64, and path parameters holding what a decoded URL may hold;
every WebSocket command gets the same in its frames. Unsafe endpoints and invalid keys are refused
on each surface and nothing is stored."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from tests.events import event_with, http_request, load_event, ws_event
from tests.keys import b64url, browser_keys
from tests.surfaces import Surfaces, Tenant

ENDPOINT = "https://fcm.googleapis.com/fcm/send/hostile-test"

# function -> (sample event, credentials, which path parameter the route has)
HTTP_FUNCTIONS: dict[str, tuple[str, str, str | None]] = {
    "account_push_subscribe": ("http-account-push-subscribe-post-json.json", "account", "account_id"),
    "account_push_unsubscribe": ("http-account-push-unsubscribe-post-json.json", "account", "account_id"),
    "create_session": ("http-create-session.json", "secret", None),
    "device_subscribe": ("http-device-subscribe-web.json", "device", None),
    "device_unsubscribe": ("http-device-unsubscribe.json", "device", None),
    "topics_subscribe": ("http-topics-subscribe.json", "secret", None),
    "topics_unsubscribe": ("http-topics-unsubscribe.json", "secret", None),
    "list_topics": ("http-list-topics.json", "secret", None),
    "topic_subscribers": ("http-topic-subscribers.json", "secret", "topic"),
    "get_device": ("http-get-device.json", "secret", "token"),
    "channel_subscription_upsert": ("http-channel-subscription-upsert.json", "channel", "channel_id"),
    "channel_subscription_list": ("http-channel-subscription-list.json", "channel", "channel_id"),
    "channel_subscription_delete": ("http-channel-subscription-delete.json", "channel", "channel_id"),
}
JSON_BODY_FUNCTIONS = [name for name, (event, _, _) in HTTP_FUNCTIONS.items() if "body" in load_event(event)]

DEEP = "[" * 40_000 + "]" * 40_000
HOSTILE_BODIES = [
    "{not json", "{", "}", "", " ", "null", "true", "0", "-1e999", "NaN", '"a string"', "[]", "[1, 2, 3]", "[{}]",
    '{"a": 1} trailing', '{"a": 1}{"b": 2}', "\x00", "\ufeff{}", DEEP[:60_000], '{"a":' * 20_000 + "1" + "}" * 20_000,
    '{"type": "\\ud800"}', '{"token": "\\udfff", "topics": ["\\ud800"]}', "9" * 5000, "x" * (64 * 1024 + 1),
    json.dumps({"padding": "x" * (64 * 1024)}), json.dumps({"k" * 100_000: 1}),
]
WRONG_VALUES: list[Any] = [None, 0, -1, 2**70, 1.5, float("inf"), True, False, [], [None], {}, {"$ne": None}, "", " ", "\x00",
                          "\ud800", "😀" * 2000, "x" * 20_000, "../../etc/passwd", "' OR '1'='1", "<script>alert(1)</script>"]
HOSTILE_PATH_VALUES = ["a/b", "a?b=c", "a#b", "%", "%2F", "%00", "..", "../..", " ", "\x00", "ünïcode", "😀", "x" * 5000,
                       "https://fcm.googleapis.com/a?b=c#d", "'; DROP TABLE", "{channel_id}", "²", "-1", "0", "99999999999999999999999",
                       "a\nb", "\r\n", "a\r\nX-Injected: 1", "\u0661\u0662"]

# Endpoints a push service never hands out: not https, not a push service, or hiding another host.
UNSAFE_ENDPOINTS = [
    "http://fcm.googleapis.com/fcm/send/x", "https://127.0.0.1/x", "https://localhost/x", "https://[::1]/x",
    "https://10.0.0.1/x", "https://192.168.1.1/x", "https://169.254.169.254/latest/meta-data", "https://2130706433/x",
    "https://0x7f000001/x", "https://[::ffff:127.0.0.1]/x", "https://fcm.googleapis.com.evil.example/x",
    "https://evil.example/fcm.googleapis.com", "https://evil.example#@fcm.googleapis.com/x", "https://fcm.googleapis.com@evil.example/x",
    "https://fcm.googleapis.com\\@evil.example/x", "https://fcm.googleapis.com:80/x", "https://fcm.googleapis.com:8443/x",
    "https://fcm.googleapis.com./x", "https://fcm.googleapis.c\u03bfm/x", "https://xn--fcm-googleapis-com.evil/x",
    "javascript:alert(1)", "file:///etc/passwd", "ftp://fcm.googleapis.com/x", "//fcm.googleapis.com/x", "fcm.googleapis.com/x",
    "https:///x", "https://", "https://fcm.googleapis.com/a b", "https://fcm.googleapis.com/\r\nHost: evil", "https://fcm.googleapis.com/\t",
    "https://fcm.googleapis.com/" + "x" * 1024, "wss://fcm.googleapis.com/x", "https://notify.windows.com.evil.example/x",
]
p256dh_ok, auth_ok = browser_keys()
_point = base64.urlsafe_b64decode(p256dh_ok + "=" * (-len(p256dh_ok) % 4))
OFF_CURVE = b64url(_point[:-1] + bytes([_point[-1] ^ 1]))
BAD_P256DH = [
    "not base64!", "BAAA" + "A" * 83, OFF_CURVE, b64url(b"\x04" + b"\x00" * 64), b64url(b"\x02" + _point[1:33]),
    b64url(_point[:-1]), b64url(_point + b"\x00"), b64url(b"\x05" + _point[1:]), base64.b64encode(_point).decode().replace("A", "+", 1) + "/",
    p256dh_ok + "===", "=" * 87, "A" * 255, "A" * 256,
]
BAD_AUTH = ["c2hvcnQ", b64url(b"\x00" * 15), b64url(b"\x00" * 17), "not base64!", "AAAAAAAAAAAAAAAAAAAAAA===", "+/+/+/+/+/+/+/+/+/+/+w", "A" * 300]


def credentials(tenant: Tenant, kind: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(headers, query) that authenticate on the surface, so hostile input reaches the parser."""
    if kind == "secret":
        return {}, {"api_key": tenant.secret_key}
    if kind == "device":
        return {"im-client-key": tenant.public_key, "im-authorization": tenant.session("alice")}, {}
    if kind == "channel":
        return {"x-notiflows-api-key": tenant.public_key, "x-notiflows-user-key": tenant.jwt("alice")}, {}
    return {}, {"session_id": tenant.session("alice")}


def base_event(tenant: Tenant, function: str) -> dict[str, Any]:
    event_name, kind, parameter = HTTP_FUNCTIONS[function]
    headers, query = credentials(tenant, kind)
    if kind == "account":
        event = event_with(event_name, str(tenant.app.account_id), query=query)
        event["headers"].update(headers)
        return event
    parameters = {"channel_id": tenant.channel_id} if parameter == "channel_id" else None
    return http_request(event_name, path_parameters=parameters, headers=headers, query=query)


def assert_clean(surfaces: Surfaces, function: str, event: dict[str, Any], what: object) -> int:
    """The function answers in its envelope: a 2xx/4xx, JSON (or empty), and no trace of Python."""
    response = surfaces.invoke(function, event)
    status, body = response["statusCode"], response.get("body") or ""
    assert status < 500, (function, repr(what)[:200], status, body[:300])
    assert "Traceback" not in body and "Error(" not in body, (function, body[:300])
    if body:
        json.loads(body)
    return status


@pytest.mark.parametrize("function", list(HTTP_FUNCTIONS))
def test_hostile_bodies_never_yield_a_5xx(surfaces, tenant, function) -> None:  # noqa: ANN001
    for raw in HOSTILE_BODIES:
        event = base_event(tenant, function)
        event["body"], event["isBase64Encoded"] = raw, False
        event["headers"]["content-type"] = "application/json"
        assert_clean(surfaces, function, event, raw)
        # The same bytes as API Gateway sends a non-text body: base64.
        event["body"], event["isBase64Encoded"] = base64.b64encode(raw.encode("utf-8", "surrogatepass")).decode(), True
        assert_clean(surfaces, function, event, raw)
    for broken in ("!!!not base64!!!", "QUJD" * 30_000, "\x00", b64url(b"\xff\xfe\xfd invalid utf-8 \xc3\x28")):
        event = base_event(tenant, function)
        event["body"], event["isBase64Encoded"] = broken, True
        assert_clean(surfaces, function, event, broken)


@pytest.mark.parametrize("function", JSON_BODY_FUNCTIONS)
def test_every_field_of_every_wrong_type_is_a_4xx(surfaces, tenant, function) -> None:  # noqa: ANN001
    sample = json.loads(load_event(HTTP_FUNCTIONS[function][0])["body"])
    paths = [[key] for key in sample] + [[key, inner] for key, value in sample.items() if isinstance(value, dict) for inner in value]
    paths += [[key, "keys", inner] for key, value in sample.items() if isinstance(value, dict) and isinstance(value.get("keys"), dict) for inner in value["keys"]]
    for path in paths:
        for value in WRONG_VALUES:
            body = copy.deepcopy(sample)
            target = body
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            event = base_event(tenant, function)
            if HTTP_FUNCTIONS[function][1] == "account":
                body["session_id"] = tenant.session("alice") if path != ["session_id"] else value
            event["body"] = json.dumps(body)
            assert_clean(surfaces, function, event, (path, value))
        # Unknown fields are ignored; absent fields are the surface's missing-field error.
        for variant in ({**sample, "unknown": {"nested": [1, 2, 3]}}, {k: v for k, v in sample.items() if k != path[0]}):
            event = base_event(tenant, function)
            if HTTP_FUNCTIONS[function][1] == "account":
                variant = {**variant, "session_id": tenant.session("alice")}
            event["body"] = json.dumps(variant)
            assert_clean(surfaces, function, event, variant)


def test_hostile_path_parameters_are_a_4xx(surfaces, tenant) -> None:  # noqa: ANN001
    for function, (_, _, parameter) in HTTP_FUNCTIONS.items():
        if parameter is None:
            continue
        for value in HOSTILE_PATH_VALUES:
            event = base_event(tenant, function)
            event["pathParameters"] = {parameter: value}
            # API Gateway hands the path over percent-decoded (a value may hold '/', '?', '#').
            route = event["routeKey"].split(" ", 1)[1]
            event["rawPath"] = event["requestContext"]["http"]["path"] = route.replace("{" + parameter + "}", value)
            assert_clean(surfaces, function, event, value)
        event = base_event(tenant, function)
        event.pop("pathParameters", None)
        assert assert_clean(surfaces, function, event, "no pathParameters") >= 400


def test_hostile_headers_and_query_strings_are_a_4xx(surfaces, tenant) -> None:  # noqa: ANN001
    for function in HTTP_FUNCTIONS:
        _hostile_headers_and_query(surfaces, tenant, function)


def _hostile_headers_and_query(surfaces: Surfaces, tenant: Tenant, function: str) -> None:
    for headers in (
        {"im-client-key": "pk_" + "x" * 8000, "im-authorization": "Bearer", "x-notiflows-api-key": "😀", "x-notiflows-user-key": "." * 5000},
        {"im-api-key": "sk_\x00", "x-notiflows-user-key": "a.b.c.d.e", "im-authorization": "x" * 8000 + ".b.c"},
        {"content-type": "application/json; charset=utf-16", "x-request-id": "\r\n" * 100},
        {"content-type": "multipart/form-data; boundary=x"},
        {"content-type": "application/x-www-form-urlencoded"},
    ):
        event = base_event(tenant, function)
        event["headers"].update(headers)
        assert_clean(surfaces, function, event, headers)
    for raw_query in ("api_key=a&api_key=b", "api_key", "%", "%ZZ", "api_key=%00", "a=" + "b" * 10_000, "session_id=%ED%A0%80", "&&&==&"):
        event = base_event(tenant, function)
        event["rawQueryString"] = raw_query
        event.pop("queryStringParameters", None)
        assert_clean(surfaces, function, event, raw_query)


def _web_attempts(surfaces: Surfaces, tenant: Tenant, endpoint: Any, keys: tuple[Any, Any]) -> dict[str, tuple[int, Any]]:
    """One subscribe attempt on each surface that registers a browser."""
    p256dh, auth = keys
    connection = surfaces.ws_open(tenant, "alice")
    ws = surfaces.ws(connection, {"cmd": "push_subscribe", "subscription": {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}})
    fields = {"session_id": tenant.session("alice"), "endpoint": endpoint, "key_p256dh": p256dh, "key_auth": auth}
    account = surfaces.http("account_push_subscribe", event_with("http-account-push-subscribe-post-json.json", str(tenant.app.account_id), query={}, body=fields))
    device = surfaces.device_subscribe(tenant, "alice", {"type": "web", "deviceId": "d", "subscription": {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}})
    channel_body = {"identifier": endpoint, "settings": {"p256dh": p256dh, "auth": auth}}
    channel = surfaces.http("channel_subscription_upsert", http_request(
        "http-channel-subscription-upsert.json", path_parameters={"channel_id": tenant.channel_id},
        headers=surfaces.channel_headers(tenant, "alice"), body=channel_body))
    return {"ws": (200, ws), "account": account, "device": device, "channel": channel}


def _assert_refused(attempts: dict[str, tuple[int, Any]], what: object, ws_reasons: set[str], account_numbers: set[int]) -> None:
    assert attempts["ws"][1]["cmd"] == "error" and attempts["ws"][1]["val"] in ws_reasons, (what, attempts["ws"])
    status, body = attempts["account"]
    assert status == 200 and body.get("error_no") in account_numbers, (what, body)
    status, body = attempts["device"]
    assert (status, body["error"]["code"]) == (400, "INVALID_PARAMETER") and body["error"]["message"].startswith("subscription"), (what, body)
    status, body = attempts["channel"]
    assert (status, body["error"]["code"]) == (400, "bad_request"), (what, body)


def test_unsafe_endpoints_are_refused_on_every_surface(surfaces, tenant) -> None:  # noqa: ANN001
    for endpoint in UNSAFE_ENDPOINTS:
        attempts = _web_attempts(surfaces, tenant, endpoint, browser_keys())
        _assert_refused(attempts, endpoint, {"Invalid push endpoint"}, {8504, 8507})
    assert tenant.services.repository.user_devices(tenant.app_id, "alice") == []


def test_invalid_keys_are_refused_on_every_surface(surfaces, tenant) -> None:  # noqa: ANN001
    for p256dh in BAD_P256DH:
        _assert_refused(_web_attempts(surfaces, tenant, ENDPOINT, (p256dh, auth_ok)), p256dh, {"Invalid subscription keys"}, {8505, 8508})
    for auth in BAD_AUTH:
        _assert_refused(_web_attempts(surfaces, tenant, ENDPOINT, (p256dh_ok, auth)), auth, {"Invalid subscription keys"}, {8506, 8509})
    assert tenant.services.repository.user_devices(tenant.app_id, "alice") == []


def test_valid_key_encodings_are_accepted(surfaces, tenant) -> None:  # noqa: ANN001
    """The other side of the key rules: padding is optional, so padded base64url is the same key."""
    padded = (p256dh_ok + "=" * (-len(p256dh_ok) % 4), auth_ok + "==")
    attempts = _web_attempts(surfaces, tenant, ENDPOINT, padded)
    assert attempts["ws"][1] == {"cmd": "push_subscribed", "success": True}
    assert attempts["account"][1]["data"]["operation_status"] == "SUCCESS"
    assert attempts["device"][1]["RC"] == 0 and attempts["channel"][0] == 200
    device = tenant.services.repository.user_devices(tenant.app_id, "alice")[0]
    assert (device.keys.p256dh, device.keys.auth) == (p256dh_ok, auth_ok)  # stored canonical


WS_COMMANDS = {
    "auth": ("ws_auth", "ws-auth.json"),
    "push_get_vapid": ("ws_push_get_vapid", "ws-push-get-vapid.json"),
    "push_subscribe": ("ws_push_subscribe", "ws-push-subscribe.json"),
    "push_unsubscribe": ("ws_push_unsubscribe", "ws-push-unsubscribe.json"),
    "$default": ("ws_default", "ws-default-unknown-command.json"),
}
# What a hostile frame may be answered with: the documented input errors, never a server failure.
WS_ALLOWED = {
    "auth": {"Invalid token"},
    "push_get_vapid": set(),
    "push_subscribe": {"Missing subscription object", "subscription must include endpoint, keys.p256dh and keys.auth",
                       "Invalid push endpoint", "Invalid subscription keys"},
    "push_unsubscribe": {"Missing endpoint", "Invalid push endpoint"},
    "$default": {"Unknown command"},
}


def _assert_ws_clean(surfaces: Surfaces, route: str, connection: str, what: object, message: Any = None, raw: str | None = None) -> dict[str, Any]:
    function, event_name = WS_COMMANDS[route]
    event = ws_event(event_name, connection, raw_body=raw) if raw is not None else ws_event(event_name, connection, message=message)
    response = surfaces.invoke(function, event)
    assert response["statusCode"] == 200, (route, what, response)
    reply = json.loads(response["body"])
    if reply.get("cmd") == "error":
        assert reply["val"] in WS_ALLOWED[route] | {"Invalid JSON"}, (route, repr(what)[:200], reply)
    return reply


def test_hostile_websocket_frames_get_a_documented_reply(surfaces, tenant) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    for route in WS_COMMANDS:
        for raw in HOSTILE_BODIES:
            reply = _assert_ws_clean(surfaces, route, connection, raw, raw=raw)
            if not raw.lstrip("\ufeff").startswith("{") or len(raw) > 64 * 1024:
                assert reply == {"cmd": "error", "src": None, "val": "Invalid JSON"}, (route, raw[:50])
        sample = json.loads(load_event(WS_COMMANDS[route][1])["body"])
        fields = [k for k in sample if k != "cmd"] + ["cmd"]
        for field in fields:
            for value in WRONG_VALUES:
                _assert_ws_clean(surfaces, route, connection, (field, value), message={**sample, field: value})
        if route == "push_subscribe":
            for inner in ("endpoint", "keys", "expirationTime"):
                for value in WRONG_VALUES:
                    message = {**sample, "subscription": {**sample["subscription"], inner: value}}
                    _assert_ws_clean(surfaces, route, connection, (inner, value), message=message)
            for inner in ("p256dh", "auth"):
                for value in WRONG_VALUES:
                    subscription = {**sample["subscription"], "keys": {**sample["subscription"]["keys"], inner: value}}
                    _assert_ws_clean(surfaces, route, connection, (inner, value), message={**sample, "subscription": subscription})


def test_hostile_connect_requests_are_refused_or_anonymous(surfaces, tenant) -> None:  # noqa: ANN001
    for key in ("", " ", "pk_" + "x" * 10_000, "😀", "\x00", tenant.public_key + "\x00"):
        _, status = surfaces.ws_connect(None, token=None, key=key)
        assert status == 401, key
    for token in ("", "😀", "x" * 10_000, "a.b.c", "." * 3000, "\x00", "ses_\ufffd"):
        connection, status = surfaces.ws_connect(tenant, token=token)
        assert status == 200, token
        assert tenant.services.repository.get_connection(connection).user_id is None
    event = ws_event("ws-connect.json", "hostile-connection=", query={"key": tenant.public_key})
    event["queryStringParameters"] = None
    assert surfaces.invoke("ws_connect", event)["statusCode"] == 401


def test_unsafe_endpoints_never_reach_the_topics_api(surfaces, tenant) -> None:  # noqa: ANN001
    """A token is looked up, never fetched: hostile tokens are unknown tokens, not errors."""
    for token in UNSAFE_ENDPOINTS + ["😀", "\x00", "x" * 10_000]:
        status, body = surfaces.topics_subscribe(tenant, token, ["news"])
        assert (status, body["code"]) == (400, "INVALID_DEVICE_TOKEN"), token
        status, body = surfaces.get_device(tenant, token)
        assert status == 400, token
