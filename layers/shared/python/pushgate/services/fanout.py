"""The fan-out consumer (docs/api.md §7): expands one target of a push into delivery batches.

A topic of more than TOPIC_PART_SIZE subscribers is first cut into parts by device key
(`pushgate.keyspace`), at most MAX_PARTS_PER_MESSAGE per message and again within a part while
it is still too big; each part is then read a page (1000 subscribers) per message. So a topic of
a million devices is 1,401 small fan-out messages in three rounds (the topic, 100 parts of 10,000,
1,300 parts of about 770), taken up side by side: never one giant invocation, never a chain of a
thousand pages one after the other, and never a Scan. Batch ids are derived from
the work and the devices in the batch, so a fan-out message processed twice produces the same
batches and the sender's idempotency drops the copies."""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from pushgate import keyspace
from pushgate.events import EventPublisher, PushCompletion
from pushgate.identifiers import token_hash
from pushgate.models import CHANNEL_FOR_DEVICE, ChannelType, Device, DeviceType
from pushgate.pagination import decode_cursor, encode_cursor
from pushgate.pushes import DeliveryMessage, DeliveryTarget, FanoutMessage, Push, Target, TargetKind, batch_id, failed_reason
from pushgate.queues import Queue
from pushgate.repository import Repository
from pushgate.settled_writes import write_settled

TOPIC_PAGE_SIZE = 1000
# A part's expected size: its actual size spreads by about its square root, so a part of 800
# almost never needs a second page of 1000.
TOPIC_PART_SIZE = 800
MAX_PARTS_PER_MESSAGE = 100  # ten SendMessageBatch calls
DEVICES_PER_DELIVERY = 50  # ~20 KB a message: ten fit in one SendMessageBatch


@dataclass(frozen=True)
class Expansion:
    targets: list[DeliveryTarget]
    unreachable: int  # targeted but not deliverable: an unknown or inactive token
    next_targets: tuple[Target, ...] = ()  # more fan-out work: the next page, or the parts of a topic
    # token_hash -> user_id where the rows read already said it (devices; topic edges made since
    # edges carry it): a push with skip_online looks up only the others' users.
    owners: dict[str, str] = field(default_factory=dict)


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
    def __init__(
        self,
        repository: Repository,
        delivery_queue: Queue,
        fanout_queue: Queue,
        clock: Callable[[], float] = time.time,
        page_size: int = TOPIC_PAGE_SIZE,
        part_size: int = TOPIC_PART_SIZE,
        max_parts: int = MAX_PARTS_PER_MESSAGE,
        native_queues: dict[ChannelType, Queue] | None = None,
        events: EventPublisher | None = None,
    ) -> None:
        self._repository = repository
        # A push whose last count fan-out writes (no device to send to, or none reachable) completes here.
        self._completion = PushCompletion(repository, events, clock)
        # One queue per provider, each drained by its own sender function.
        self._delivery = {ChannelType.WEBPUSH: delivery_queue, **(native_queues or {})}
        self._fanout = fanout_queue
        self._clock = clock
        self._page_size = page_size
        self._part_size = part_size
        self._max_parts = max_parts

    def expand(self, message: FanoutMessage) -> None:
        push = self._repository.get_push(message.push_id)
        if push is None or push.cancelled:
            if push is not None:
                self._completion.add_counts(push.push_id, {"fanout_pending": -1})
            return
        expansion = self._expand(message, push)
        reachable, skipped_online = self._without_online_users(push, expansion) if push.skip_online else (expansion.targets, 0)
        by_provider, failed = self._route(push.app_id, reachable)
        work_id = hashlib.sha256(message.target.model_dump_json().encode()).hexdigest()[:16]
        for provider, targets in by_provider.items():
            # The web batches keep the ids they always had; a provider's own work id for the others.
            prefix = work_id if provider is ChannelType.WEBPUSH else f"{work_id}.{provider.value}"
            chunks = [targets[start : start + DEVICES_PER_DELIVERY] for start in range(0, len(targets), DEVICES_PER_DELIVERY)]
            self._delivery[provider].send(
                [DeliveryMessage(push_id=push.push_id, app_id=push.app_id, batch_id=batch_id(prefix, chunk), devices=chunk) for chunk in chunks]
            )
        self._fanout.send([FanoutMessage(push_id=push.push_id, app_id=push.app_id, target=target) for target in expansion.next_targets])
        failed["unknown_device"] += expansion.unreachable
        # Counted last and in one write: a retry after a failure above redoes the sends (which the
        # sender's idempotency absorbs) without having counted anything twice. This write itself
        # is never raised: a retry of a topic page read again after a device was pruned makes
        # batches the sender has not seen, and sends them twice (pushgate.settled_writes).
        write_settled(
            "add_push_counts",
            self._completion.add_counts,
            push.push_id,
            {
                "targeted": len(reachable) + expansion.unreachable,
                "skipped_online": skipped_online,
                "failed": sum(failed.values()),
                "fanout_pending": len(expansion.next_targets) - 1,
                **{failed_reason(reason): count for reason, count in failed.items()},
            },
        )

    def _route(self, app_id: str, targets: list[DeliveryTarget]) -> tuple[dict[ChannelType, list[DeliveryTarget]], Counter[str]]:
        """Each target to its provider's queue, through the app's channel of that provider. A device
        whose app has no such channel (or a deployment with no sender for it) is counted failed with
        its reason, never dropped silently."""
        routed: defaultdict[ChannelType, list[DeliveryTarget]] = defaultdict(list)
        failed: Counter[str] = Counter()
        channels: dict[ChannelType, str] | None = None
        for target in targets:
            provider = CHANNEL_FOR_DEVICE[DeviceType(target.type)]
            if provider is ChannelType.WEBPUSH:
                routed[provider].append(target)
                continue
            if channels is None:  # one Query per fan-out message, and only when it has a native device
                channels = {channel.type: channel.channel_id for channel in self._repository.list_channels(app_id)}
            if provider not in channels:
                failed["no_channel"] += 1
            elif provider not in self._delivery:
                failed["no_sender"] += 1
            else:
                routed[provider].append(target.model_copy(update={"channel_id": channels[provider]}))
        return routed, failed

    def _expand(self, message: FanoutMessage, push: Push) -> Expansion:
        target, app_id = message.target, message.app_id
        if target.kind is TargetKind.TOKENS:
            devices = self._repository.devices_by_hash(app_id, [token_hash(token) for token in target.tokens])
            active = [_from_device(d) for d in devices if d.active]
            return Expansion(active, unreachable=len(target.tokens) - len(active), owners={d.token_hash: d.user_id for d in devices})
        if target.kind is TargetKind.USER:
            devices = self._repository.user_devices(app_id, target.user_id or "")
            return Expansion([_from_device(d) for d in devices if d.active], unreachable=0, owners={d.token_hash: d.user_id for d in devices})
        topic = target.topic or ""
        if target.cursor is None:
            subscribers = target.subscribers if target.subscribers is not None else self._repository.topic_subscriber_count(app_id, topic)
            if parts := self._parts(subscribers, target.key_range or keyspace.WHOLE):
                cut = [target.model_copy(update={"key_range": part, "subscribers": subscribers}) for part in parts]
                return Expansion([], unreachable=0, next_targets=tuple(cut))
        between = keyspace.sort_key_bounds(target.key_range) if target.key_range else None
        edges, last = self._repository.topic_page(app_id, topic, self._page_size, decode_cursor(target.cursor), between)
        next_targets = (target.model_copy(update={"cursor": encode_cursor(last)}),) if last else ()
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
        owners = {edge["GSI1SK"].removeprefix("DEVICE#"): edge["user_id"] for edge in edges if edge.get("user_id")}
        return Expansion(targets, unreachable=0, next_targets=next_targets, owners=owners)

    def _without_online_users(self, push: Push, expansion: Expansion) -> tuple[list[DeliveryTarget], int]:
        """docs/api.md §4 `skip_online`: drop the devices of users with an authenticated WebSocket
        open, and say how many. Presence is asked once per user of the page, not per device (one
        Query each, in parallel); only devices whose owner the page did not carry (topic edges
        made before edges carried it) are read first, in BatchGetItems of 100."""
        owners = dict(expansion.owners)
        if unknown := [t.token_hash for t in expansion.targets if t.token_hash not in owners]:
            owners.update({d.token_hash: d.user_id for d in self._repository.devices_by_hash(push.app_id, unknown)})
        users = {owners[t.token_hash] for t in expansion.targets if t.token_hash in owners}
        online = self._repository.users_online(push.app_id, users, int(self._clock()))
        kept = [t for t in expansion.targets if owners.get(t.token_hash) not in online]
        return kept, len(expansion.targets) - len(kept)

    def _parts(self, subscribers: int, key_range: keyspace.KeyRange) -> list[keyspace.KeyRange]:
        """The parts to cut this range of a topic into, or none if it is small enough to read."""
        expected = subscribers * keyspace.share(key_range)
        if expected <= self._part_size:
            return []
        parts = keyspace.split(key_range, min(self._max_parts, math.ceil(expected / self._part_size)))
        return parts if len(parts) > 1 else []
