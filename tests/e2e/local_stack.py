"""The local stack as the tests start it (pushgate_local.process: as `make run` does, in a subprocess,
on free ports), and a browser's push subscription. The fixtures are in conftest.py."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.validation import b64url_encode
from pushgate_local.process import (
    LOOPBACK_PUSH_HOST,
    REPO,
    START_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    LocalStackProcess,
    StackFailed,
    stack_environment,
)

__all__ = ["LOOPBACK_PUSH_HOST", "REPO", "START_TIMEOUT_SECONDS", "STOP_TIMEOUT_SECONDS", "LocalStackProcess", "StackFailed",
           "stack_environment", "BrowserSubscription", "new_browser_keys", "new_subscription"]


# -- a browser's push subscription -------------------------------------------------------------


@dataclass(frozen=True)
class BrowserSubscription:
    endpoint: str
    p256dh: str
    auth: str

    def params(self, session_id: str) -> dict[str, str]:
        return {"session_id": session_id, "endpoint": self.endpoint, "key_p256dh": self.p256dh, "key_auth": self.auth}


def new_browser_keys() -> tuple[str, str]:
    """What a browser's PushSubscription carries: a P-256 public key and a 16-byte auth secret."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url_encode(point), b64url_encode(os.urandom(16))


def new_subscription(endpoint: str | None = None) -> BrowserSubscription:
    p256dh, auth = new_browser_keys()
    return BrowserSubscription(endpoint or f"https://fcm.googleapis.com/fcm/send/{uuid.uuid4()}", p256dh, auth)
