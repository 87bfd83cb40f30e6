"""BOLA attacks on the WebSocket routes of template.yaml (docs/api.md §1): connecting and
authenticating with another app's credentials, and every command made by another user or app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.keys import browser_keys
from tests.security.bola_attacks import Attack, Sides, status, ws_reply
from tests.security.bola_world import ATTACKER, VICTIM
from tests.surfaces import web_subscription


def connect_attacks(s: Sides) -> list[Attack]:
    v, o, g = s.victim, s.other, s.gateway

    def connect_then_unsubscribe(public_key: str, token: str) -> Any:
        connection_id, code = g.surfaces.ws_connect(None, token=token, key=public_key)
        assert code == 200
        return g.ws("push_unsubscribe", connection_id, {"cmd": "push_unsubscribe", "endpoint": v.ws_endpoint})

    not_authenticated = ws_reply({"cmd": "error", "val": "Not authenticated"})
    return [
        Attack(f"victim app's key with the other app's {VICTIM} session", lambda: connect_then_unsubscribe(v.tenant.public_key, o.tenant.session(VICTIM)), not_authenticated),
        Attack(f"victim app's key with the other app's {VICTIM} JWT", lambda: connect_then_unsubscribe(v.tenant.public_key, o.tenant.jwt(VICTIM)), not_authenticated),
        Attack(f"other app's key with {ATTACKER}'s session of the victim app", lambda: connect_then_unsubscribe(o.tenant.public_key, v.tenant.session(ATTACKER)), not_authenticated),
    ]


def disconnect_attacks(s: Sides) -> list[Attack]:
    g, v = s.gateway, s.victim

    def disconnect_own() -> Any:
        return (g.surfaces.ws_disconnect(g.ws_open(v.tenant, v.tenant.session(ATTACKER))), None)

    return [Attack(f"{ATTACKER} disconnects (API Gateway names the connection, never the client)", disconnect_own, status(200))]


def command_attacks(route: str) -> Callable[[Sides], list[Attack]]:
    def attacks(s: Sides) -> list[Attack]:
        v, o, g = s.victim, s.other, s.gateway

        def as_(tenant: Any, user: str | None, message: dict[str, Any]) -> Callable[[], Any]:
            def send() -> Any:
                connection_id = g.ws_open(tenant, tenant.session(user) if user else None)
                return g.ws(route, connection_id, message)
            return send

        if route == "auth":
            return [Attack(f"authenticate on the victim app with the other app's {VICTIM} {kind}", as_(v.tenant, None, {"cmd": "auth", "token": token}),
                           ws_reply({"cmd": "error", "val": "Invalid token"}))
                    for kind, token in (("session", o.tenant.session(VICTIM)), ("JWT", o.tenant.jwt(VICTIM)))]
        if route == "push_get_vapid":
            return [Attack("the other app's connection asks for a VAPID key", as_(o.tenant, VICTIM, {"cmd": "push_get_vapid"}),
                           ws_reply({"cmd": "push_vapid", "key": o.tenant.vapid_public_key}))]
        if route == "push_subscribe":
            found = [Attack(f"{ATTACKER} takes {VICTIM}'s {name} endpoint",
                            as_(v.tenant, ATTACKER, {"cmd": route, "subscription": web_subscription(endpoint, browser_keys())}),
                            ws_reply({"cmd": "error", "val": "Endpoint belongs to another user"}))
                     for name, endpoint in (("WebSocket", v.ws_endpoint), ("web", v.web_endpoint), ("channel", v.channel_endpoint))]
            found.append(Attack(f"the other app's {VICTIM} subscribes the victim's endpoint (its own namespace)",
                                as_(o.tenant, VICTIM, {"cmd": route, "subscription": web_subscription(v.ws_endpoint, browser_keys())}),
                                ws_reply({"cmd": "push_subscribed", "success": True})))
            return found
        if route == "push_unsubscribe":
            unsubscribed = ws_reply({"cmd": "push_unsubscribed", "success": True})
            found = [Attack(f"{ATTACKER} removes {VICTIM}'s {name} endpoint", as_(v.tenant, ATTACKER, {"cmd": route, "endpoint": endpoint}), unsubscribed)
                     for name, endpoint in (("WebSocket", v.ws_endpoint), ("web", v.web_endpoint), ("channel", v.channel_endpoint))]
            found.append(Attack(f"the other app's {VICTIM} removes the victim's endpoint", as_(o.tenant, VICTIM, {"cmd": route, "endpoint": v.ws_endpoint}), unsubscribed))
            return found
        return [Attack(f"{ATTACKER} sends an unknown command", as_(v.tenant, ATTACKER, {"cmd": "push_list", "user": VICTIM}),
                       ws_reply({"cmd": "error", "val": "Unknown command"}))]

    return attacks
