"""The fake APNs's provider-token check, as Apple describes it: an ES256 JWT whose `kid` and `iss`
name a registered key, verified once per distinct token, at most an hour old, and on each
connection a new token for the same (team, key) no sooner than 20 minutes after the last one
(`TooManyProviderTokenUpdates`; per connection, as Apple's forum answers say: another server's
token on its own connection is no update)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

TOKEN_LIFETIME_SECONDS = 3600
TOKEN_UPDATE_INTERVAL_SECONDS = 20 * 60


class Refusal(Exception):
    """An APNs error answer: status, `{"reason", **extra}` and, for 429, an optional Retry-After."""

    def __init__(self, status: int, reason: str, retry_after: int | None = None, **extra: Any) -> None:
        super().__init__(reason)
        self.status, self.reason, self.retry_after, self.extra = status, reason, retry_after, extra


@dataclass(frozen=True)
class VerifiedToken:
    team_id: str
    key_id: str
    issued_at: int


class ProviderTokenVerifier:
    """Thread-safe. `key_resolver` is asked about a (team, key id) not registered; it registers
    the key (and its topics) and returns True if it found one (the local stack's channels)."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[tuple[str, str], Any] = {}
        self._verified: dict[str, VerifiedToken] = {}
        self._first_seen: dict[tuple[Any, str, str], dict[str, float]] = {}  # (connection, team, key) -> token -> when
        self.key_resolver: Callable[[str, str], bool] | None = None
        self.signature_checks = 0
        self.token_updates = 0  # a new provider token replacing an earlier one of the same (team, key) on a connection

    def register_key(self, team_id: str, key_id: str, public_key_pem: str) -> None:
        with self._lock:
            self._keys[(team_id, key_id)] = serialization.load_pem_public_key(public_key_pem.encode())

    @property
    def tokens_seen(self) -> int:
        """Distinct provider tokens whose signature verified."""
        with self._lock:
            return len(self._verified)

    def authenticate(self, authorization: str | None, connection: tuple[Any, ...]) -> VerifiedToken:
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Refusal(403, "MissingProviderToken")
        token = token.strip()
        with self._lock:
            verified = self._verified.get(token)
        if verified is None:
            verified = self.verify(token)
        now = self._clock()
        if now - verified.issued_at > TOKEN_LIFETIME_SECONDS:
            raise Refusal(403, "ExpiredProviderToken")
        with self._lock:
            # Per connection, as at Apple: another server's token, on its own connection, is no update.
            seen = self._first_seen.setdefault((connection, verified.team_id, verified.key_id), {})
            if token not in seen:
                if seen and now - max(seen.values()) < TOKEN_UPDATE_INTERVAL_SECONDS:
                    raise Refusal(429, "TooManyProviderTokenUpdates")
                if seen:
                    self.token_updates += 1
                seen[token] = now
        return verified

    def verify(self, token: str) -> VerifiedToken:
        """Signature and claims, once per distinct token (APNs, too, does not verify a token per request)."""
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.InvalidTokenError:
            raise Refusal(403, "InvalidProviderToken") from None
        team_id, key_id, issued_at = claims.get("iss"), header.get("kid"), claims.get("iat")
        if header.get("alg") != "ES256" or not isinstance(key_id, str) or not isinstance(team_id, str):
            raise Refusal(403, "InvalidProviderToken")
        if isinstance(issued_at, bool) or not isinstance(issued_at, int):
            raise Refusal(403, "InvalidProviderToken")
        with self._lock:
            key = self._keys.get((team_id, key_id))
        if key is None and self.key_resolver is not None and self.key_resolver(team_id, key_id):
            with self._lock:
                key = self._keys.get((team_id, key_id))
        if key is None:
            raise Refusal(403, "InvalidProviderToken")
        with self._lock:
            self.signature_checks += 1
        try:
            # The fake's clock judges iat, not PyJWT's (which reads the machine's).
            jwt.decode(token, key, algorithms=["ES256"], options={"verify_iat": False, "verify_exp": False, "verify_nbf": False})
        except jwt.InvalidTokenError:
            raise Refusal(403, "InvalidProviderToken") from None
        verified = VerifiedToken(team_id, key_id, issued_at)
        with self._lock:
            self._verified[token] = verified
        return verified
