"""Every door through which a client hands pushgate a Web Push endpoint to keep, each driven with
real API Gateway (HTTP API v2 / WebSocket) event shapes, and what it must answer when it refuses
one (docs/api.md §1, §2, §3, §5, §6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pushgate.validation import MAX_ENDPOINT_LENGTH
from tests.events import event_with, http_request
from tests.security.route_events import api_event
from tests.surfaces import Surfaces, Tenant, web_subscription

USER = "mallory"
CONTROL_ENDPOINT = "https://fcm.googleapis.com/fcm/send/control-subscription"
Keys = tuple[str, str]
# (surfaces, tenant, endpoint, keys) -> (answered as the surface documents a refused endpoint, what came back)
Attempt = Callable[[Surfaces, Tenant, str, Keys], tuple[bool, Any]]


def _overlong(endpoint: str) -> bool:
    return len(endpoint) > MAX_ENDPOINT_LENGTH


def websocket(surfaces: Surfaces, tenant: Tenant, endpoint: str, keys: Keys) -> tuple[bool, Any]:
    connection = surfaces.ws_open(tenant, USER)
    reply = surfaces.ws_subscribe(connection, endpoint, keys)
    return reply == {"cmd": "error", "src": "push_subscribe", "val": "Invalid push endpoint"}, reply


def _account(event_name: str) -> Attempt:
    def attempt(surfaces: Surfaces, tenant: Tenant, endpoint: str, keys: Keys) -> tuple[bool, Any]:
        fields = {"session_id": tenant.session(USER), "endpoint": endpoint, "key_p256dh": keys[0], "key_auth": keys[1]}
        if "get" in event_name:
            event = event_with(event_name, str(tenant.app.account_id), query=fields)
        else:
            event = event_with(event_name, str(tenant.app.account_id), query={}, body=fields)
        status, body = surfaces.http("account_push_subscribe", event)
        expected = 8504 if _overlong(endpoint) else 8507
        return status == 200 and body.get("error_no") == expected and "data" not in body, (status, body)

    return attempt


def _device(server_side: bool) -> Attempt:
    def attempt(surfaces: Surfaces, tenant: Tenant, endpoint: str, keys: Keys) -> tuple[bool, Any]:
        body: dict[str, Any] = {"type": "web", "deviceId": "hostile-device", "subscription": web_subscription(endpoint, keys)}
        if server_side:
            headers: dict[str, str | None] = {"im-client-key": None, "im-authorization": None, "im-api-key": tenant.secret_key}
            body["clientId"] = USER
        else:
            headers = surfaces.device_headers(tenant, USER)
        status, answer = surfaces.http("device_subscribe", http_request("http-device-subscribe-web.json", headers=headers, body=body))
        error = (answer or {}).get("error") or {}
        refused = (status, answer.get("RC"), error.get("code")) == (400, 400, "INVALID_PARAMETER")
        return refused and error.get("message", "").startswith("subscription.endpoint"), (status, answer)

    return attempt


def _channel(endpoint_in: str) -> Attempt:
    """`identifier` is the endpoint; `settings.endpoint`, when given, must be the same URL."""

    def attempt(surfaces: Surfaces, tenant: Tenant, endpoint: str, keys: Keys) -> tuple[bool, Any]:
        if endpoint_in == "identifier":
            body = {"identifier": endpoint, "settings": {"p256dh": keys[0], "auth": keys[1]}}
        else:
            body = {"identifier": CONTROL_ENDPOINT, "settings": {"endpoint": endpoint, "p256dh": keys[0], "auth": keys[1]}}
        event = http_request("http-channel-subscription-upsert.json", path_parameters={"channel_id": tenant.channel_id},
                             headers=surfaces.channel_headers(tenant, USER), body=body)
        status, answer = surfaces.http("channel_subscription_upsert", event)
        error = (answer or {}).get("error") or {}
        return (status, error.get("code"), error.get("status")) == (400, "bad_request", 400), (status, answer)

    return attempt


# surface -> how to try one endpoint on it. Every surface of docs/api.md that stores an endpoint.
SUBSCRIBE_SURFACES: dict[str, Attempt] = {
    "WebSocket push_subscribe": websocket,
    "account API push_subscribe (GET)": _account("http-account-push-subscribe-get.json"),
    "account API push_subscribe (POST JSON)": _account("http-account-push-subscribe-post-json.json"),
    "account API push_subscribe (POST form)": _account("http-account-push-subscribe-post-form.json"),
    "device API /me/subscribe web (session)": _device(server_side=False),
    "device API /me/subscribe web (secret key)": _device(server_side=True),
    "channel API POST subscriptions (identifier)": _channel("identifier"),
    "channel API POST subscriptions (settings.endpoint)": _channel("settings.endpoint"),
}


# The doors that take an endpoint or token only to look it up (POST /push: to target it): they
# must answer without a 5xx and never fetch it. -> (status or WebSocket reply, what came back)
def lookup_surfaces(surfaces: Surfaces, tenant: Tenant) -> dict[str, Callable[[str], tuple[bool, Any]]]:
    def ws_unsubscribe(endpoint: str) -> tuple[bool, Any]:
        reply = surfaces.ws_unsubscribe(surfaces.ws_open(tenant, USER), endpoint)
        return reply.get("cmd") in {"push_unsubscribed", "error"} and reply.get("val") != "Failed to remove subscription", reply

    def account_unsubscribe(endpoint: str) -> tuple[bool, Any]:
        status, body = surfaces.account_unsubscribe(tenant, USER, endpoint)
        return status == 200, (status, body)

    def channel_delete(endpoint: str) -> tuple[bool, Any]:
        status, body = surfaces.channel_delete(tenant, USER, endpoint)
        return status in (204, 400), (status, body)

    def topics(call: Callable[..., tuple[int, Any]]) -> Callable[[str], tuple[bool, Any]]:
        def attempt(endpoint: str) -> tuple[bool, Any]:
            status, body = call(tenant, endpoint, ["hostile"])
            return (status, body.get("code")) in {(400, "INVALID_DEVICE_TOKEN"), (400, "INVALID_PARAM")}, (status, body)

        return attempt

    def get_device(endpoint: str) -> tuple[bool, Any]:
        status, body = surfaces.get_device(tenant, endpoint)
        return 400 <= status < 500, (status, body)

    def push(endpoint: str) -> tuple[bool, Any]:
        event = api_event("POST /push", query={"api_key": tenant.secret_key}, body={"to": endpoint, "notification": {"title": "t", "body": "b"}})
        status, body = surfaces.http("send_push", event)
        return (status, body.get("success")) == (200, True) or (status, body.get("code")) == (400, "INVALID_PARAM"), (status, body)

    return {
        "topics API POST /push to the endpoint as a token": push,
        "WebSocket push_unsubscribe": ws_unsubscribe,
        "account API push_unsubscribe": account_unsubscribe,
        "channel API DELETE subscriptions": channel_delete,
        "topics API /topics/subscribe token": topics(surfaces.topics_subscribe),
        "topics API /topics/unsubscribe token": topics(surfaces.topics_unsubscribe),
        "topics API GET /devices/{token}": get_device,
    }
