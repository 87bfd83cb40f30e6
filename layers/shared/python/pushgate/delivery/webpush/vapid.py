"""VAPID (RFC 8292): the `Authorization: vapid t=<JWT>, k=<key>` header of every push request.

One signed token per push-service origin is reused until shortly before it expires (RFC 8292 §5
encourages reuse; signing per message would be most of the sender's CPU). The claims are built
fresh for every signature, so one origin's `aud` can never leak into another's token (the
pywebpush `webpush()` helper mutates the caller's claims dict: pywebpush #79, #130).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from pushgate.delivery.errors import ConfigurationError
from pushgate.urls import DEFAULT_PORTS, authority
from pushgate.validation import b64url_encode

TOKEN_LIFETIME = 12 * 3600  # RFC 8292 §2 allows 24 h; 12 h leaves room for clock skew
REFRESH_MARGIN = 5 * 60  # re-sign this long before exp, so no request carries a token about to expire
MAX_CACHED_ORIGINS = 1024  # push-service origins are few; this only bounds memory

_JWT_HEADER = b64url_encode(b'{"typ":"JWT","alg":"ES256"}')
_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())

# Push services (Apple first) refuse contacts they cannot parse or that point nowhere:
# "mailto: <x@y>" and "mailto:x@localhost" both get 403 BadJwtToken (reference §3).
_DOMAIN = r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}"
_MAILTO = re.compile(r"mailto:[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@(" + _DOMAIN + r")", re.IGNORECASE)
_HTTPS = re.compile(r"https://(" + _DOMAIN + r")(?::\d{1,5})?(?:/[\x21-\x7e]*)?", re.IGNORECASE)
_NOWHERE_DOMAINS = ("localhost", "local", "invalid", "internal", "test")


def check_subject(subject: object) -> str:
    """The VAPID `sub` contact (RFC 8292 §2.1): `mailto:` with a real-looking address, or an https
    URL. py_vapid's own check accepts "mailto: <ops@example.com>" and rejects https URLs with a
    path, so it is not used."""
    match = (_MAILTO.fullmatch(subject) or _HTTPS.fullmatch(subject)) if isinstance(subject, str) else None
    if match is None:
        raise ConfigurationError("VAPID subject must be mailto:user@domain or an https:// URL")
    domain = match.group(1).lower()
    if domain.rsplit(".", 1)[-1] in _NOWHERE_DOMAINS:
        raise ConfigurationError("VAPID subject must name a reachable contact, not a local domain")
    return match.string


def load_private_key(pem: str | bytes) -> ec.EllipticCurvePrivateKey:
    """Parse the VAPID key once, at cold start. The error never quotes the key."""
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise ConfigurationError("VAPID private key is not a valid unencrypted PEM key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ConfigurationError("VAPID private key must be an EC key on P-256")
    return key


def origin_of(endpoint: str) -> str:
    """`aud` for an endpoint: its origin, scheme://host[:port], no path, no trailing slash (RFC 8292 §2)."""
    parts = authority(*urlsplit(endpoint)[:2])
    scheme, host, port = parts.scheme, parts.hostname or "", parts.port
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}" if port in (None, DEFAULT_PORTS.get(scheme)) else f"{scheme}://{host}:{port}"


@dataclass(frozen=True)
class _CachedHeader:
    value: str
    refresh_at: float


class VapidSigner:
    """Builds and caches the VAPID header per push-service origin. Thread-safe: `send_many` calls
    it from several threads, and an origin is still signed once per token lifetime."""

    def __init__(self, private_key_pem: str | bytes, subject: str, clock: Callable[[], float] = time.time) -> None:
        self._key = load_private_key(private_key_pem)
        self._subject = check_subject(subject)
        self._clock = clock
        public_point = self._key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        self.public_key = b64url_encode(public_point)  # k= of the header: the 65-byte point, base64url
        self._cache: dict[str, _CachedHeader] = {}
        self._lock = threading.Lock()
        self.signatures = 0  # how many tokens were signed; lets tests and metrics see the cache work

    def __repr__(self) -> str:
        return f"VapidSigner(public_key={self.public_key[:12]}…, origins={len(self._cache)})"

    def header(self, endpoint_origin: str, now: float | None = None) -> str:
        """The Authorization value for requests to `endpoint_origin` (as given by `origin_of`)."""
        now = self._clock() if now is None else now
        cached = self._cache.get(endpoint_origin)
        if cached is not None and now < cached.refresh_at:
            return cached.value
        with self._lock:  # one signature per origin, even when many threads miss at once
            cached = self._cache.get(endpoint_origin)
            if cached is not None and now < cached.refresh_at:
                return cached.value
            expires = int(now) + TOKEN_LIFETIME
            value = f"vapid t={self._sign(endpoint_origin, expires)}, k={self.public_key}"
            if len(self._cache) >= MAX_CACHED_ORIGINS:
                del self._cache[min(self._cache, key=lambda origin: self._cache[origin].refresh_at)]
            self._cache[endpoint_origin] = _CachedHeader(value, expires - REFRESH_MARGIN)
            return value

    def _sign(self, audience: str, expires: int) -> str:
        # A new dict per token: nothing is shared between origins or between refreshes.
        claims = {"aud": audience, "exp": expires, "sub": self._subject}
        # Sorted keys: Chrome was reported to require them (py_vapid jwt.py).
        payload = b64url_encode(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
        signing_input = f"{_JWT_HEADER}.{payload}"
        r, s = decode_dss_signature(self._key.sign(signing_input.encode("ascii"), _ECDSA_SHA256))
        self.signatures += 1
        # JWS ES256 wants the raw 64-byte r||s, not DER (RFC 7518 §3.4).
        return f"{signing_input}.{b64url_encode(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
