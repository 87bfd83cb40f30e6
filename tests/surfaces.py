"""Every subscription surface of the contract, driven the way API Gateway drives it: the handler
modules of functions/ fed the events/ files with test credentials swapped in.

A `Tenant` is an app as `pushgate app create` prints it; `Surfaces` calls one function per
operation and returns what the client would see (status and JSON body, or the WebSocket frame)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from tests.events import event_with, http_request, response_json, ws_event, ws_reply
from tests.keys import user_jwt

_connection_ids = itertools.count(1)


def new_connection_id() -> str:
    """Shaped like API Gateway's (16 base64 characters)."""
    return f"Cx{next(_connection_ids):013d}="


@dataclass
class Tenant:
    created: Any  # pushgate.services.apps.CreatedApp
    services: Any  # pushgate.wiring.Services
    _sessions: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> Any:
        return self.created.app

    @property
    def app_id(self) -> str:
        return self.created.app.app_id

    @property
    def secret_key(self) -> str:
        return self.created.secret_key

    @property
    def public_key(self) -> str:
        return self.created.public_key

    @property
    def channel_id(self) -> str:
        return self.created.app.webpush_channel_id

    @property
    def vapid_public_key(self) -> str:
        return self.created.channels[0].vapid_public_key

    def session(self, user: str) -> str:
        if user not in self._sessions:
            self._sessions[user], _ = self.services.sessions.create(self.app, user)
        return self._sessions[user]

    def jwt(self, user: str, **claims: Any) -> str:
        return user_jwt(self.created.user_token_private_key, user, **claims)


def web_subscription(endpoint: str, keys: tuple[str, str]) -> dict[str, Any]:
    """A browser's PushSubscription.toJSON()."""
    return {"endpoint": endpoint, "expirationTime": None, "keys": {"p256dh": keys[0], "auth": keys[1]}}


class Surfaces:
    def __init__(self, import_handler: Callable[[str], ModuleType], lambda_context: Any) -> None:
        self._import = import_handler
        self._context = lambda_context
        self._handlers: dict[str, ModuleType] = {}

    def handler(self, function: str) -> ModuleType:
        if function not in self._handlers:
            self._handlers[function] = self._import(function)
        return self._handlers[function]

    def invoke(self, function: str, event: dict[str, Any]) -> dict[str, Any]:
        return self.handler(function).lambda_handler(event, self._context)

    def http(self, function: str, event: dict[str, Any]) -> tuple[int, Any]:
        return response_json(self.invoke(function, event))

    # -- §1 WebSocket ---------------------------------------------------------------------------

    def ws_connect(self, tenant: Tenant | None, token: str | None = None, key: str | None = None,
                   connection_id: str | None = None) -> tuple[str, int]:
        """(connection id, $connect status): 200 opens the socket, anything else refuses it."""
        connection_id = connection_id or new_connection_id()
        public_key = key if key is not None else (tenant.public_key if tenant else None)
        event = ws_event("ws-connect.json", connection_id, query={"key": public_key, "token": token})
        return connection_id, self.invoke("ws_connect", event)["statusCode"]

    def ws_open(self, tenant: Tenant, user: str | None) -> str:
        """A connection authenticated at connect time as `user` (a session token), or anonymous."""
        connection_id, status = self.ws_connect(tenant, tenant.session(user) if user else None)
        assert status == 200
        return connection_id

    def ws(self, connection_id: str, message: Any = None, raw_body: str | None = None, route: str | None = None) -> Any:
        """Send one frame; API Gateway picks the route from `cmd` (else $default)."""
        if route is None:
            command = message.get("cmd") if isinstance(message, dict) else None
            route = command if isinstance(command, str) and command in WS_ROUTES else "$default"
        function, event_name = WS_ROUTES[route]
        if raw_body is not None:
            event = ws_event(event_name, connection_id, raw_body=raw_body)
        else:
            event = ws_event(event_name, connection_id, message=message)
        return ws_reply(self.invoke(function, event))

    def ws_subscribe(self, connection_id: str, endpoint: str, keys: tuple[str, str]) -> Any:
        return self.ws(connection_id, {"cmd": "push_subscribe", "subscription": web_subscription(endpoint, keys)})

    def ws_unsubscribe(self, connection_id: str, endpoint: str) -> Any:
        return self.ws(connection_id, {"cmd": "push_unsubscribe", "endpoint": endpoint})

    def ws_disconnect(self, connection_id: str) -> int:
        return self.invoke("ws_disconnect", ws_event("ws-disconnect.json", connection_id))["statusCode"]

    # -- §2 account API -------------------------------------------------------------------------

    def account_subscribe(self, tenant: Tenant, user: str, endpoint: str, keys: tuple[str, str]) -> tuple[int, Any]:
        fields = {"session_id": tenant.session(user), "endpoint": endpoint, "key_p256dh": keys[0], "key_auth": keys[1]}
        event = event_with("http-account-push-subscribe-post-json.json", str(tenant.app.account_id), query={}, body=fields)
        return self.http("account_push_subscribe", event)

    def account_unsubscribe(self, tenant: Tenant, user: str, endpoint: str) -> tuple[int, Any]:
        fields = {"session_id": tenant.session(user), "endpoint": endpoint}
        event = event_with("http-account-push-unsubscribe-post-json.json", str(tenant.app.account_id), query={}, body=fields)
        return self.http("account_push_unsubscribe", event)

    # -- §3 device API --------------------------------------------------------------------------

    def device_headers(self, tenant: Tenant, user: str) -> dict[str, str | None]:
        return {"im-client-key": tenant.public_key, "im-authorization": tenant.session(user)}

    def device_subscribe(self, tenant: Tenant, user: str, body: Any) -> tuple[int, Any]:
        event = http_request("http-device-subscribe-web.json", headers=self.device_headers(tenant, user), body=body)
        return self.http("device_subscribe", event)

    def device_subscribe_web(self, tenant: Tenant, user: str, device_id: str, endpoint: str, keys: tuple[str, str]) -> tuple[int, Any]:
        return self.device_subscribe(tenant, user, {"type": "web", "deviceId": device_id, "subscription": web_subscription(endpoint, keys)})

    def device_unsubscribe(self, tenant: Tenant, user: str, device_type: str, device_id: str) -> tuple[int, Any]:
        event = http_request("http-device-unsubscribe.json", headers=self.device_headers(tenant, user),
                             body={"type": device_type, "deviceId": device_id})
        return self.http("device_unsubscribe", event)

    # -- §4 topics API --------------------------------------------------------------------------

    def topics_subscribe(self, tenant: Tenant, token: Any, topics: Any) -> tuple[int, Any]:
        event = http_request("http-topics-subscribe.json", query={"api_key": tenant.secret_key}, body={"token": token, "topics": topics})
        return self.http("topics_subscribe", event)

    def topics_unsubscribe(self, tenant: Tenant, token: Any, topics: Any) -> tuple[int, Any]:
        event = http_request("http-topics-unsubscribe.json", query={"api_key": tenant.secret_key}, body={"token": token, "topics": topics})
        return self.http("topics_unsubscribe", event)

    def list_topics(self, tenant: Tenant) -> dict[str, int]:
        status, body = self.http("list_topics", http_request("http-list-topics.json", query={"api_key": tenant.secret_key}))
        assert status == 200, body
        return {topic["name"]: topic["subscribers"] for topic in body["topics"]}

    def topic_subscribers(self, tenant: Tenant, topic: str, cursor: str | None = None) -> tuple[int, Any]:
        event = http_request("http-topic-subscribers.json", path_parameters={"topic": topic},
                             query={"api_key": tenant.secret_key, "cursor": cursor})
        return self.http("topic_subscribers", event)

    def get_device(self, tenant: Tenant, token: str) -> tuple[int, Any]:
        """GET /devices/<token URL-encoded>; API Gateway decodes the path before the function sees it."""
        event = http_request("http-get-device.json", path_parameters={"token": token}, query={"api_key": tenant.secret_key})
        return self.http("get_device", event)

    # -- §5 channel subscriptions API -----------------------------------------------------------

    def channel_headers(self, tenant: Tenant, user: str) -> dict[str, str | None]:
        return {"x-notiflows-api-key": tenant.public_key, "x-notiflows-user-key": tenant.jwt(user), "x-request-id": None}

    def channel_upsert(self, tenant: Tenant, user: str, endpoint: str, keys: tuple[str, str], channel_id: str | None = None) -> tuple[int, Any]:
        body = {"identifier": endpoint, "settings": {"endpoint": endpoint, "p256dh": keys[0], "auth": keys[1]}}
        event = http_request("http-channel-subscription-upsert.json", path_parameters={"channel_id": channel_id or tenant.channel_id},
                             headers=self.channel_headers(tenant, user), body=body)
        return self.http("channel_subscription_upsert", event)

    def channel_list(self, tenant: Tenant, user: str, channel_id: str | None = None) -> tuple[int, Any]:
        event = http_request("http-channel-subscription-list.json", path_parameters={"channel_id": channel_id or tenant.channel_id},
                             headers=self.channel_headers(tenant, user))
        return self.http("channel_subscription_list", event)

    def channel_delete(self, tenant: Tenant, user: str, endpoint: str, channel_id: str | None = None) -> tuple[int, Any]:
        event = http_request("http-channel-subscription-delete.json", path_parameters={"channel_id": channel_id or tenant.channel_id},
                             headers=self.channel_headers(tenant, user), body={"identifier": endpoint})
        return self.http("channel_subscription_delete", event)


# route key -> (function, sample event)
WS_ROUTES = {
    "auth": ("ws_auth", "ws-auth.json"),
    "push_get_vapid": ("ws_push_get_vapid", "ws-push-get-vapid.json"),
    "push_subscribe": ("ws_push_subscribe", "ws-push-subscribe.json"),
    "push_unsubscribe": ("ws_push_unsubscribe", "ws-push-unsubscribe.json"),
    "$default": ("ws_default", "ws-default-unknown-command.json"),
}
