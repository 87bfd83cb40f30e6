"""Events an app can subscribe to (docs/events.md), put on the stack's EventBridge bus.

- `pushgate.device.pruned`: the sender expired a subscription after its push service said it is
  gone (404/410, FCM UNREGISTERED, APNs Unregistered) or that its row can never be delivered to;
- `pushgate.device.stale`: the stale sweep expired a subscription not seen for its window;
- `pushgate.device.evicted`: a user registered one device more than the app's cap, and their
  least recently registered one was removed (services.device_cap);
- `pushgate.push.completed`: a push has nothing pending any more, with its final counts; sent
  once per push, by whichever write of its counts saw it finish (`PushCompletion`).

An event carries ids and the token's hash, never the token or endpoint itself (a bearer
credential). Publishing is best effort: PutEvents is called ten entries at a time, and whatever
it refuses or fails on is logged and counted (metric EventsNotPublished), never raised, because the
work the event tells of is done and a raise would make SQS hand the batch back and send it again."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pushgate.observability import logger, metrics, metrics_lock
from pushgate.pushes import Push

SOURCE = "pushgate"
DEVICE_PRUNED = "pushgate.device.pruned"
DEVICE_STALE = "pushgate.device.stale"
DEVICE_EVICTED = "pushgate.device.evicted"
PUSH_COMPLETED = "pushgate.push.completed"
DETAIL_TYPES = (DEVICE_PRUNED, DEVICE_STALE, DEVICE_EVICTED, PUSH_COMPLETED)
MAX_ENTRIES_PER_CALL = 10  # PutEvents' limit
EVENT_BUS_ENV = "PUSHGATE_EVENT_BUS_NAME"
NOT_PUBLISHED_METRIC = "EventsNotPublished"


@dataclass(frozen=True)
class Event:
    detail_type: str
    detail: dict[str, Any]


def device_pruned(app_id: str, push_id: str, device_type: str, token_hash: str, user_id: str | None, at: int) -> Event:
    return Event(
        DEVICE_PRUNED,
        {"app_id": app_id, "push_id": push_id, "device_type": device_type, "user_id": user_id, "token_hash": token_hash, "pruned_at": at},
    )


def device_stale(app_id: str, device_type: str, token_hash: str, user_id: str, last_seen: int, stale_before: int, at: int) -> Event:
    return Event(
        DEVICE_STALE,
        {
            "app_id": app_id,
            "device_type": device_type,
            "user_id": user_id,
            "token_hash": token_hash,
            "last_seen_at": last_seen,
            "stale_before": stale_before,
            "expired_at": at,
        },
    )


def device_evicted(app_id: str, device_type: str, token_hash: str, user_id: str, max_devices: int, kept_token_hash: str, at: int) -> Event:
    return Event(
        DEVICE_EVICTED,
        {
            "app_id": app_id,
            "device_type": device_type,
            "user_id": user_id,
            "token_hash": token_hash,
            "reason": "evicted",
            "max_devices_per_user": max_devices,
            "registered_token_hash": kept_token_hash,
            "evicted_at": at,
        },
    )


def push_completed(push: Push, at: int) -> Event:
    return Event(
        PUSH_COMPLETED,
        {
            "app_id": push.app_id,
            "push_id": push.push_id,
            "cancelled": push.cancelled,
            "created_at": push.created_at,
            "completed_at": at,
            "counts": {
                "targeted": push.targeted,
                "sent": push.sent,
                "failed": push.failed,
                "pruned": push.pruned,
                "cancelled": push.cancelled_count,
            },
            "failed_reasons": dict(push.failed_reasons),
        },
    )


def _count_not_published(count: int) -> None:
    # Publishers run on the sender's threads, and Powertools' metric set is a plain dict.
    with metrics_lock:
        metrics.add_metric(name=NOT_PUBLISHED_METRIC, unit=MetricUnit.Count, value=count)


class EventPublisher:
    """PutEvents to one bus, MAX_ENTRIES_PER_CALL entries a call. Safe to share between threads
    (boto3 clients are)."""

    def __init__(self, client: Any, bus_name: str) -> None:
        self._client = client
        self._bus_name = bus_name

    @property
    def bus_name(self) -> str:
        return self._bus_name

    def publish(self, events: Sequence[Event]) -> int:
        """Put the events; returns how many the bus accepted. Never raises."""
        accepted = 0
        for start in range(0, len(events), MAX_ENTRIES_PER_CALL):
            accepted += self._put(events[start : start + MAX_ENTRIES_PER_CALL])
        return accepted

    def _put(self, chunk: Sequence[Event]) -> int:
        entries = [
            {"Source": SOURCE, "DetailType": event.detail_type, "Detail": json.dumps(event.detail, separators=(",", ":")), "EventBusName": self._bus_name}
            for event in chunk
        ]
        try:
            response = self._client.put_events(Entries=entries)
        except Exception as error:  # noqa: BLE001 - an event lost is counted; a raise would redo a delivery batch
            logger.warning("events not published", extra={"events": len(chunk), "error": type(error).__name__})
            _count_not_published(len(chunk))
            return 0
        failed = int(response.get("FailedEntryCount", 0))
        if failed:
            codes = sorted({entry.get("ErrorCode", "") for entry in response.get("Entries", []) if entry.get("ErrorCode")})
            logger.warning("events refused by the bus", extra={"events": failed, "error_codes": codes})
            _count_not_published(failed)
        return len(chunk) - failed


class EventBuffer:
    """Collects the events of a long run (the stale sweep) and puts them ten at a time. One thread."""

    def __init__(self, publisher: EventPublisher | None) -> None:
        self._publisher = publisher
        self._pending: list[Event] = []

    def add(self, event: Event) -> None:
        if self._publisher is None:
            return
        self._pending.append(event)
        if len(self._pending) >= MAX_ENTRIES_PER_CALL:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending and self._publisher is not None:
            self._publisher.publish(pending)


def is_complete(push: Push) -> bool:
    """Nothing left to expand and nothing left to deliver."""
    return push.fanout_pending <= 0 and push.pending == 0


class PushCompletion:
    """Adds a batch's counts to its push and, when that write leaves it complete, announces it.

    Two writes can both see the push complete (the last two batches finishing together, or a batch
    redelivered after its counts were written): the one whose conditional claim of `completed_at`
    succeeds publishes, so the event goes out once. A claim made and then not published is logged
    and counted, not retried: at most once, never twice."""

    def __init__(self, repository: Any, publisher: EventPublisher | None, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._publisher = publisher
        self._clock = clock

    def add_counts(self, push_id: str, deltas: dict[str, int]) -> None:
        """Raises only what the counts' write raises (pushgate.settled_writes decides about those)."""
        after = self._repository.add_push_counts(push_id, deltas)
        if self._publisher is not None and isinstance(after, Push) and is_complete(after):
            self._announce(after)

    def _announce(self, push: Push) -> None:
        now = int(self._clock())
        try:
            if not self._repository.claim_push_completion(push.push_id, now):
                return  # another batch's write claimed it
        except Exception:  # noqa: BLE001 - the counts are written; only the event is lost
            logger.exception("push completion not claimed; its event is not published", extra={"push_id": push.push_id})
            _count_not_published(1)
            return
        assert self._publisher is not None
        self._publisher.publish([push_completed(push, now)])


@lru_cache(maxsize=4)
def _publisher_for(bus_name: str) -> EventPublisher:
    import boto3

    return EventPublisher(boto3.client("events"), bus_name)


def publisher_from_env(environ: dict[str, str] | os._Environ[str] | None = None) -> EventPublisher | None:
    """The publisher of the bus named by PUSHGATE_EVENT_BUS_NAME; None where it is not set (the
    functions that publish nothing, tests of other things)."""
    bus_name = ((os.environ if environ is None else environ).get(EVENT_BUS_ENV) or "").strip()
    return _publisher_for(bus_name) if bus_name else None
