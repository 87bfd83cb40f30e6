"""The world the BOLA matrix attacks: two apps made as `pushgate app create` makes them, each with
a victim user (alice) holding one of every object a user or an app owns, and an attacker user
(mallory) of the same app. Both apps have a user called alice, so a credential of one app naming
"alice" is a real user there and must still reach nothing of the other app's alice.

`victim_items` is the victim's part of the table, read raw, so that any change an attempt makes to
it (a status, a key, a topic edge, a count, a push's state) is seen, whatever route made it."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pushgate import identifiers, keys
from pushgate.models import DeviceType
from pushgate.services.subscriptions import device_pointer_hash
from pushgate_local.template import functions, http_routes, websocket_apis
from tests.conftest import TABLE_NAME, load_event
from tests.keys import browser_keys
from tests.security.route_events import api_event, response_of
from tests.surfaces import Surfaces, Tenant, web_subscription

VICTIM, ATTACKER = "alice", "mallory"


def _function_dirs() -> dict[str, str]:
    return {name: spec.code_uri.name for name, spec in functions().items()}


def http_route_functions() -> dict[str, str]:
    """"METHOD /path" of every HttpApi event of template.yaml -> the function's directory."""
    dirs = _function_dirs()
    return {route.route_key: dirs[route.function] for route in http_routes()}


def websocket_route_functions() -> dict[str, str]:
    dirs = _function_dirs()
    return {key: dirs[route.function] for api in websocket_apis() for key, route in api.routes.items()}


@dataclass
class Victim:
    """An app, its alice and her objects, and its mallory."""

    tenant: Tenant
    web_endpoint: str
    web_keys: tuple[str, str]
    ios_token: str
    channel_endpoint: str
    ws_endpoint: str
    topic: str
    push_id: str
    connection_id: str
    web_device_id: str = "alice-laptop"
    ios_device_id: str = "alice-phone"

    @property
    def tokens(self) -> list[str]:
        return [self.web_endpoint, self.ios_token, self.channel_endpoint, self.ws_endpoint]

    @property
    def secrets(self) -> list[str]:
        """What no attacker may read back: the subscriptions' tokens, their keys, the topic's name."""
        return self.tokens + list(self.web_keys) + [self.topic]


class Gateway:
    """Invokes the function template.yaml routes a request to, with real event shapes."""

    def __init__(self, surfaces: Surfaces) -> None:
        self.surfaces = surfaces
        self.http_routes = http_route_functions()
        self.ws_routes = websocket_route_functions()
        self.sent: list[str] = []  # what the attacker put in the requests since the last reset
        self.fan_out: Callable[[], list[str]] | None = None  # runs fan-out; the tokens it queued for delivery

    def http(self, route_key: str, **request: Any) -> tuple[Any, ...]:
        """(status, JSON body); for an accepted POST /push also the tokens fan-out queued for
        delivery, so a push is followed to where it would go, not only to its answer."""
        self.sent.append(json.dumps(request, default=str))
        answer = response_of(self.surfaces.invoke(self.http_routes[route_key], api_event(route_key, **request)))
        if route_key == "POST /push" and self.fan_out is not None:
            return (*answer, self.fan_out() if answer[0] == 200 else [])
        return answer

    def ws(self, route_key: str, connection_id: str, message: Any) -> Any:
        self.sent.append(json.dumps(message))
        event = copy.deepcopy(load_event("ws-auth.json"))
        event["requestContext"]["routeKey"] = route_key
        event["requestContext"]["connectionId"] = connection_id
        event["body"] = json.dumps(message)
        response = self.surfaces.invoke(self.ws_routes[route_key], event)
        return json.loads(response["body"]) if response.get("body") else response

    def ws_open(self, tenant: Tenant, token: str | None) -> str:
        connection_id, status = self.surfaces.ws_connect(tenant, token=token)
        assert status == 200
        return connection_id


def make_victim(gateway: Gateway, tenant: Tenant, tag: str) -> Victim:
    """alice's objects, each made through its own surface as a client would."""
    surfaces = gateway.surfaces
    web_keys = browser_keys()
    web = f"https://fcm.googleapis.com/fcm/send/{tag}-alice-web"
    ios = f"{tag}a11ce" + "0" * 56
    channel = f"https://updates.push.services.mozilla.com/wpush/v2/{tag}-alice-channel"
    ws = f"https://web.push.apple.com/{tag}-alice-ws"
    assert surfaces.device_subscribe(tenant, VICTIM, {"type": "web", "deviceId": "alice-laptop", "subscription": web_subscription(web, web_keys)})[0] == 200
    assert surfaces.device_subscribe(tenant, VICTIM, {"type": "ios", "deviceId": "alice-phone", "token": ios})[0] == 200
    assert surfaces.channel_upsert(tenant, VICTIM, channel, browser_keys())[0] == 201
    connection = gateway.ws_open(tenant, tenant.session(VICTIM))
    assert surfaces.ws_subscribe(connection, ws, browser_keys()) == {"cmd": "push_subscribed", "success": True}
    topic = f"victim-topic-{tag}"
    assert surfaces.topics_subscribe(tenant, web, [topic])[0] == 200
    status, body = gateway.http("POST /push", query={"api_key": tenant.secret_key},
                                body={"to": f"/users/{VICTIM}", "notification": {"title": "for alice", "body": "only"}})
    assert status == 200, body
    tenant.session(ATTACKER)
    return Victim(tenant, web, web_keys, ios, channel, ws, topic, body["id"], connection)


def victim_items(dynamodb: Any, victim: Victim) -> dict[tuple[str, str], dict[str, Any]]:
    """Every item of the table that is alice's (devices with their topic edges, device-id
    pointers, her session, her connection), her app's (the app, its channels, its topic counts)
    or her app's push. The app item's subscription counter is left out: other users of the app
    move it when they subscribe."""
    app_id = victim.tenant.app_id
    wanted = {keys.device_pk(app_id, identifiers.token_hash(token)) for token in victim.tokens}
    wanted |= {keys.device_pointer_pk(app_id, device_pointer_hash(VICTIM, device_type, device_id))
               for device_type, device_id in ((DeviceType.WEB, victim.web_device_id), (DeviceType.IOS, victim.ios_device_id))}
    wanted |= {keys.app_pk(app_id), keys.push_pk(victim.push_id), keys.session_pk(identifiers.credential_hash(victim.tenant.session(VICTIM))),
               keys.connection_pk(victim.connection_id)}
    items = {}
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE_NAME, ConsistentRead=True):
        for item in page["Items"]:
            key = (item["PK"]["S"], item["SK"]["S"])
            if key[0] in wanted:
                items[key] = {name: value for name, value in item.items() if name != "subscription_seq"}
    return items

