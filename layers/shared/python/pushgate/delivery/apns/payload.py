"""What APNs gets for one push and one device: the JSON payload and the `apns-*` headers.

Pure (no network, no HTTP client): POST /push imports `check_fits` to refuse a push whose APNs payload
could never be accepted, before anything is queued.

- A push with a notification is an `alert` push: `{"aps": {"alert": {"title", "body"}, "sound":
  "default"}, "id", "data"?, "url"?}`, priority 10, or 5 for urgency low and very-low (APNs may
  then group it with others to spare the battery). The notification's icon is dropped: iOS shows
  the app's own icon.
- A data-only push is a `background` push: `{"aps": {"content-available": 1}, "id", "data"?}`,
  priority 5 whatever the urgency: APNs requires 5 for background pushes.
- An `ios-voip` device gets a `voip` push on `<bundle>.voip`, priority 10: `{"aps": {}, "id",
  "notification"?, "data"?}`. PushKit hands the whole dictionary to the app, which reports the
  call itself, so the notification travels as pushgate's own object.

Headers: `apns-expiration` is now + ttl, or 0 when ttl is 0 (APNs then tries once and stores
nothing). `apns-collapse-id` is the push's collapse key when it fits APNs's 64 bytes, else
`sha256-` and 43 base64url characters of the key's SHA-256: stable, so later pushes with the same
key still replace each other. `apns-id` is a UUID derived from (push id, device), so a retried
delivery is the same notification to APNs and to the logs that quote its id."""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from typing import Any

from pushgate.errors import PayloadTooLarge

IOS = "ios"
IOS_VOIP = "ios-voip"

ALERT = "alert"
BACKGROUND = "background"
VOIP = "voip"

MAX_PAYLOAD_BYTES = 4096
MAX_VOIP_PAYLOAD_BYTES = 5120
MAX_COLLAPSE_ID_BYTES = 64
PRIORITY_IMMEDIATE = 10
PRIORITY_POWER_CONSIDERATE = 5
LOW_URGENCIES = frozenset({"very-low", "low"})
VOIP_TOPIC_SUFFIX = ".voip"
# Fixed forever: changing it would give a retry of an old delivery a different apns-id.
APNS_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:pushgate:apns-id")


def push_type_for(push_fields: dict[str, Any], device_type: str) -> str:
    if device_type == IOS_VOIP:
        return VOIP
    if device_type != IOS:
        raise ValueError(f"not an APNs device type: {device_type!r}")
    return ALERT if push_fields.get("notification") is not None else BACKGROUND


def build_payload(push_fields: dict[str, Any], push_id: str, push_type: str) -> dict[str, Any]:
    notification = push_fields.get("notification")
    data = push_fields.get("data")
    if push_type == VOIP:
        payload: dict[str, Any] = {"aps": {}, "id": push_id}
        if notification is not None:
            payload["notification"] = notification
    elif push_type == ALERT:
        alert = {"title": notification["title"], "body": notification["body"]}
        payload = {"aps": {"alert": alert, "sound": "default"}, "id": push_id}
    else:
        payload = {"aps": {"content-available": 1}, "id": push_id}
    if data is not None:
        payload["data"] = data
    if push_type == ALERT and notification.get("url") is not None:
        payload["url"] = notification["url"]
    return payload


def encode(payload: dict[str, Any]) -> bytes:
    # Raw UTF-8, not \u escapes: an escaped non-ASCII character costs 6 bytes of the 4096.
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def size_limit(push_type: str) -> int:
    return MAX_VOIP_PAYLOAD_BYTES if push_type == VOIP else MAX_PAYLOAD_BYTES


def priority_for(push_type: str, urgency: str) -> int:
    if push_type == BACKGROUND or (push_type == ALERT and urgency in LOW_URGENCIES):
        return PRIORITY_POWER_CONSIDERATE
    return PRIORITY_IMMEDIATE


def topic_for(bundle_id: str, push_type: str) -> str:
    return bundle_id + VOIP_TOPIC_SUFFIX if push_type == VOIP else bundle_id


def expiration(now: int, ttl: int) -> int:
    return 0 if ttl <= 0 else int(now) + int(ttl)


def collapse_id(collapse_key: str) -> str:
    if len(collapse_key.encode("utf-8")) <= MAX_COLLAPSE_ID_BYTES:
        return collapse_key
    digest = hashlib.sha256(collapse_key.encode("utf-8")).digest()
    return "sha256-" + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def apns_id(push_id: str, token_hash: str) -> str:
    return str(uuid.uuid5(APNS_ID_NAMESPACE, f"{push_id}/{token_hash}"))


def build_request_parts(
    push_fields: dict[str, Any],
    push_id: str,
    device_type: str,
    token_hash: str,
    bundle_id: str,
    ttl: int,
    now: int,
    urgency: str,
    collapse_key: str | None,
) -> tuple[dict[str, str], bytes]:
    """The headers (all but `authorization`) and the body of one notification. Raises
    PayloadTooLarge when the body is over APNs's limit for its push type."""
    push_type = push_type_for(push_fields, device_type)
    body = encode(build_payload(push_fields, push_id, push_type))
    if len(body) > size_limit(push_type):
        raise PayloadTooLarge(f"APNs {push_type} payload of {len(body)} bytes is over {size_limit(push_type)}")
    headers = {
        "apns-topic": topic_for(bundle_id, push_type),
        "apns-push-type": push_type,
        "apns-priority": str(priority_for(push_type, urgency)),
        "apns-expiration": str(expiration(now, ttl)),
        "apns-id": apns_id(push_id, token_hash),
    }
    if collapse_key:
        headers["apns-collapse-id"] = collapse_id(collapse_key)
    return headers, body


def check_fits(push_fields: dict[str, Any], push_id_length: int) -> None:
    """Refuse, at POST /push, a push that no APNs device could get: its iOS payload (alert or
    background) over 4096 bytes or its VoIP payload over 5120, measured with the longest push id."""
    push_id = "p" * push_id_length
    for device_type in (IOS, IOS_VOIP):
        push_type = push_type_for(push_fields, device_type)
        size = len(encode(build_payload(push_fields, push_id, push_type)))
        if size > size_limit(push_type):
            raise PayloadTooLarge(f"APNs {push_type} payload of {size} bytes is over {size_limit(push_type)}")
