"""The channel subscriptions API handlers (docs/api.md §5, Notiflows style) under moto, fed the
events/ files."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from pushgate.http.envelopes import ERROR_DOCS_URL
from pushgate.identifiers import token_hash
from pushgate.models import SubscriptionStatus
from tests.events import http_request, load_event
from tests.keys import browser_keys, hostile_user_jwts
from tests.surfaces import Surfaces, Tenant

ENDPOINT = "https://fcm.googleapis.com/fcm/send/channel-api-test"
FUNCTIONS = {
    "POST": ("channel_subscription_upsert", "http-channel-subscription-upsert.json"),
    "GET": ("channel_subscription_list", "http-channel-subscription-list.json"),
    "DELETE": ("channel_subscription_delete", "http-channel-subscription-delete.json"),
}
GATEWAY_REQUEST_ID = "req_" + "JKJaXmPLvHcESHA="[:-1]  # the events' requestContext.requestId, alphanumerics kept


class Reply:
    """What the client gets: status, headers, and the body (None when empty)."""

    def __init__(self, response: dict[str, Any]) -> None:
        self.status = response["statusCode"]
        self.headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
        self.raw_body = response.get("body") or ""
        self.body = json.loads(self.raw_body) if self.raw_body else None

    @property
    def error(self) -> dict[str, Any]:
        return self.body["error"]


def call(surfaces: Surfaces, method: str, tenant: Tenant, user: str | None = "alice", *, channel_id: str | None = None,
         headers: dict[str, Any] | None = None, body: Any = None, raw_body: str | None = None) -> Reply:
    function, event_name = FUNCTIONS[method]
    all_headers = surfaces.channel_headers(tenant, user) if user else {"x-notiflows-api-key": tenant.public_key, "x-notiflows-user-key": None}
    all_headers.update(headers or {})
    if method == "GET":
        body = None
    event = http_request(event_name, path_parameters={"channel_id": channel_id or tenant.channel_id}, headers=all_headers,
                         body=body, raw_body=raw_body)
    return Reply(surfaces.invoke(function, event))


def upsert_body(endpoint: str = ENDPOINT, keys: tuple[str, str] | None = None, with_endpoint: bool = True) -> dict[str, Any]:
    p256dh, auth = keys or browser_keys()
    settings = {"endpoint": endpoint, "p256dh": p256dh, "auth": auth} if with_endpoint else {"p256dh": p256dh, "auth": auth}
    return {"identifier": endpoint, "settings": settings}


def error_body(reply: Reply, status: int, code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    """The exact envelope of docs/api.md §5, request_id being the one in the x-request-id header."""
    return {"error": {"type": f"{ERROR_DOCS_URL}#{code}-{status}", "code": code, "message": message, "status": status,
                      "request_id": reply.headers["x-request-id"], "details": details}}


def assert_error(reply: Reply, status: int, code: str, message: str, details: dict[str, Any]) -> None:
    assert reply.status == status, reply.body
    assert reply.body == error_body(reply, status, code, message, details)


def unauthenticated(reply: Reply) -> None:
    assert_error(reply, 401, "unauthenticated", "Invalid API key or user token", {"auth": "api_key"})


def test_the_sample_events_create_list_and_delete(surfaces, tenant) -> None:  # noqa: ANN001
    sample = json.loads(load_event("http-channel-subscription-upsert.json")["body"])
    created = call(surfaces, "POST", tenant, body=sample)
    assert created.status == 201
    assert set(created.body) == {"id", "channel_id", "identifier", "created_at", "updated_at"}
    assert (created.body["channel_id"], created.body["identifier"]) == (tenant.channel_id, sample["identifier"])
    listed = call(surfaces, "GET", tenant)
    assert (listed.status, listed.body) == (200, {"items": [created.body]})
    # The sample DELETE carries the client's x-request-id, which comes back.
    event = http_request("http-channel-subscription-delete.json", path_parameters={"channel_id": tenant.channel_id},
                         headers={"x-notiflows-api-key": tenant.public_key, "x-notiflows-user-key": tenant.jwt("alice")})
    deleted = Reply(surfaces.invoke("channel_subscription_delete", event))
    assert (deleted.status, deleted.raw_body) == (204, "")
    assert deleted.headers["x-request-id"] == "req_example-client-request-id"
    assert call(surfaces, "GET", tenant).body == {"items": []}


def test_created_then_updated_in_place(surfaces, tenant) -> None:  # noqa: ANN001
    first = call(surfaces, "POST", tenant, body=upsert_body())
    assert first.status == 201
    assert first.body["created_at"].endswith("Z")
    new_keys = browser_keys()
    second = call(surfaces, "POST", tenant, body=upsert_body(keys=new_keys, with_endpoint=False))
    assert second.status == 200
    assert (second.body["id"], second.body["created_at"]) == (first.body["id"], first.body["created_at"])
    assert second.body["updated_at"] >= first.body["updated_at"]
    stored = tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT))
    assert (stored.keys.p256dh, stored.keys.auth, stored.channel_id, stored.user_id) == (*new_keys, tenant.channel_id, "alice")
    assert call(surfaces, "GET", tenant).body == {"items": [second.body]}
    # Deleted, then subscribed again: the same record is back, created anew for the user.
    assert call(surfaces, "DELETE", tenant, body={"identifier": ENDPOINT}).status == 204
    again = call(surfaces, "POST", tenant, body=upsert_body())
    assert (again.status, again.body["id"]) == (201, first.body["id"])


def test_list_shows_only_the_callers_active_subscriptions(surfaces, tenant) -> None:  # noqa: ANN001
    endpoints = [f"{ENDPOINT}-{i}" for i in range(3)]
    ids = {call(surfaces, "POST", tenant, body=upsert_body(e)).body["id"] for e in endpoints}
    call(surfaces, "POST", tenant, "bob", body=upsert_body(ENDPOINT + "-bob"))
    call(surfaces, "DELETE", tenant, body={"identifier": endpoints[0]})
    listed = call(surfaces, "GET", tenant)
    assert listed.status == 200
    assert sorted(item["identifier"] for item in listed.body["items"]) == endpoints[1:]
    assert {item["id"] for item in listed.body["items"]} < ids
    assert [item["identifier"] for item in call(surfaces, "GET", tenant, "bob").body["items"]] == [ENDPOINT + "-bob"]
    assert call(surfaces, "GET", tenant, "carol").body == {"items": []}


def test_delete_is_204_whether_or_not_it_was_subscribed(surfaces, tenant) -> None:  # noqa: ANN001
    call(surfaces, "POST", tenant, body=upsert_body())
    for identifier in (ENDPOINT, ENDPOINT, "https://fcm.googleapis.com/fcm/send/never", "not even a url"):
        deleted = call(surfaces, "DELETE", tenant, body={"identifier": identifier})
        assert (deleted.status, deleted.raw_body, deleted.body) == (204, "", None)
        assert deleted.headers["x-request-id"] == GATEWAY_REQUEST_ID
    assert tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT)).status is SubscriptionStatus.REMOVED


def test_unauthenticated_requests(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    jwts = hostile_user_jwts(tenant.created.user_token_private_key, tenant.app.user_token_keys[0])
    cases: dict[str, dict[str, Any]] = {
        "no credentials": {"x-notiflows-api-key": None, "x-notiflows-user-key": None},
        "no user key": {"x-notiflows-user-key": None},
        "empty user key": {"x-notiflows-user-key": ""},
        "no api key": {"x-notiflows-api-key": None},
        "unknown api key": {"x-notiflows-api-key": "pk_unknown"},
        "secret key as api key": {"x-notiflows-api-key": tenant.secret_key},
        "another app's api key": {"x-notiflows-api-key": other_tenant.public_key},
        "another app's user JWT": {"x-notiflows-user-key": other_tenant.jwt("alice")},
        "a session id": {"x-notiflows-user-key": tenant.session("alice")},
        "user id without development mode": {"x-notiflows-user-key": None, "x-notiflows-user-id": "alice"},
        **{f"JWT {name}": {"x-notiflows-user-key": token} for name, token in jwts.items()},
    }
    for name, headers in cases.items():
        for method in FUNCTIONS:
            reply = call(surfaces, method, tenant, headers=headers, body=upsert_body())
            assert reply.status == 401, (name, method, reply.body)
            unauthenticated(reply)
    assert tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT)) is None


def _development_mode_handler(monkeypatch, import_handler, enabled: str | None):  # noqa: ANN001, ANN202
    from pushgate import config, wiring

    if enabled is None:
        monkeypatch.delenv("PUSHGATE_DEVELOPMENT_MODE", raising=False)
    else:
        monkeypatch.setenv("PUSHGATE_DEVELOPMENT_MODE", enabled)
    config.settings.cache_clear()
    wiring.services.cache_clear()
    return {method: import_handler(function) for method, (function, _) in FUNCTIONS.items()}


def _dev_call(handlers, method: str, tenant: Tenant, lambda_context, headers: dict[str, Any]) -> Reply:  # noqa: ANN001
    function, event_name = FUNCTIONS[method]
    event = http_request(event_name, path_parameters={"channel_id": tenant.channel_id},
                         headers={"x-notiflows-api-key": tenant.public_key, "x-notiflows-user-key": None, **headers},
                         body=None if method == "GET" else upsert_body())
    return Reply(handlers[method].lambda_handler(event, lambda_context))


def test_the_user_id_header_is_ignored_unless_development_mode_is_on(monkeypatch, import_handler, tenant, lambda_context) -> None:  # noqa: ANN001
    for setting in (None, "false", "0", "", "no", "False "):
        handlers = _development_mode_handler(monkeypatch, import_handler, setting)
        for method in FUNCTIONS:
            unauthenticated(_dev_call(handlers, method, tenant, lambda_context, {"x-notiflows-user-id": "alice"}))


def test_development_mode_honours_the_user_id_header(monkeypatch, import_handler, tenant, lambda_context) -> None:  # noqa: ANN001
    handlers = _development_mode_handler(monkeypatch, import_handler, "true")
    created = _dev_call(handlers, "POST", tenant, lambda_context, {"x-notiflows-user-id": "dev-user"})
    assert created.status == 201
    assert tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT)).user_id == "dev-user"
    listed = _dev_call(handlers, "GET", tenant, lambda_context, {"x-notiflows-user-id": "dev-user"})
    assert [item["id"] for item in listed.body["items"]] == [created.body["id"]]
    # Still the app's public key, a printable user id, and a bad JWT is not rescued by the header.
    unauthenticated(_dev_call(handlers, "GET", tenant, lambda_context, {"x-notiflows-user-id": "dev-user", "x-notiflows-api-key": tenant.secret_key}))
    unauthenticated(_dev_call(handlers, "GET", tenant, lambda_context, {"x-notiflows-user-id": "bad\nuser"}))
    unauthenticated(_dev_call(handlers, "GET", tenant, lambda_context, {"x-notiflows-user-id": "x" * 257}))
    unauthenticated(_dev_call(handlers, "GET", tenant, lambda_context, {"x-notiflows-user-id": "dev-user", "x-notiflows-user-key": "a.b.c"}))
    assert _dev_call(handlers, "DELETE", tenant, lambda_context, {"x-notiflows-user-id": "dev-user"}).status == 204


def test_the_template_keeps_development_mode_off() -> None:
    from pushgate_local.template import load_template

    template = load_template()
    assert template["Parameters"]["DevelopmentMode"]["Default"] == "false"


def test_unknown_channels_are_not_found(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    for method in FUNCTIONS:
        for channel_id in (str(uuid.uuid4()), other_tenant.channel_id, tenant.channel_id.upper().replace("-", "")):
            reply = call(surfaces, method, tenant, channel_id=channel_id, body=upsert_body())
            assert_error(reply, 404, "not_found", "Channel not found", {"resource": "channel"})
    assert tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT)) is None


def test_a_channel_id_that_is_not_a_uuid_is_a_bad_request(surfaces, tenant) -> None:  # noqa: ANN001
    for method in FUNCTIONS:
        for channel_id in ("not-a-uuid", "01HQXYZ123456789ABCDEFGHIJ", "a/b", "../../admin", "x" * 300, "%00", " "):
            reply = call(surfaces, method, tenant, channel_id=channel_id, body=upsert_body())
            assert_error(reply, 400, "bad_request", "channel_id is not a UUID", {"reason": "invalid_uuid", "param": "channel_id"})


p256dh, auth = browser_keys()
BAD_FIELDS = [
    ({"settings": {"p256dh": p256dh, "auth": auth}}, "identifier", "required", "is required"),
    ({"identifier": "", "settings": {"p256dh": p256dh, "auth": auth}}, "identifier", "required", "is required"),
    ({"identifier": ENDPOINT}, "settings", "required", "is required"),
    ({"identifier": ENDPOINT, "settings": "p256dh"}, "settings", "invalid", "is invalid (an object)"),
    ({"identifier": ENDPOINT, "settings": {"auth": auth}}, "settings.p256dh", "required", "is required"),
    ({"identifier": ENDPOINT, "settings": {"p256dh": p256dh}}, "settings.auth", "required", "is required"),
    ({"identifier": ENDPOINT, "settings": {"endpoint": ENDPOINT + "x", "p256dh": p256dh, "auth": auth}}, "settings.endpoint", "invalid", "is invalid (must equal identifier)"),
    ({"identifier": "http://fcm.googleapis.com/x", "settings": {"p256dh": p256dh, "auth": auth}}, "identifier", "invalid", "is invalid (not a known push service)"),
    ({"identifier": "https://10.0.0.1/x", "settings": {"p256dh": p256dh, "auth": auth}}, "identifier", "invalid", "is invalid (not a known push service)"),
    ({"identifier": "https://fcm.googleapis.com/" + "x" * 1024, "settings": {"p256dh": p256dh, "auth": auth}}, "identifier", "too_long", "is too long"),
    ({"identifier": 42, "settings": {"p256dh": p256dh, "auth": auth}}, "identifier", "invalid", "is invalid (must be a string)"),
    ({"identifier": ENDPOINT, "settings": {"p256dh": "BAAA" + "A" * 83, "auth": auth}}, "settings.p256dh", "invalid", "is invalid (not on the P-256 curve)"),
    ({"identifier": ENDPOINT, "settings": {"p256dh": p256dh[:-2] + "!!", "auth": auth}}, "settings.p256dh", "invalid", "is invalid (not base64url)"),
    ({"identifier": ENDPOINT, "settings": {"p256dh": p256dh, "auth": "AAAA"}}, "settings.auth", "invalid", "is invalid (must be 16 bytes)"),
    ({"identifier": ENDPOINT, "settings": {"p256dh": p256dh, "auth": "A" * 256}}, "settings.auth", "too_long", "is too long"),
]


def test_bad_fields_are_named_in_details(surfaces, tenant) -> None:  # noqa: ANN001
    for body, field, reason, problem in BAD_FIELDS:
        reply = call(surfaces, "POST", tenant, body=body)
        details = {"reason": "invalid_param", "param": field, "fields": [{"field": field, "message": problem, "reason": reason}]}
        assert reply.body == error_body(reply, 400, "bad_request", f"{field} {problem}", details), body
    assert call(surfaces, "GET", tenant).body == {"items": []}


def test_delete_needs_an_identifier(surfaces, tenant) -> None:  # noqa: ANN001
    for body in (None, {}, {"identifier": ""}, {"identifier": None}):
        reply = call(surfaces, "DELETE", tenant, body=body)
        details = {"reason": "invalid_param", "param": "identifier", "fields": [{"field": "identifier", "message": "is required", "reason": "required"}]}
        assert_error(reply, 400, "bad_request", "identifier is required", details)
    reply = call(surfaces, "DELETE", tenant, body={"identifier": ["x"]})
    assert (reply.status, reply.error["code"], reply.error["details"]["param"]) == (400, "bad_request", "identifier")


def test_malformed_json_is_a_bad_request(surfaces, tenant) -> None:  # noqa: ANN001
    for method in ("POST", "DELETE"):
        for raw in ("{not json", "[]", '"string"', "1", "null"):
            reply = call(surfaces, method, tenant, raw_body=raw)
            assert_error(reply, 400, "bad_request", "Request body is not a JSON object", {"reason": "invalid_json"})


def test_another_users_identifier_is_a_conflict(surfaces, tenant) -> None:  # noqa: ANN001
    keys = browser_keys()
    created = call(surfaces, "POST", tenant, body=upsert_body(keys=keys))
    before = tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT))
    reply = call(surfaces, "POST", tenant, "bob", body=upsert_body(keys=browser_keys()))
    assert_error(reply, 409, "conflict", "identifier is subscribed by another user", {"param": "identifier"})
    # Deleting it is a 204 that removes nothing; listing it shows nothing.
    assert call(surfaces, "DELETE", tenant, "bob", body={"identifier": ENDPOINT}).status == 204
    assert call(surfaces, "GET", tenant, "bob").body == {"items": []}
    assert tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT)) == before
    # The same browser (identical keys) moves to bob: created for him, gone from alice's list.
    moved = call(surfaces, "POST", tenant, "bob", body=upsert_body(keys=keys))
    assert (moved.status, moved.body["id"]) == (201, created.body["id"])
    assert call(surfaces, "GET", tenant).body == {"items": []}


def test_payload_too_large(surfaces, tenant) -> None:  # noqa: ANN001
    for method in ("POST", "DELETE"):
        reply = call(surfaces, method, tenant, body={**upsert_body(), "padding": "x" * (64 * 1024)})
        assert_error(reply, 413, "payload_too_large", "Request body is over 64 KiB", {"limit": 65536})
    assert tenant.services.repository.get_device(tenant.app_id, token_hash(ENDPOINT)) is None


@pytest.mark.parametrize("method", list(FUNCTIONS))
def test_request_id_is_the_response_header_in_every_error(surfaces, tenant, method) -> None:  # noqa: ANN001
    # An incoming x-request-id is kept.
    reply = call(surfaces, method, tenant, headers={"x-request-id": "client-req.42:a_b-c", "x-notiflows-user-key": None})
    assert reply.headers["x-request-id"] == reply.error["request_id"] == "client-req.42:a_b-c"
    # Without one, API Gateway's request id names the request.
    reply = call(surfaces, method, tenant, channel_id=str(uuid.uuid4()))
    assert reply.status == 404 and reply.headers["x-request-id"] == reply.error["request_id"] == GATEWAY_REQUEST_ID
    # One that is not a sane token (spaces, header injection, too long) is replaced, not echoed.
    for hostile in ("two words", "a\r\nSet-Cookie: x=1", "x" * 129, "<script>"):
        reply = call(surfaces, method, tenant, headers={"x-request-id": hostile, "x-notiflows-api-key": "pk_bad"})
        assert reply.headers["x-request-id"] == reply.error["request_id"] == GATEWAY_REQUEST_ID
    # Successes carry it too.
    ok = call(surfaces, method, tenant, headers={"x-request-id": "ok-1"}, body=upsert_body() if method == "POST" else {"identifier": ENDPOINT})
    assert ok.status < 300 and ok.headers["x-request-id"] == "ok-1"
