"""Real key material for tests: browser-like subscription keys and user-token key pairs."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import os
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_keys() -> tuple[str, str]:
    """(p256dh, auth) as a browser's PushSubscription.toJSON() gives them."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url(point), b64url(os.urandom(16))


def rsa_key_pair() -> tuple[str, str]:
    """(private PEM, public PEM)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


@functools.lru_cache(maxsize=64)
def _signing_key(private_pem: str) -> rsa.RSAPrivateKey:
    """Parsing a PEM RSA key (with its consistency checks) costs more than signing: done once per key."""
    return serialization.load_pem_private_key(private_pem.encode(), password=None)


def user_jwt(private_pem: str, sub: str | None = "alice", ttl: int = 600, now: float | None = None, **claims: object) -> str:
    issued = int(now if now is not None else time.time())
    payload: dict[str, object] = {"iat": issued, "exp": issued + ttl, **claims}
    if sub is not None:
        payload["sub"] = sub
    return jwt.encode(payload, _signing_key(private_pem), algorithm="RS256")


def _b64json(value: object) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


@functools.cache
def _stranger_key() -> str:
    return rsa_key_pair()[0]


def hostile_user_jwts(private_pem: str, public_pem: str, sub: str = "alice") -> dict[str, str]:
    """User JWTs that must all be refused (docs/api.md §0): RS256 only, `sub` and `exp` required and
    enforced, signature by one of the app's keys."""
    now = int(time.time())
    claims = {"sub": sub, "iat": now, "exp": now + 600}
    valid = user_jwt(private_pem, sub)
    header, _, signature = valid.split(".")
    hs_input = f"{_b64json({'alg': 'HS256', 'typ': 'JWT'})}.{_b64json(claims)}"
    hs_signature = hmac.new(public_pem.encode(), hs_input.encode(), hashlib.sha256).digest()
    return {
        "expired": user_jwt(private_pem, sub, ttl=-120),
        "alg none": f"{_b64json({'alg': 'none', 'typ': 'JWT'})}.{_b64json(claims)}.",
        "HS256 keyed with the public key": f"{hs_input}.{b64url(hs_signature)}",
        "signed by another key": user_jwt(_stranger_key(), sub),
        "payload swapped": f"{header}.{_b64json({**claims, 'sub': 'mallory'})}.{signature}",
        "no sub": user_jwt(private_pem, None),
        "no exp": jwt.encode({"sub": sub, "iat": now}, _signing_key(private_pem), algorithm="RS256"),
        "not yet valid": user_jwt(private_pem, sub, nbf=now + 3600),
        "garbage": "a.b.c",
    }
