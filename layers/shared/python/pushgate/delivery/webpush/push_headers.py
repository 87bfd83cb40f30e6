"""The RFC 8030 request headers a sender chooses: TTL, Urgency and Topic. Each is checked before
any network call, because a push service answers 400 to a bad one (and a 400 looks like a
configuration incident, not a bad message)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from enum import StrEnum

from pushgate.errors import InvalidValue

MAX_TTL = 2_419_200  # 4 weeks: FCM's valid range and npm web-push's default
MAX_TOPIC_LENGTH = 32
_TOPIC = re.compile(r"[A-Za-z0-9_-]{1,32}")


class Urgency(StrEnum):
    """RFC 8030 §5.3."""

    VERY_LOW = "very-low"
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


def check_ttl(ttl: object) -> int:
    """TTL in whole seconds (RFC 8030 §5.2; sent as a decimal string). The caller passes what is
    left of the push's TTL after its time in the queues; above 4 weeks is clamped, not refused."""
    if isinstance(ttl, bool) or not isinstance(ttl, int):
        raise InvalidValue("ttl", "must be an integer number of seconds")
    if ttl < 0:
        raise InvalidValue("ttl", "must not be negative")
    return min(ttl, MAX_TTL)


def check_urgency(urgency: object) -> Urgency:
    try:
        return Urgency(urgency)
    except ValueError:
        raise InvalidValue("urgency", "must be one of very-low, low, normal, high") from None


def check_topic(topic: object) -> str:
    """At most 32 characters of the base64url alphabet (RFC 8030 §5.4)."""
    if not isinstance(topic, str) or not _TOPIC.fullmatch(topic):
        raise InvalidValue("topic", "must be 1-32 characters of A-Z a-z 0-9 _ -")
    return topic


def collapse_topic(collapse_key: str, key: bytes | None = None) -> str:
    """A valid Topic for an app's collapse key. The Topic travels unencrypted and visible to the
    push service (RFC 8030 §8.1), so it is a hash of the key, never the key itself; pass a secret
    `key` (HMAC) when collapse keys are guessable and must not be confirmable by the push service."""
    data = collapse_key.encode("utf-8")
    digest = hmac.digest(key, data, "sha256") if key else hashlib.sha256(data).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")[:MAX_TOPIC_LENGTH]


def push_topic(push_id: str) -> str:
    """The Topic of a push sent without a collapse key: its own, so that a copy sent again (a retry,
    a redelivered batch) replaces the copy the push service still holds instead of adding a second
    one (RFC 8030 §5.4), while different pushes never replace each other. Derived under its own
    label, so no app's collapse key can produce it."""
    digest = hashlib.sha256(b"pushgate push\x00" + push_id.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")[:MAX_TOPIC_LENGTH]
