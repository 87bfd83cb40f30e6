"""The APNs provider token: an ES256 JWT, header `{alg: ES256, kid: <key id>}`, claims `{iss: <team
id>, iat}`, signed with the team's .p8 key (PKCS#8, P-256). One per (team, key) per container.

Apple refuses a token more than an hour old (403 ExpiredProviderToken) and a token that changes
more often than every 20 minutes (429 TooManyProviderTokenUpdates, and the connection is unusable
for a while). So a token is reused by every request of every batch and re-signed only after
REFRESH_SECONDS, 40 minutes: 20 minutes clear of each limit, whichever way the clocks drift. When
APNs calls a token expired anyway, `invalidate` drops it, once however many requests were refused
with it, and the next request signs a new one."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.delivery.errors import ConfigurationError

REFRESH_SECONDS = 40 * 60
ALGORITHM = "ES256"


def load_provider_key(pem: str) -> ec.EllipticCurvePrivateKey:
    """The .p8 file's key. The error never quotes the key."""
    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError("APNs provider key is not a valid unencrypted PEM key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError("APNs provider key must be an EC key on P-256 (the .p8 file)")
    return key


@dataclass(frozen=True)
class _Signed:
    token: str = field(repr=False)
    issued_at: float
    key_fingerprint: str  # a replaced .p8 under the same key id gets a new token at once


class ProviderTokens:
    """Thread-safe; one per container. `signings` counts the JWTs signed, for tests and metrics."""

    def __init__(self, clock: Callable[[], float] = time.time, refresh_seconds: float = REFRESH_SECONDS) -> None:
        self._clock = clock
        self._refresh_seconds = refresh_seconds
        self._tokens: dict[tuple[str, str], _Signed] = {}
        # Held while signing: threads that miss together wait for one signature, not make several.
        self._lock = threading.Lock()
        self.signings = 0

    def __repr__(self) -> str:
        return f"ProviderTokens(keys={len(self._tokens)}, signings={self.signings})"

    def token_for(self, team_id: str, key_id: str, private_key_pem: str) -> str:
        fingerprint = hashlib.sha256(private_key_pem.encode("utf-8")).hexdigest()
        with self._lock:
            now = self._clock()
            signed = self._tokens.get((team_id, key_id))
            if signed is not None and signed.key_fingerprint == fingerprint and now - signed.issued_at < self._refresh_seconds:
                return signed.token
            key = load_provider_key(private_key_pem)
            token = jwt.encode(
                {"iss": team_id, "iat": int(now)},
                key,
                algorithm=ALGORITHM,
                headers={"kid": key_id, "typ": None},  # exactly {alg, kid}, as Apple documents it
            )
            self._tokens[(team_id, key_id)] = _Signed(token, now, fingerprint)
            self.signings += 1
            return token

    def invalidate(self, token: str) -> bool:
        """APNs answered ExpiredProviderToken to `token`. True if this call dropped it; False if it
        was dropped or replaced already, so a batch refused a hundred times re-signs once."""
        with self._lock:
            for team_and_key, signed in self._tokens.items():
                if signed.token == token:
                    del self._tokens[team_and_key]
                    return True
            return False
