"""Key pairs made when an app is created: VAPID (P-256) for its webpush channel and an RS256
development key for user JWTs."""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pushgate.validation import b64url_encode


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public: str  # PEM for RSA; base64url uncompressed point for VAPID


def new_vapid_key_pair() -> KeyPair:
    private = ec.generate_private_key(ec.SECP256R1())
    public_point = private.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return KeyPair(private_pem=pem.decode(), public=b64url_encode(public_point))


def new_user_token_key_pair() -> KeyPair:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return KeyPair(private_pem=pem.decode(), public=public.decode())
