"""Real key material for tests: browser-like subscription keys and user-token key pairs."""

from __future__ import annotations

import base64
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


def user_jwt(private_pem: str, sub: str | None = "alice", ttl: int = 600, now: float | None = None, **claims: object) -> str:
    issued = int(now if now is not None else time.time())
    payload: dict[str, object] = {"iat": issued, "exp": issued + ttl, **claims}
    if sub is not None:
        payload["sub"] = sub
    return jwt.encode(payload, private_pem, algorithm="RS256")
