"""The attack definitions of the BOLA matrix: for every route of template.yaml (HTTP API and
WebSocket), what an attacker holding another user's or another app's credentials tries against
the victim's subscriptions, devices, topics, pushes and channels, and the answer that route
documents for it (docs/api.md §0-§6).

`ROUTE_ATTACKS` is keyed exactly as template.yaml spells its routes ("POST /me/subscribe",
"push_subscribe"); test_bola_matrix fails for a route of the template that has no entry here. To
cover a new route, add one entry: a function of the `Sides` returning its `Attack`s, each a name,
the request made with the attacker's credentials, and what a safe answer looks like. Whether the
victim's part of the table is unchanged and whether the answer reveals any of the victim's
secrets is checked for every attack by the test itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.keys import browser_keys
from tests.security.bola_attacks import Attack, Sides, account_api, body_of, channel_api, device_api, fresh_endpoint, pushy, status
from tests.security.bola_websocket import command_attacks, connect_attacks, disconnect_attacks
from tests.security.bola_world import ATTACKER, VICTIM
from tests.surfaces import web_subscription


# -- §2 account API ----------------------------------------------------------------------------

def _account(route_key: str, operation: str) -> Callable[[Sides], list[Attack]]:
    def attacks(s: Sides) -> list[Attack]:
        v, o, g = s.victim, s.other, s.gateway
        in_query = route_key.startswith("GET")

        def call(account_id: int, session: str, endpoint: str) -> Any:
            fields: dict[str, Any] = {"session_id": session, "endpoint": endpoint}
            if operation == "subscribe":
                p256dh, auth = browser_keys()
                fields |= {"key_p256dh": p256dh, "key_auth": auth}
            where = {"query": fields} if in_query else {"body": fields}
            return g.http(route_key, path_parameters={"account_id": str(account_id)}, **where)

        mallory, other_alice = v.tenant.session(ATTACKER), o.tenant.session(VICTIM)
        own_app = account_api(200) if operation == "unsubscribe" else (lambda a: a[0] == 200)
        found = [
            Attack(f"other app's {VICTIM} session on the victim's account", lambda: call(v.tenant.app.account_id, other_alice, v.web_endpoint),
                   account_api(403, 403)),
            Attack("other app's session on its own account, naming the victim's endpoint",
                   lambda: call(o.tenant.app.account_id, other_alice, v.web_endpoint), own_app),
        ]
        for endpoint in (v.web_endpoint, v.channel_endpoint, v.ws_endpoint):
            expected = account_api(200, 8510) if operation == "subscribe" else account_api(200)
            found.append(Attack(f"same-app {ATTACKER} on {VICTIM}'s endpoint", lambda e=endpoint: call(v.tenant.app.account_id, mallory, e), expected))
        return found

    return attacks


# -- POST /sessions and §3 device API ------------------------------------------------------------

def _sessions(s: Sides) -> list[Attack]:
    v, o, g = s.victim, s.other, s.gateway

    def other_apps_session_used_here() -> Any:
        status_code, body = g.http("POST /sessions", query={"api_key": o.tenant.secret_key}, body={"user_id": VICTIM})
        assert status_code == 201, body
        fields = {"session_id": body["session_id"], "endpoint": v.web_endpoint}
        return g.http("POST /{account_id}/push_unsubscribe", path_parameters={"account_id": str(v.tenant.app.account_id)}, body=fields)

    return [
        Attack("victim app's public key as api_key", lambda: g.http("POST /sessions", query={"api_key": v.tenant.public_key}, body={"user_id": VICTIM}),
               pushy(401, "INVALID_API_KEY")),
        Attack(f"{ATTACKER}'s session as api_key", lambda: g.http("POST /sessions", query={"api_key": v.tenant.session(ATTACKER)}, body={"user_id": VICTIM}),
               pushy(401, "INVALID_API_KEY")),
        Attack(f"a session the other app made for its {VICTIM}, used on the victim's account", other_apps_session_used_here, account_api(403, 403)),
    ]


def _device_headers(public_key: str, credential: str) -> dict[str, str]:
    return {"im-client-key": public_key, "im-authorization": credential}


def _me_subscribe(s: Sides) -> list[Attack]:
    v, o, g = s.victim, s.other, s.gateway
    mallory = _device_headers(v.tenant.public_key, v.tenant.session(ATTACKER))

    def web(endpoint: str, device_id: str = "mallory-laptop") -> dict[str, Any]:
        return {"type": "web", "deviceId": device_id, "subscription": web_subscription(endpoint, browser_keys())}

    route = "POST /me/subscribe"
    return [
        Attack(f"{ATTACKER} takes {VICTIM}'s web endpoint", lambda: g.http(route, headers=mallory, body=web(v.web_endpoint)),
               device_api(409, "DEVICE_OWNED_BY_ANOTHER_USER")),
        Attack(f"{ATTACKER} takes {VICTIM}'s channel endpoint", lambda: g.http(route, headers=mallory, body=web(v.channel_endpoint)),
               device_api(409, "DEVICE_OWNED_BY_ANOTHER_USER")),
        Attack(f"{ATTACKER} takes {VICTIM}'s iOS token", lambda: g.http(route, headers=mallory, body={"type": "ios", "deviceId": "m", "token": v.ios_token}),
               device_api(409, "DEVICE_OWNED_BY_ANOTHER_USER")),
        Attack(f"{ATTACKER} reuses {VICTIM}'s deviceId (a record of her own)",
               lambda: g.http(route, headers=mallory, body=web(fresh_endpoint("same-device-id"), v.web_device_id)), device_api(200)),
        Attack(f"victim app's key with the other app's {VICTIM} session",
               lambda: g.http(route, headers=_device_headers(v.tenant.public_key, o.tenant.session(VICTIM)), body=web(fresh_endpoint("x"))),
               device_api(401, "INVALID_TOKEN")),
        Attack(f"victim app's key with the other app's {VICTIM} JWT",
               lambda: g.http(route, headers=_device_headers(v.tenant.public_key, o.tenant.jwt(VICTIM)), body=web(fresh_endpoint("y"))),
               device_api(401, "INVALID_TOKEN")),
        Attack(f"other app's secret key acting for its {VICTIM} with the victim's iOS token (its own namespace)",
               lambda: g.http(route, headers={"im-api-key": o.tenant.secret_key}, body={"type": "ios", "deviceId": "p", "token": v.ios_token, "clientId": VICTIM}),
               device_api(200)),
    ]


def _me_unsubscribe(s: Sides) -> list[Attack]:
    v, o, g = s.victim, s.other, s.gateway
    mallory = _device_headers(v.tenant.public_key, v.tenant.session(ATTACKER))
    route = "POST /me/unsubscribe"

    def nothing_removed(answer: Any) -> bool:
        return device_api(200)(answer) and body_of(answer)["result"]["n"] == 0

    return [
        Attack(f"{ATTACKER} removes {VICTIM}'s web deviceId", lambda: g.http(route, headers=mallory, body={"type": "web", "deviceId": v.web_device_id}),
               nothing_removed),
        Attack(f"{ATTACKER} removes {VICTIM}'s iOS deviceId", lambda: g.http(route, headers=mallory, body={"type": "ios", "deviceId": v.ios_device_id}),
               nothing_removed),
        Attack(f"{ATTACKER} names {VICTIM} as clientId with a session",
               lambda: g.http(route, headers=mallory, body={"type": "ios", "deviceId": v.ios_device_id, "clientId": VICTIM}), nothing_removed),
        Attack(f"victim app's key with the other app's {VICTIM} session",
               lambda: g.http(route, headers=_device_headers(v.tenant.public_key, o.tenant.session(VICTIM)), body={"type": "ios", "deviceId": v.ios_device_id}),
               device_api(401, "INVALID_TOKEN")),
        Attack(f"other app's secret key acting for its {VICTIM} (its own namespace)",
               lambda: g.http(route, headers={"im-api-key": o.tenant.secret_key}, body={"type": "ios", "deviceId": v.ios_device_id, "clientId": VICTIM}),
               device_api(200)),
    ]


def _my_devices(s: Sides) -> list[Attack]:
    v, o, g = s.victim, s.other, s.gateway
    route = "GET /me/devices"

    def none_listed(answer: Any) -> bool:
        return device_api(200)(answer) and body_of(answer)["result"]["n"] == 0

    mallory = _device_headers(v.tenant.public_key, v.tenant.session(ATTACKER))
    return [
        Attack(f"{ATTACKER} lists her devices", lambda: g.http(route, headers=mallory), none_listed),
        Attack(f"{ATTACKER} names {VICTIM} as clientId with a session", lambda: g.http(route, headers=mallory, query={"clientId": VICTIM}),
               lambda answer: none_listed(answer) or 400 <= answer[0] < 500),
        Attack(f"victim app's key with the other app's {VICTIM} session",
               lambda: g.http(route, headers=_device_headers(v.tenant.public_key, o.tenant.session(VICTIM))), device_api(401, "INVALID_TOKEN")),
        Attack(f"other app's secret key for its {VICTIM} (its own devices only)",
               lambda: g.http(route, headers={"im-api-key": o.tenant.secret_key}, query={"clientId": VICTIM}),
               lambda answer: device_api(200)(answer) and body_of(answer)["result"]["n"] == len(o.tokens)),
    ]


# -- §4 topics and sending API (the app's backend: only another app's secret key is an attacker) --

def _backend(route_key: str, make: Callable[[Sides, str], dict[str, Any]], other_app_safe: Callable[[Any], bool]) -> Callable[[Sides], list[Attack]]:
    """Another app's secret key on the victim's object; the victim app's public key and a user's
    session in place of the secret key."""

    def attacks(s: Sides) -> list[Attack]:
        v, o, g = s.victim, s.other, s.gateway
        found = [Attack(f"other app's secret key{suffix}", lambda r=request: g.http(route_key, **r), other_app_safe)
                 for suffix, request in _requests(make, s, o.tenant.secret_key)]
        for who, key in (("victim app's public key", v.tenant.public_key), (f"{ATTACKER}'s session", v.tenant.session(ATTACKER))):
            request = _requests(make, s, key)[0][1]
            found.append(Attack(f"{who} as api_key", lambda r=request: g.http(route_key, **r), pushy(401, "INVALID_API_KEY")))
        return found

    return attacks


def _requests(make: Callable[[Sides, str], Any], s: Sides, key: str) -> list[tuple[str, dict[str, Any]]]:
    made = make(s, key)
    return [(f" ({name})", request) for name, request in made.items()] if "query" not in made else [("", made)]


def _per_token(body: Callable[[str], dict[str, Any]]) -> Callable[[Sides, str], dict[str, Any]]:
    return lambda s, key: {name: {"query": {"api_key": key}, "body": body(token)}
                           for name, token in zip(("web", "ios", "channel", "ws"), s.victim.tokens, strict=True)}


def _get_device(s: Sides, key: str) -> dict[str, Any]:
    return {name: {"query": {"api_key": key}, "path_parameters": {"token": token}}
            for name, token in zip(("web", "ios", "channel", "ws"), s.victim.tokens, strict=True)}


def _no_victim_topic(answer: Any) -> bool:
    return answer[0] == 200 and isinstance(body_of(answer).get("topics"), list)


def _no_subscribers(answer: Any) -> bool:
    return answer[0] == 200 and body_of(answer).get("subscribers") == []


def _push_to_victim(s: Sides, key: str) -> dict[str, Any]:
    notification = {"title": "t", "body": "b"}
    return {"tokens": {"query": {"api_key": key}, "body": {"to": s.victim.tokens, "notification": notification}},
            "user": {"query": {"api_key": key}, "body": {"to": f"/users/{VICTIM}", "notification": notification}},
            "topic": {"query": {"api_key": key}, "body": {"to": f"/topics/{s.victim.topic}", "notification": notification}}}


def _push(s: Sides) -> list[Attack]:
    """Accepted, since another app may push to its own users and tokens: the push is followed
    through fan-out, and none of the victim's devices may be among those it is queued for."""
    victim_tokens = set(s.victim.tokens)
    return _backend("POST /push", _push_to_victim, lambda answer: answer[0] == 200 and not victim_tokens & set(answer[2]))(s)


def _user(s: Sides, key: str) -> dict[str, Any]:
    return {"query": {"api_key": key}, "path_parameters": {"user_id": VICTIM}}


def _own_users_subscriptions(s: Sides) -> list[Attack]:
    """Another app's alice is a user of its own: her subscriptions, never the victim's, are listed."""
    return _backend("GET /users/{user_id}/subscriptions", _user,
                    lambda answer: answer[0] == 200 and len(body_of(answer).get("subscriptions", [])) == len(s.other.tokens))(s)


def _push_id(s: Sides, key: str) -> dict[str, Any]:
    return {"query": {"api_key": key}, "path_parameters": {"push_id": s.victim.push_id}}


# -- §5 channel subscriptions API --------------------------------------------------------------

def _channel(method: str) -> Callable[[Sides], list[Attack]]:
    route = f"{method} /user/v1/channels/{{channel_id}}/subscriptions"

    def attacks(s: Sides) -> list[Attack]:
        v, o, g = s.victim, s.other, s.gateway

        def call(public_key: str, user_key: str, channel_id: str, endpoint: str) -> Any:
            headers = {"x-notiflows-api-key": public_key, "x-notiflows-user-key": user_key}
            p256dh, auth = browser_keys()
            body = {"identifier": endpoint, "settings": {"p256dh": p256dh, "auth": auth}} if method == "POST" else {"identifier": endpoint}
            return g.http(route, path_parameters={"channel_id": channel_id}, headers=headers, body=None if method == "GET" else body)

        own = {"POST": channel_api(409, "conflict"), "GET": _only_own_items, "DELETE": status(204)}[method]
        found = [Attack(f"{ATTACKER}'s JWT on {VICTIM}'s {name} endpoint", lambda e=endpoint: call(v.tenant.public_key, v.tenant.jwt(ATTACKER), v.tenant.channel_id, e), own)
                 for name, endpoint in (("channel", v.channel_endpoint), ("web", v.web_endpoint), ("WebSocket", v.ws_endpoint))]
        found += [
            Attack("other app's key and JWT on the victim's channel",
                   lambda: call(o.tenant.public_key, o.tenant.jwt(VICTIM), v.tenant.channel_id, v.channel_endpoint), channel_api(404, "not_found")),
            Attack(f"victim app's key with the other app's {VICTIM} JWT",
                   lambda: call(v.tenant.public_key, o.tenant.jwt(VICTIM), v.tenant.channel_id, v.channel_endpoint), channel_api(401, "unauthenticated")),
            Attack(f"victim app's key with {ATTACKER}'s session instead of a JWT",
                   lambda: call(v.tenant.public_key, v.tenant.session(ATTACKER), v.tenant.channel_id, v.channel_endpoint), channel_api(401, "unauthenticated")),
        ]
        return found

    return attacks


def _only_own_items(answer: Any) -> bool:
    return answer[0] == 200 and body_of(answer).get("items") == []


ROUTE_ATTACKS: dict[str, Callable[[Sides], list[Attack]]] = {
    "GET /{account_id}/push_subscribe": _account("GET /{account_id}/push_subscribe", "subscribe"),
    "POST /{account_id}/push_subscribe": _account("POST /{account_id}/push_subscribe", "subscribe"),
    "GET /{account_id}/push_unsubscribe": _account("GET /{account_id}/push_unsubscribe", "unsubscribe"),
    "POST /{account_id}/push_unsubscribe": _account("POST /{account_id}/push_unsubscribe", "unsubscribe"),
    "POST /sessions": _sessions,
    "POST /me/subscribe": _me_subscribe,
    "POST /me/unsubscribe": _me_unsubscribe,
    "GET /me/devices": _my_devices,
    "GET /users/{user_id}/subscriptions": _own_users_subscriptions,
    "DELETE /users/{user_id}": _backend("DELETE /users/{user_id}", _user, lambda answer: answer[0] == 200 and body_of(answer).get("success") is True),
    "POST /topics/subscribe": _backend("POST /topics/subscribe", _per_token(lambda t: {"token": t, "topics": ["stolen"]}), pushy(400, "INVALID_DEVICE_TOKEN")),
    "POST /topics/unsubscribe": _backend("POST /topics/unsubscribe", _per_token(lambda t: {"token": t, "topics": ["*"]}), pushy(400, "INVALID_DEVICE_TOKEN")),
    "GET /topics": _backend("GET /topics", lambda s, key: {"query": {"api_key": key}}, _no_victim_topic),
    "GET /topics/{topic}": _backend("GET /topics/{topic}", lambda s, key: {"query": {"api_key": key}, "path_parameters": {"topic": s.victim.topic}}, _no_subscribers),
    "GET /devices/{token}": _backend("GET /devices/{token}", _get_device, pushy(400, "INVALID_DEVICE_TOKEN")),
    "POST /push": _push,
    "GET /pushes/{push_id}": _backend("GET /pushes/{push_id}", _push_id, pushy(404, "INVALID_PUSH_ID")),
    "DELETE /pushes/{push_id}": _backend("DELETE /pushes/{push_id}", _push_id, pushy(404, "INVALID_PUSH_ID")),
    "POST /user/v1/channels/{channel_id}/subscriptions": _channel("POST"),
    "GET /user/v1/channels/{channel_id}/subscriptions": _channel("GET"),
    "DELETE /user/v1/channels/{channel_id}/subscriptions": _channel("DELETE"),
    "$connect": connect_attacks,
    "$disconnect": disconnect_attacks,
    "auth": command_attacks("auth"),
    "push_get_vapid": command_attacks("push_get_vapid"),
    "push_subscribe": command_attacks("push_subscribe"),
    "push_unsubscribe": command_attacks("push_unsubscribe"),
    "$default": command_attacks("$default"),
}
