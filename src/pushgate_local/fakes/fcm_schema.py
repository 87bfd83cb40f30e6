"""The shape of an FCM HTTP v1 send request, as the fake FCM checks it, and Google's error bodies.
Pure, so that it can be read and tested on its own; `pushgate_local.fakes.fcm` serves it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST_TYPE = "type.googleapis.com/google.rpc.BadRequest"
MAX_PAYLOAD_BYTES = 4096
MAX_TTL_SECONDS = 28 * 86_400
_TTL = re.compile(r"^(\d+)(\.\d{1,9})?s$")
_HTTP_STATUS = {"INVALID_ARGUMENT": 400, "UNAUTHENTICATED": 401, "PERMISSION_DENIED": 403, "NOT_FOUND": 404,
                "RESOURCE_EXHAUSTED": 429, "INTERNAL": 500, "UNAVAILABLE": 503}

# The fields of a send request, as FCM's protobuf schema names them (snake_case; Google also takes
# camelCase, the fake does not). A kind is a schema of its own or one of the leaf kinds below.
STRING, BOOL, OBJECT, ANY = "TYPE_STRING", "TYPE_BOOL", "object", "any"
STRING_MAP, DURATION, PRIORITY = "map<string, string>", "google.protobuf.Duration", "AndroidMessagePriority"
SCHEMAS: dict[str, dict[str, str]] = {
    "body": {"message": "message", "validate_only": BOOL},
    "message": {"name": STRING, "token": STRING, "topic": STRING, "condition": STRING, "data": STRING_MAP,
                "notification": "notification", "android": "android", "apns": OBJECT, "webpush": OBJECT, "fcm_options": "fcm_options"},
    "notification": {"title": STRING, "body": STRING, "image": STRING},
    "android": {"collapse_key": STRING, "priority": PRIORITY, "ttl": DURATION, "restricted_package_name": STRING,
                "data": STRING_MAP, "notification": "android_notification", "fcm_options": "fcm_options",
                "direct_boot_ok": BOOL, "bandwidth_constrained_ok": BOOL, "restricted_satellite_ok": BOOL},
    "android_notification": {
        **dict.fromkeys("title body icon color sound tag click_action body_loc_key title_loc_key channel_id ticker image"
                        " event_time notification_priority visibility".split(), STRING),
        **dict.fromkeys("body_loc_args title_loc_args sticky local_only default_sound default_vibrate_timings"
                        " default_light_settings vibrate_timings notification_count light_settings bypass_proxy_notification"
                        " proxy".split(), ANY)},
    "fcm_options": {"analytics_label": STRING},
}
# Firebase's documented reserved data keys. "notification" is documented too, but the API takes it
# (kreait/firebase-php 5.17.1 had to stop refusing it), so the fake takes it as well.
RESERVED_DATA_KEYS = frozenset({"from", "message_type"})
RESERVED_DATA_PREFIXES = ("google.", "gcm.")


class Refused(Exception):
    """A request the fake refuses; carries the answer."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def google_error(status: str, message: str, error_code: str | None = None, field: str | None = None,
                 headers: dict[str, str] | None = None, http_status: int | None = None) -> Refused:
    details: list[dict[str, Any]] = []
    if error_code:
        details.append({"@type": FCM_ERROR_TYPE, "errorCode": error_code})
    if field:
        details.append({"@type": BAD_REQUEST_TYPE, "fieldViolations": [{"field": field, "description": message}]})
    code = http_status or _HTTP_STATUS[status]
    error: dict[str, Any] = {"code": code, "message": message, "status": status}
    if details:
        error["details"] = details
    return Refused(code, {"error": error}, headers)


def invalid(field: str, message: str) -> Refused:
    return google_error("INVALID_ARGUMENT", message, field=field)


# -- the shape of a send request (pure, so that it can be read and tested on its own) ---------------


def check_send_body(body: Any) -> dict[str, Any]:
    """The message of a valid send body; raises Refused naming the first field that is wrong."""
    _check(body, "body", "")
    message = body.get("message")
    if message is None:
        raise invalid("message", "Invalid JSON payload received: message is required")
    targets = [name for name in ("token", "topic", "condition") if name in message]
    if len(targets) != 1 or not message[targets[0]]:
        raise invalid("message", f"Exactly one of token, topic or condition must be given, not {targets or 'none'}")
    size = payload_bytes(message)
    if size > MAX_PAYLOAD_BYTES:
        too_big = f"Message is too big: {size} bytes of data and notification, at most {MAX_PAYLOAD_BYTES}"
        raise google_error("INVALID_ARGUMENT", too_big, "INVALID_ARGUMENT", field="message")
    return message


def payload_bytes(message: dict[str, Any]) -> int:
    """What the fake counts against 4096 (Google does not publish its count): the compact JSON of
    the data and the notifications, message-level and Android, of those present."""
    counted = {name: message[name] for name in ("notification", "data") if name in message}
    android = message.get("android") or {}
    android_counted = {name: android[name] for name in ("notification", "data") if name in android}
    if android_counted:
        counted["android"] = android_counted
    return len(json.dumps(counted, separators=(",", ":"), ensure_ascii=False).encode())


def _check(value: Any, schema: str, path: str) -> None:
    if not isinstance(value, dict):
        raise invalid(path, f"Invalid value at '{path or '(root)'}': an object is required")
    fields = SCHEMAS[schema]
    for name, item in value.items():
        at = f"{path}.{name}" if path else name
        kind = fields.get(name)
        if kind is None:
            at_path = path or "(root)"
            raise invalid(path, f"Invalid JSON payload received. Unknown name \"{name}\" at '{at_path}': Cannot find field.")
        if kind in SCHEMAS:
            _check(item, kind, at)
        elif kind == STRING_MAP:
            _check_data(item, at)
        elif not _LEAF_CHECKS[kind](item):
            raise invalid(at, f"Invalid value at '{at}' ({kind}), {json.dumps(item)}")


def _check_data(value: Any, path: str) -> None:
    if not isinstance(value, dict):
        raise invalid(path, f"Invalid value at '{path}' ({STRING_MAP}): an object is required")
    for key, item in value.items():
        if not isinstance(item, str):
            raise invalid(f"{path}[{key}]", f"Invalid value at '{path}[{key}].value' ({STRING}), {json.dumps(item)}")
        if key in RESERVED_DATA_KEYS or key.startswith(RESERVED_DATA_PREFIXES):
            reserved = f"Invalid data payload key: {key}"
            raise google_error("INVALID_ARGUMENT", reserved, "INVALID_ARGUMENT", field=f"{path}[{key}]")


def _valid_ttl(value: Any) -> bool:
    """A Duration in JSON ("3600s", "3.5s"); FCM keeps a message at most 4 weeks."""
    match = _TTL.match(value) if isinstance(value, str) else None
    return match is not None and int(match.group(1)) <= MAX_TTL_SECONDS


_LEAF_CHECKS: dict[str, Callable[[Any], bool]] = {
    STRING: lambda value: isinstance(value, str),
    BOOL: lambda value: isinstance(value, bool),
    OBJECT: lambda value: isinstance(value, dict),
    ANY: lambda value: True,
    DURATION: _valid_ttl,
    PRIORITY: lambda value: value in ("HIGH", "NORMAL"),
}
