"""The credentials a fuzzed request carries, per surface (docs/api.md §0-§5): the demo app's valid
ones on most cases, so that generated inputs reach the handlers' validation and the services behind
it, and on the others a missing, malformed, wrong-kind, expired or forged one, which must be refused
with the surface's documented 401/403 and nothing else.

Each surface has a list of named variants; the fuzz test draws one per case and applies it to the
generated case, replacing whatever credentials schemathesis generated for the security schemes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives import serialization

from tests.e2e.local_stack import LocalStackProcess
from tests.keys import hostile_user_jwts, user_jwt

FUZZ_USER = "fuzz-user"
# Of every VALID_SHARE + 1 cases, VALID_SHARE carry valid credentials (and, where a path names an
# account or a channel, the real one).
VALID_SHARE = 3

Variant = Callable[[Any], None]  # applies one credential choice to a schemathesis Case, in place


@dataclass(frozen=True)
class SurfaceCredentials:
    account_id: str
    channel_id: str
    secret_key: str
    public_key: str
    session_id: str
    user_jwt: str
    hostile_jwts: dict[str, str]


def credentials_for(stack: LocalStackProcess) -> SurfaceCredentials:
    demo = stack.demo()
    private_pem = demo["user_token_private_key"]
    public_pem = (
        serialization.load_pem_private_key(private_pem.encode(), password=None)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return SurfaceCredentials(
        account_id=str(demo["account_id"]),
        channel_id=demo["channels"][0]["id"],
        secret_key=demo["secret_key"],
        public_key=demo["public_key"],
        session_id=stack.create_session(FUZZ_USER),
        # Long-lived enough for a `make fuzz` run of several hours.
        user_jwt=user_jwt(private_pem, FUZZ_USER, ttl=24 * 3600),
        hostile_jwts=hostile_user_jwts(private_pem, public_pem, FUZZ_USER),
    )


def surface_of(path: str) -> str:
    if path.startswith("/user/v1/"):
        return "channel"
    if path.startswith("/me/"):
        return "device"
    if path.startswith("/{account_id}/"):
        return "account"
    return "server"


def _set(case: Any, location: str, values: dict[str, str | None]) -> None:
    """Set (or, for None, remove) query parameters or headers of a case, case-insensitively for headers."""
    current = dict(getattr(case, location) or {})
    for name, value in values.items():
        for existing in [key for key in current if key.lower() == name.lower()]:
            del current[existing]
        if value is not None:
            current[name] = value
    setattr(case, location, current)


def _path(case: Any, name: str, value: str | None) -> None:
    """Put the real account or channel id in the path (None: keep the generated one)."""
    if value is not None and name in (case.path_parameters or {}):
        case.path_parameters = {**case.path_parameters, name: value}


def variants(surface: str, creds: SurfaceCredentials) -> list[tuple[str, Variant]]:
    """(name, variant) pairs; the valid one first, repeated VALID_SHARE times to weigh it."""
    if surface == "server":
        def server(key: str | None) -> Variant:
            return lambda case: _set(case, "query", {"api_key": key})

        valid = server(creds.secret_key)
        hostile = {
            "no api_key": server(None),
            "empty api_key": server(""),
            "public key as api_key": server(creds.public_key),
            "unknown api_key": server("sk_" + "A" * 43),
        }
    elif surface == "account":
        def account(session: str | None, account_id: str | None) -> Variant:
            def apply(case: Any) -> None:
                _set(case, "query", {"session_id": session})
                _path(case, "account_id", account_id)

            return apply

        valid = account(creds.session_id, creds.account_id)
        hostile = {
            "no session_id": account(None, creds.account_id),
            "unknown session_id": account("s" * 43, creds.account_id),
            "session of another account": account(creds.session_id, str(int(creds.account_id) + 1000)),
            "session with a generated account_id": account(creds.session_id, None),
            "user JWT for the account": account(creds.user_jwt, creds.account_id),
            **{f"{name} JWT": account(token, creds.account_id) for name, token in creds.hostile_jwts.items()},
        }
    elif surface == "device":
        def device(client_key: str | None, authorization: str | None, api_key: str | None = None) -> Variant:
            return lambda case: _set(
                case, "headers", {"IM-CLIENT-KEY": client_key, "IM-Authorization": authorization, "IM-API-KEY": api_key}
            )

        valid = device(creds.public_key, creds.session_id)
        hostile = {
            "no credentials": device(None, None),
            "no IM-Authorization": device(creds.public_key, None),
            "secret key as IM-CLIENT-KEY": device(creds.secret_key, creds.session_id),
            "unknown session": device(creds.public_key, "s" * 43),
            "Bearer user JWT": device(creds.public_key, f"Bearer {creds.user_jwt}"),
            "IM-API-KEY (clientId from the body)": device(None, None, creds.secret_key),
            "public key as IM-API-KEY": device(None, None, creds.public_key),
            **{f"{name} JWT": device(creds.public_key, token) for name, token in creds.hostile_jwts.items()},
        }
    else:
        def channel(api_key: str | None, user_key: str | None, channel_id: str | None, user_id: str | None = None) -> Variant:
            def apply(case: Any) -> None:
                _set(case, "headers", {"x-notiflows-api-key": api_key, "x-notiflows-user-key": user_key, "x-notiflows-user-id": user_id})
                _path(case, "channel_id", channel_id)

            return apply

        valid = channel(creds.public_key, creds.user_jwt, creds.channel_id)
        hostile = {
            "no credentials": channel(None, None, creds.channel_id),
            "no user key": channel(creds.public_key, None, creds.channel_id),
            "secret key as api key": channel(creds.secret_key, creds.user_jwt, creds.channel_id),
            "session id as user key": channel(creds.public_key, creds.session_id, creds.channel_id),
            "user id header outside development mode": channel(creds.public_key, None, creds.channel_id, FUZZ_USER),
            "generated channel_id": channel(creds.public_key, creds.user_jwt, None),
            **{f"{name} JWT": channel(creds.public_key, token, creds.channel_id) for name, token in creds.hostile_jwts.items()},
        }
    # The valid variant is weighed against all the hostile ones together.
    return [("valid", valid)] * (VALID_SHARE * len(hostile)) + list(hostile.items())
