"""What a push becomes on FCM HTTP v1: the body of `POST /v1/projects/{project}/messages:send`.

- `notification` {title, body} -> `message.notification`; its icon and url, which FCM's
  cross-platform notification has no field for, go to `android.notification` (icon,
  click_action).
- `data` -> `message.data`, which FCM wants flat, string to string: an object's string values
  stay, its other values are sent as compact JSON; data that is not an object (a list, a
  number, a string) is sent JSON-encoded under the single key "data".
- `message.data.id` is always the push id: delivery is at least once, and the app drops a copy
  by it. A push whose data has its own "id", or a key FCM reserves (`from`, `notification`,
  `message_type`, `google.*`, `gcm.*`), is refused at POST /push by `check_fits`, like an
  oversize one: FCM would refuse it for every device, and silently renaming keys would hand
  the app data it did not send.
- `android.ttl` "<seconds>s", `android.priority` HIGH for urgency high and NORMAL otherwise,
  `android.collapse_key` when the push has one.

Pure: the API functions import this module to check sizes, so it imports no HTTP client."""

from __future__ import annotations

import json
from typing import Any

from pushgate.errors import InvalidValue, PayloadTooLarge

MAX_MESSAGE_BYTES = 4096  # FCM's limit for a message's notification and data together
PUSH_ID_KEY = "id"
NON_OBJECT_DATA_KEY = "data"
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type", PUSH_ID_KEY})
RESERVED_DATA_PREFIXES = ("google.", "gcm.")
_ABSENT = object()


class ReservedDataKey(InvalidValue):
    """The push's data uses a key that FCM or pushgate's push id already takes."""

    def __init__(self, key: str) -> None:
        super().__init__("data", f"the key {key!r} is reserved on FCM (from, notification, message_type, id, google.*, gcm.*)")
        self.key = key


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def is_reserved_data_key(key: str) -> bool:
    return key in RESERVED_DATA_KEYS or key.startswith(RESERVED_DATA_PREFIXES)


def flat_data(data: Any, push_id: str) -> dict[str, str]:
    """FCM's string-to-string data map for the push's `data` (or `_ABSENT`), with the push id."""
    flat: dict[str, str] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if is_reserved_data_key(key):
                raise ReservedDataKey(key)
            flat[key] = value if isinstance(value, str) else _compact(value)
    elif data is not _ABSENT:
        flat[NON_OBJECT_DATA_KEY] = _compact(data)
    flat[PUSH_ID_KEY] = push_id
    return flat


def build_message(
    push_fields: dict[str, Any], push_id: str, token: str, ttl: int, urgency: str, collapse_key: str | None
) -> dict[str, Any]:
    """`push_fields` is the push's payload without its id: {"notification"?, "data"?}.
    Raises ReservedDataKey for data FCM would refuse (only pushes older than the check reach it)."""
    message: dict[str, Any] = {"token": token}
    android: dict[str, Any] = {"ttl": f"{ttl}s", "priority": "HIGH" if urgency == "high" else "NORMAL"}
    notification = push_fields.get("notification")
    if notification:
        message["notification"] = {"title": notification["title"], "body": notification["body"]}
        android_notification = {}
        if notification.get("icon"):
            android_notification["icon"] = notification["icon"]
        if notification.get("url"):
            android_notification["click_action"] = notification["url"]
        if android_notification:
            android["notification"] = android_notification
    message["data"] = flat_data(push_fields.get("data", _ABSENT), push_id)
    if collapse_key is not None:
        android["collapse_key"] = collapse_key
    message["android"] = android
    return {"message": message}


class MessageTemplate:
    """One push's FCM request body for any device: every device of a batch gets the same message
    but its token, so the message is built, measured and encoded once per batch, and each device's
    body is that encoding with its token set in (the token is the only per-device part)."""

    _SLOT = "\x00token\x00"  # cannot be a registration token (printable, no spaces)

    def __init__(self, push_fields: dict[str, Any], push_id: str, ttl: int, urgency: str, collapse_key: str | None) -> None:
        body = build_message(push_fields, push_id, self._SLOT, ttl, urgency, collapse_key)  # ReservedDataKey
        self.payload_bytes = payload_bytes(body["message"])
        encoded = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        self._before, _, self._after = encoded.partition(json.dumps(self._SLOT).encode())

    def body_for(self, token: str) -> bytes:
        return self._before + json.dumps(token, ensure_ascii=False).encode() + self._after


def payload_bytes(message: dict[str, Any]) -> int:
    """The size FCM's limit applies to, as pushgate measures it: the compact JSON of the data and
    of both notifications. Google does not publish its exact count; JSON's quotes and escapes
    make this one larger than any count of the bare strings, so what fits here fits there."""
    measured: dict[str, Any] = {}
    for name in ("notification", "data"):
        if name in message:
            measured[name] = message[name]
    android_notification = message.get("android", {}).get("notification")
    if android_notification:
        measured["android"] = {"notification": android_notification}
    return len(_compact(measured).encode("utf-8"))


def check_fits(push_fields: dict[str, Any], push_id_length: int) -> None:
    """POST /push's check, before the push id exists: measured with an id of the longest length
    the service issues. Raises ReservedDataKey (an InvalidValue on "data") or PayloadTooLarge."""
    body = build_message(push_fields, "p" * push_id_length, token="", ttl=0, urgency="normal", collapse_key=None)
    size = payload_bytes(body["message"])
    if size > MAX_MESSAGE_BYTES:
        raise PayloadTooLarge(f"the FCM message would be {size} bytes; FCM takes at most {MAX_MESSAGE_BYTES}")
