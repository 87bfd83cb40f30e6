"""The vocabulary of the BOLA matrix: the two sides of an attack, an attack, and the safe answers
of each surface's envelope (docs/api.md §1-§5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.security.bola_world import Gateway, Victim


@dataclass(frozen=True)
class Sides:
    """`victim`'s app is attacked by its own other user (mallory) and by `other`, a second app
    with a user of the same name (alice)."""

    gateway: Gateway
    victim: Victim
    other: Victim


@dataclass(frozen=True)
class Attack:
    name: str
    send: Callable[[], Any]
    safe: Callable[[Any], bool]  # the documented refusal, or an answer about the attacker's own objects only


def body_of(answer: Any) -> dict[str, Any]:
    return answer[1] if isinstance(answer[1], dict) else {}


def status(expected: int) -> Callable[[Any], bool]:
    return lambda answer: answer[0] == expected


def pushy(expected: int, code: str) -> Callable[[Any], bool]:  # §4, POST /sessions: {"code", "error"}
    return lambda answer: answer[0] == expected and body_of(answer).get("code") == code


def device_api(expected: int, code: str | None = None) -> Callable[[Any], bool]:  # §3: {"RC", "RM", "error": {"code"}}
    def safe(answer: Any) -> bool:
        body = body_of(answer)
        return answer[0] == expected and body.get("RC") == (0 if expected == 200 else expected) and (code is None or body["error"]["code"] == code)
    return safe


def channel_api(expected: int, code: str | None = None) -> Callable[[Any], bool]:  # §5: {"error": {"code", "status"}}
    return lambda answer: answer[0] == expected and (code is None or body_of(answer).get("error", {}).get("code") == code)


def account_api(expected: int, error_no: int | None = None) -> Callable[[Any], bool]:  # §2: HTTP 200 with error_no for field errors
    def safe(answer: Any) -> bool:
        body = body_of(answer)
        if error_no is None:
            return answer[0] == expected and body.get("data", {}).get("operation_status") == "SUCCESS"
        return answer[0] == expected and body.get("error_no") == error_no
    return safe


def ws_reply(expected: dict[str, Any]) -> Callable[[Any], bool]:
    return lambda reply: all(reply.get(key) == value for key, value in expected.items())


def fresh_endpoint(name: str) -> str:
    return f"https://fcm.googleapis.com/fcm/send/attacker-{name}"
