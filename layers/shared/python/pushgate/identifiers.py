"""Random credentials and the one-way hashes under which they are stored.

Secrets (secret keys, session ids) and public keys are looked up by SHA-256 of the value: a
leaked table dump holds no usable credential, and lookups stay a single GetItem."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

SECRET_KEY_PREFIX = "sk_"
PUBLIC_KEY_PREFIX = "pk_"
SESSION_PREFIX = "ses_"


def random_token(prefix: str, nbytes: int) -> str:
    return prefix + secrets.token_urlsafe(nbytes)


def new_secret_key() -> str:
    return random_token(SECRET_KEY_PREFIX, 32)  # 43 url-safe chars


def new_public_key() -> str:
    return random_token(PUBLIC_KEY_PREFIX, 24)  # 32 url-safe chars


def new_session_id() -> str:
    return random_token(SESSION_PREFIX, 32)


def new_app_id() -> str:
    return "app_" + secrets.token_hex(8)


def new_channel_id() -> str:
    return str(uuid.uuid4())


def credential_hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same_hash(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def token_hash(token: str) -> str:
    """Key of a device: bounded length whatever the endpoint, and the raw URL never in a key."""
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode("utf-8")).digest()).rstrip(b"=").decode()[:32]


def log_id(value: str) -> str:
    """A short, stable, non-reversible label for logs (docs/api.md §6: hashed identifiers only)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:12]
