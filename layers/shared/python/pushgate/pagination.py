"""Opaque pagination cursors: base64url of the DynamoDB key to continue from. They are checked on
the way back in (the repository verifies they belong to the listing asked for)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pushgate.errors import InvalidCursor


def encode_cursor(key: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":"), sort_keys=True).encode()).rstrip(b"=").decode()


def decode_cursor(cursor: object) -> dict[str, str] | None:
    if cursor is None or cursor == "":
        return None
    if not isinstance(cursor, str) or len(cursor) > 2048:
        raise InvalidCursor()
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError) as error:
        raise InvalidCursor() from error
    if not isinstance(key, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in key.items()):
        raise InvalidCursor()
    return key
