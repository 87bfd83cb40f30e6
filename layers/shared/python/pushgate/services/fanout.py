"""The fan-out consumer (CONTRACT §7): expands one target of a push into delivery batches.

A topic is expanded one page (1000 subscribers) per message, continuing through a new fan-out
message, so a topic of a million devices is a thousand small invocations, never one giant one,
and never a Scan. Batch ids are derived from the work itself, so a fan-out message processed twice
produces the same batches and the sender's idempotency drops the copies."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from pushgate.identifiers import token_hash
from pushgate.models import Device, DeviceType
from pushgate.pagination import decode_cursor, encode_cursor
from pushgate.pushes import DeliveryMessage, DeliveryTarget, FanoutMessage, Push, Target, TargetKind
from pushgate.queues import Queue
from pushgate.repository import Repository

TOPIC_PAGE_SIZE = 1000
DEVICES_PER_DELIVERY = 50  # ~20 KB a message: ten fit in one SendMessageBatch


@dataclass(frozen=True)
class Expansion:
    targets: list[DeliveryTarget]
    unreachable: int  # targeted but not deliverable: unknown, inactive, or no sender for the type
    next_target: Target | None = None


def _from_device(device: Device) -> DeliveryTarget:
    return DeliveryTarget(
        token_hash=device.token_hash,
        token=device.token,
        type=device.type.value,
        p256dh=device.keys.p256dh if device.keys else None,
        auth=device.keys.auth if device.keys else None,
        channel_id=device.channel_id,
        last_success_at=device.last_success_at,
    )


def _from_edge(edge: dict, topic: str) -> DeliveryTarget:
    keys = edge.get("keys") or {}
    return DeliveryTarget(
        token_hash=edge["GSI1SK"].removeprefix("DEVICE#"),
        token=edge["token"],
        type=edge["type"],
        p256dh=keys.get("p256dh"),
        auth=keys.get("auth"),
        channel_id=edge.get("channel_id"),
        topic=topic,
        last_success_at=edge.get("last_success_at"),
    )


class FanoutService:
    def __init__(self, repository: Repository, delivery_queue: Queue, fanout_queue: Queue, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._delivery = delivery_queue
        self._fanout = fanout_queue
        self._clock = clock

    def expand(self, message: FanoutMessage) -> None:
        push = self._repository.get_push(message.push_id)
        if push is None or push.cancelled:
            if push is not None:
                self._repository.add_push_counts(push.push_id, {"fanout_pending": -1})
            return
        expansion = self._expand(message, push)
        deliverable = [t for t in expansion.targets if t.type == DeviceType.WEB.value]
        unsupported = len(expansion.targets) - len(deliverable)  # FCM/APNs senders come later
        work_id = hashlib.sha256(message.target.model_dump_json().encode()).hexdigest()[:16]
        batches = [
            DeliveryMessage(push_id=push.push_id, app_id=push.app_id, batch_id=f"{work_id}-{i}", devices=deliverable[start : start + DEVICES_PER_DELIVERY])
            for i, start in enumerate(range(0, len(deliverable), DEVICES_PER_DELIVERY))
        ]
        self._delivery.send(batches)
        if expansion.next_target is not None:
            self._fanout.send([FanoutMessage(push_id=push.push_id, app_id=push.app_id, target=expansion.next_target)])
        # Counted last and in one write: a retry after a failure above redoes the sends (which the
        # sender's idempotency absorbs) without having counted anything twice.
        self._repository.add_push_counts(
            push.push_id,
            {
                "targeted": len(expansion.targets) + expansion.unreachable,
                "failed": expansion.unreachable + unsupported,
                "fanout_pending": (1 if expansion.next_target is not None else 0) - 1,
            },
        )

    def _expand(self, message: FanoutMessage, push: Push) -> Expansion:
        target, app_id = message.target, message.app_id
        if target.kind is TargetKind.TOKENS:
            devices = self._repository.devices_by_hash(app_id, [token_hash(token) for token in target.tokens])
            active = [_from_device(d) for d in devices if d.active]
            return Expansion(active, unreachable=len(target.tokens) - len(active))
        if target.kind is TargetKind.USER:
            devices = self._repository.user_devices(app_id, target.user_id or "")
            return Expansion([_from_device(d) for d in devices if d.active], unreachable=0)
        topic = target.topic or ""
        edges, last = self._repository.topic_page(app_id, topic, TOPIC_PAGE_SIZE, decode_cursor(target.cursor))
        next_target = target.model_copy(update={"cursor": encode_cursor(last)}) if last else None
        targets = [_from_edge(edge, topic) for edge in edges]
        if target.earlier_topics:
            # Idempotent per (push, device) across topics: a device subscribed to an earlier topic
            # of this push before the push was made is reached through that topic, not this one.
            # A subscription made at the same moment as the push (or later) is not trusted to
            # have been seen there, so a race can deliver twice but never lose a delivery.
            reached = self._repository.subscribed_before(
                app_id, [t.token_hash for t in targets], target.earlier_topics, push.created_ms
            )
            targets = [t for t in targets if t.token_hash not in reached]
        return Expansion(targets, unreachable=0, next_target=next_target)
