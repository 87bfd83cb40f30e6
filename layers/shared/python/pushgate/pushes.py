"""What a push is (docs/api.md §4 `POST /push`, §7): its validated request, its Web Push payload, its
targets, and the messages that carry it through the fan-out and delivery queues."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pushgate.delivery.apns import payload as apns_payload
from pushgate.delivery.fcm import message as fcm_message
from pushgate.errors import FieldMissing, InvalidValue, PayloadTooLarge
from pushgate.validation import TOPIC_NAME, check_user_id

DEFAULT_TTL = 86_400
MAX_TTL = 2_419_200
URGENCIES = ("very-low", "low", "normal", "high")
# RFC 8291 §4: one 4096-byte record holds at most 3993 bytes of plaintext.
MAX_PAYLOAD_BYTES = 3993
MAX_TOKENS_PER_PUSH = 10_000
MAX_TOPICS_PER_PUSH = 100
MAX_COLLAPSE_KEY_LENGTH = 256
TOKENS_PER_FANOUT = 100  # one BatchGetItem per fan-out message
PUSH_ID_LENGTH = 26
_TOPIC_TARGET = re.compile(r"^/topics/(.+)\Z", re.DOTALL)  # the whole name, a final newline too
_USER_TARGET = re.compile(r"^/users/(.+)$", re.DOTALL)


class TargetKind(StrEnum):
    TOKENS = "tokens"
    TOPIC = "topic"
    USER = "user"


class Target(BaseModel):
    """One unit of fan-out work: a chunk of tokens, one topic, or one user's devices."""

    model_config = ConfigDict(frozen=True)
    kind: TargetKind
    tokens: tuple[str, ...] = Field(default=(), repr=False)
    topic: str | None = None
    user_id: str | None = None
    cursor: str | None = None  # where a topic's expansion continues
    key_range: tuple[int, int] | None = None  # the part of a big topic this is (pushgate.keyspace)
    subscribers: int | None = None  # the topic's count when it was cut: its parts are cut alike, without reading it again
    # The topics listed before this one in the same push. A device already subscribed to one of
    # them when the push was made gets the push through that topic, so once (docs/api.md §7).
    earlier_topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class PushRequest:
    targets: list[Target]
    payload_fields: dict[str, Any]
    time_to_live: int
    urgency: str
    collapse_key: str | None
    skip_online: bool = False  # leave out the devices of users with an authenticated WebSocket open

    def payload(self, push_id: str) -> str:
        """The Web Push plaintext: {"id", "notification"?, "data"?} (docs/api.md §4)."""
        return json.dumps({"id": push_id, **self.payload_fields}, separators=(",", ":"), ensure_ascii=False)


def _check_notification(notification: object) -> dict[str, Any]:
    if not isinstance(notification, dict):
        raise InvalidValue("notification", "an object with title and body")
    for name in ("title", "body"):
        if not isinstance(notification.get(name), str):
            raise InvalidValue(f"notification.{name}", "a string")
    for name in ("icon", "url"):
        if notification.get(name) is not None and not isinstance(notification[name], str):
            raise InvalidValue(f"notification.{name}", "a string")
    return {k: v for k, v in notification.items() if k in ("title", "body", "icon", "url") and v is not None}


def _check_int(name: str, value: object, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidValue(name, f"an integer from {low} to {high}")
    return value


def parse_targets(to: object) -> list[Target]:
    """`to`: a token, a list of tokens, "/topics/NAME", a list of those, or "/users/USER_ID"."""
    if to is None or to == "" or to == []:
        raise FieldMissing("to")
    entries = to if isinstance(to, list) else [to]
    if not all(isinstance(entry, str) and entry for entry in entries):
        raise InvalidValue("to", "a token, a list of tokens, /topics/NAME or /users/USER_ID")
    topics, tokens, users = [], [], []
    for entry in entries:
        if (topic := _TOPIC_TARGET.match(entry)) is not None:
            if not TOPIC_NAME.match(topic.group(1)):
                raise InvalidValue("to", "topic names match [a-zA-Z0-9-_.]{1,100}")
            topics.append(topic.group(1))
        elif (user := _USER_TARGET.match(entry)) is not None and not isinstance(to, list):
            users.append(check_user_id(user.group(1), "to"))
        else:
            tokens.append(entry)
    if topics and tokens:
        raise InvalidValue("to", "either tokens or topics, not both")
    if len(topics) > MAX_TOPICS_PER_PUSH or len(tokens) > MAX_TOKENS_PER_PUSH:
        raise InvalidValue("to", f"at most {MAX_TOPICS_PER_PUSH} topics or {MAX_TOKENS_PER_PUSH} tokens")
    unique_tokens = list(dict.fromkeys(tokens))
    unique_topics = list(dict.fromkeys(topics))
    chunks = [unique_tokens[i : i + TOKENS_PER_FANOUT] for i in range(0, len(unique_tokens), TOKENS_PER_FANOUT)]
    return (
        [Target(kind=TargetKind.USER, user_id=u) for u in users]
        + [Target(kind=TargetKind.TOPIC, topic=t, earlier_topics=tuple(unique_topics[:i])) for i, t in enumerate(unique_topics)]
        + [Target(kind=TargetKind.TOKENS, tokens=tuple(chunk)) for chunk in chunks]
    )



def parse_push_request(body: dict[str, Any]) -> PushRequest:
    targets = parse_targets(body.get("to"))
    payload: dict[str, Any] = {}
    if body.get("notification") is not None:
        payload["notification"] = _check_notification(body["notification"])
    if body.get("data") is not None:
        payload["data"] = body["data"]
    urgency = body.get("urgency", "normal")
    if urgency not in URGENCIES:
        raise InvalidValue("urgency", "one of very-low, low, normal, high")
    collapse_key = body.get("collapse_key")
    if collapse_key is not None and (not isinstance(collapse_key, str) or not 0 < len(collapse_key) <= MAX_COLLAPSE_KEY_LENGTH):
        raise InvalidValue("collapse_key", f"a string of 1 to {MAX_COLLAPSE_KEY_LENGTH} characters")
    skip_online = body.get("skip_online", False)
    if not isinstance(skip_online, bool):
        raise InvalidValue("skip_online", "true or false")
    request = PushRequest(
        targets=targets,
        payload_fields=payload,
        time_to_live=_check_int("time_to_live", body.get("time_to_live"), DEFAULT_TTL, 0, MAX_TTL),
        urgency=urgency,
        collapse_key=collapse_key,
        skip_online=skip_online,
    )
    # The id is not known yet; measure with the longest id this service issues. A push must fit
    # every provider, since its targets' device types are known only at fan-out.
    if len(request.payload("p" * PUSH_ID_LENGTH).encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise PayloadTooLarge()
    fcm_message.check_fits(payload, PUSH_ID_LENGTH)
    apns_payload.check_fits(payload, PUSH_ID_LENGTH)
    return request



class PushStatus(StrEnum):
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


COUNTERS = ("targeted", "sent", "failed", "pruned", "cancelled")
FAILED_REASON_PREFIX = "failed_reason_"


def failed_reason(reason: str) -> str:
    """The push record's counter of the failures with this reason (GET /pushes/{id} failed_reasons)."""
    return f"{FAILED_REASON_PREFIX}{reason}"


class Push(BaseModel):
    """The push record: what to send and the live counts of what happened."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    push_id: str
    app_id: str
    created_at: int
    created_at_ms: int | None = None  # orders the push against topic subscriptions (earlier_topics)
    time_to_live: int
    urgency: str
    collapse_key: str | None = None
    payload: str = Field(repr=False)
    cancelled: bool = False
    skip_online: bool = False  # fan-out leaves out the devices of users online on the WebSocket
    # False for the stale sweep's expiry warning: its delivery must not keep the device alive.
    counts_as_seen: bool = True
    fanout_pending: int = 0
    targeted: int = 0
    sent: int = 0
    failed: int = 0
    pruned: int = 0
    cancelled_count: int = 0
    skipped_online: int = 0  # devices left out because their user was online (skip_online); not in targeted
    failed_reasons: dict[str, int] = Field(default_factory=dict)  # why `failed` counts what it counts

    @model_validator(mode="before")
    @classmethod
    def _gather_failed_reasons(cls, item: Any) -> Any:
        """The record keeps one counter per reason (ADDs need no map to exist first)."""
        if isinstance(item, dict):
            reasons = {key.removeprefix(FAILED_REASON_PREFIX): int(value) for key, value in item.items() if key.startswith(FAILED_REASON_PREFIX)}
            item = {**item, "failed_reasons": {reason: count for reason, count in sorted(reasons.items()) if count}}
        return item

    @property
    def pending(self) -> int:
        return max(0, self.targeted - self.sent - self.failed - self.pruned - self.cancelled_count)

    @property
    def status(self) -> PushStatus:
        if self.cancelled:
            return PushStatus.CANCELLED
        return PushStatus.SENDING if self.fanout_pending > 0 or self.pending > 0 else PushStatus.DONE

    @property
    def created_ms(self) -> int:
        # A record without milliseconds counts from the start of its second: sooner, never later.
        return self.created_at_ms if self.created_at_ms is not None else self.created_at * 1000

    def remaining_ttl(self, now: float) -> int:
        """docs/api.md §7: the TTL sent is what is left after the time spent in the queues."""
        return max(0, self.time_to_live - int(now - self.created_at))


class DeliveryTarget(BaseModel):
    """Everything the sender needs about one subscription, so it reads nothing per device."""

    model_config = ConfigDict(frozen=True)
    token_hash: str
    token: str
    type: str
    p256dh: str | None = None
    auth: str | None = None
    channel_id: str | None = None
    topic: str | None = None  # set when reached through a topic edge
    last_success_at: int | None = None

    def __repr__(self) -> str:  # endpoints and keys are bearer secrets: never in logs
        return f"DeliveryTarget(token_hash={self.token_hash!r}, type={self.type!r})"


class FanoutMessage(BaseModel):
    push_id: str
    app_id: str
    target: Target


def batch_id(prefix: str, devices: list[DeliveryTarget]) -> str:
    """A delivery batch's id: what made it (`prefix`) and which devices it holds. Work done again
    that holds the same devices makes the same id, which the sender's idempotency drops; work
    done again that holds other devices makes a new one, never taken for sent."""
    members = hashlib.sha256(",".join(device.token_hash for device in devices).encode()).hexdigest()[:16]
    return f"{prefix}-{members}"


class DeliveryMessage(BaseModel):
    push_id: str
    app_id: str
    batch_id: str
    attempt: int = 0
    not_before: int | None = None  # epoch seconds; a 429's Retry-After is honoured to the second
    devices: list[DeliveryTarget] = []
    dead_letter_reason: str | None = None  # set on what the sender itself dead-letters
