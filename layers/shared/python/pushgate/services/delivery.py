"""The senders' use case (docs/api.md §7): deliver one batch through a provider's transport (Web
Push, FCM or APNs) and act on each outcome, the same way for all three.

- 2xx: sent. The device's last-seen stamp is written only when the one fan-out read is older
  than the stamp window (PUSHGATE_SUCCESS_STAMP_SECONDS, a week by default), and only on the row
  fan-out read it from (the topic edge, or the device row for tokens and users): one write per
  device and window at most, none while the stamp is fresh (a registration stamps it too), so
  steady traffic costs no per-delivery write (docs/lifecycle.md).
- 404/410 (FCM UNREGISTERED, APNs Unregistered/BadDeviceToken): the subscription is pruned (EXPIRED), conditionally on the keys we sent to, so a
  concurrent re-subscribe survives; its topic edges go with it.
- 429: retried no sooner than Retry-After; 5xx and timeouts: retried with exponential backoff
  and jitter. Retries travel as new messages (SQS delays cap at 15 min; later ones re-queue).
- 400/401/403 (and 3xx, 413, refused endpoints): never pruned; failed, dead-lettered where the
  contract says so, and counted in a configuration-alarm metric.
Every count lands on the push record in one write per batch. Once the push service has answered,
a failing per-device write (stamp, failure count, prune) is logged and counted, never raised: a
raise would make SQS redeliver the batch and every message in it would be sent again."""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools.metrics import MetricUnit

from pushgate.delivery.outcomes import ALARMING, DeliveryOutcome, OutcomeKind
from pushgate.events import EventPublisher, PushCompletion, device_pruned
from pushgate.models import SubscriptionStatus
from pushgate.observability import app_metrics, logger, metrics, metrics_lock
from pushgate.pushes import DeliveryMessage, DeliveryTarget, Push, batch_id, failed_reason
from pushgate.queues import MAX_DELAY_SECONDS, Queue
from pushgate.repository import Repository
from pushgate.settled_writes import write_settled

MAX_ATTEMPTS = 5
BACKOFF_BASE_SECONDS = 10
SUCCESS_STAMP_WINDOW_SECONDS = 7 * 86_400  # the stale sweep's rule is counted in months (docs/lifecycle.md)
BOOKKEEPING_THREADS = 10  # botocore's default connection pool holds ten connections per client
# Per app (observability.AppMetrics, with a provider dimension): what became of a batch's
# deliveries, as the push record counts them, and how many were queued to be tried again.
APP_DELIVERY_METRICS = {"sent": "DeliveriesSent", "failed": "DeliveriesFailed", "pruned": "DeliveriesPruned", "retried": "DeliveriesRetried"}

T = TypeVar("T")


def reason_for(kind: OutcomeKind) -> str:
    """The failed_reasons entry of a delivery that failed for good with this outcome."""
    return "retries_exhausted" if kind in (OutcomeKind.RETRY, OutcomeKind.RATE_LIMITED) else kind.value


def _jitter_for(retry: str) -> float:
    """Backoff jitter in [0, 1), drawn from the retry itself (batch, attempt, device): it spreads
    devices and attempts apart as a random draw would, and a batch processed twice groups and
    names its retries the same, so the sender sends them once."""
    return int.from_bytes(hashlib.sha256(retry.encode()).digest()[:4], "big") / 2**32


class Transport(Protocol):
    def send(self, push: Push, targets: Sequence[DeliveryTarget], ttl: int) -> list[DeliveryOutcome]:
        """One outcome per target, in order."""
        ...


class DeliveryService:
    def __init__(
        self,
        repository: Repository,
        delivery_queue: Queue,
        dead_letter_queue: Queue,
        transport: Transport,
        clock: Callable[[], float] = time.time,
        jitter: Callable[[str], float] | None = None,
        success_stamp_seconds: int = SUCCESS_STAMP_WINDOW_SECONDS,
        bookkeeping_threads: int = BOOKKEEPING_THREADS,
        metric_prefix: str = "WebPush",
        events: EventPublisher | None = None,
    ) -> None:
        self._metric_prefix = metric_prefix  # WebPush, Fcm or Apns: one set of outcome metrics per provider
        self._provider = metric_prefix.lower()  # the per-app metrics' provider dimension: webpush, fcm or apns
        self._repository = repository
        self._delivery = delivery_queue
        self._dead_letters = dead_letter_queue
        self._transport = transport
        self._clock = clock
        self._jitter = jitter or _jitter_for
        self._stamp_window = success_stamp_seconds
        # Kept for the container's life; boto3 clients are safe to share between threads.
        self._bookkeeping = ThreadPoolExecutor(max_workers=bookkeeping_threads, thread_name_prefix="bookkeeping")
        self._metrics_lock = metrics_lock
        # Prunes and push completions are announced on the event bus (docs/events.md).
        self._events = events
        self._completion = PushCompletion(repository, events, clock)

    def process(self, message: DeliveryMessage) -> Counter[str]:
        """Deliver a batch; returns the counts it added to the push. Safe to run for several
        messages at once on threads of their own (the sender does: sqs_entry's side_by_side)."""
        counts: Counter[str] = Counter()
        push = self._repository.get_push(message.push_id)
        if push is None or not message.devices:
            return counts
        if message.dead_letter_reason is not None:
            # Moved back from the dead-letter queue by an operator, once what refused it is fixed:
            # its devices were counted failed and are pending again, with a fresh set of attempts.
            counts["failed"] -= len(message.devices)
            counts[failed_reason(reason_for(OutcomeKind(message.dead_letter_reason)))] -= len(message.devices)
            message = message.model_copy(update={"dead_letter_reason": None, "attempt": 0, "not_before": None})
        now = self._clock()
        if push.cancelled:
            counts["cancelled_count"] += len(message.devices)
        elif message.not_before is not None and message.not_before > now:
            self._delivery.send([message], delay_seconds=int(message.not_before - now) + 1)  # not yet: wait again
        elif push.time_to_live > 0 and push.remaining_ttl(now) == 0:
            counts["failed"] += len(message.devices)  # expired while queued; the push service would drop it anyway
            counts[failed_reason("expired")] += len(message.devices)
            self._count_for_app(message.app_id, Counter(failed=len(message.devices)))
        else:
            outcomes = self._transport.send(push, message.devices, push.remaining_ttl(now))
            # Retries count from the answers, not from before the send: a slow answer must not
            # eat into a 429's Retry-After.
            counts.update(self._apply(message, outcomes, self._clock(), stamps=push.counts_as_seen))
            # Raising now would hand the batch back to SQS and send it again (pushgate.settled_writes).
            write_settled("add_push_counts", self._completion.add_counts, push.push_id, dict(counts))
            return counts
        self._completion.add_counts(push.push_id, dict(counts))
        return counts

    def _apply(self, message: DeliveryMessage, outcomes: list[DeliveryOutcome], answered_at: float, stamps: bool = True) -> Counter[str]:
        now = int(answered_at)
        counts: Counter[str] = Counter()
        retry_at: defaultdict[int, list[DeliveryTarget]] = defaultdict(list)
        dead: defaultdict[str, list[DeliveryTarget]] = defaultdict(list)
        writes: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []  # per device, done side by side below
        prunes_for_gone: list[int] = []  # which of `writes` decide between "pruned" and "failed"
        kinds = Counter(outcome.kind for outcome in outcomes)
        self._count_in_metrics(kinds)
        for target, outcome in zip(message.devices, outcomes, strict=True):
            kind = outcome.kind
            if kind is OutcomeKind.SENT:
                counts["sent"] += 1
                if stamps and (target.last_success_at is None or now - target.last_success_at >= self._stamp_window):
                    writes.append((self._repository.record_delivery_success, (message.app_id, target.token_hash, now, target.topic)))
                continue
            if kind is OutcomeKind.GONE:
                prunes_for_gone.append(len(writes))
                writes.append((self._prune, (message.app_id, target, now)))
                continue
            writes.append((self._repository.record_delivery_failure, (message.app_id, target.token_hash, now)))
            if outcome.retryable and message.attempt + 1 < MAX_ATTEMPTS:
                retry_at[self._next_attempt_at(message, target, outcome, answered_at)].append(target)
                continue
            counts["failed"] += 1
            counts[failed_reason(reason_for(kind))] += 1
            if outcome.alarm:
                logger.warning("push service refused a delivery", extra={"outcome": kind.value, "endpoint_id": outcome.endpoint_id, "status": outcome.status_code, "reason": outcome.detail})
            if kind in (OutcomeKind.BLOCKED, OutcomeKind.INVALID_SUBSCRIPTION):
                writes.append((self._prune, (message.app_id, target, now)))  # a row that can never be delivered to
            if kind in (OutcomeKind.REJECTED, OutcomeKind.RETRY, OutcomeKind.RATE_LIMITED):
                dead[kind.value].append(target)
        results = self._write_all(writes)
        self._announce_prunes(message, [args[1] for (write, args), result in zip(writes, results, strict=True) if write == self._prune and result is True], now)
        pruned = sum(1 for index in prunes_for_gone if results[index] is True)
        counts["pruned"] += pruned
        counts["failed"] += len(prunes_for_gone) - pruned
        counts[failed_reason("not_pruned")] += len(prunes_for_gone) - pruned
        self._requeue(message, retry_at)
        self._count_for_app(message.app_id, counts, retried=sum(len(targets) for targets in retry_at.values()))
        for reason, targets in dead.items():
            # A batch id of its own, so that a redrive is not taken for the message already done.
            update = {"devices": targets, "dead_letter_reason": reason, "batch_id": f"{message.batch_id}.{reason}{message.attempt}"}
            self._dead_letters.send([message.model_copy(update=update)])
        return counts

    def _count_in_metrics(self, kinds: Counter[OutcomeKind]) -> None:
        """One value per outcome kind and batch, not one per delivery: Powertools writes a log
        line for every 100 values of a metric, and CloudWatch Logs bills for each byte."""
        alarming = sum(count for kind, count in kinds.items() if kind in ALARMING)
        # Powertools' metric set is a plain dict, and messages may be processed side by side.
        with self._metrics_lock:
            for kind, count in kinds.items():
                metrics.add_metric(name=f"{self._metric_prefix}_{kind.value}", unit=MetricUnit.Count, value=count)
            if alarming:
                metrics.add_metric(name="PushServiceConfigurationAlarm", unit=MetricUnit.Count, value=alarming)

    def _count_for_app(self, app_id: str, counts: Counter[str], retried: int = 0) -> None:
        """The batch's outcomes under the app's dimension. Counted from the push record's counts,
        not from the answers: whether a 404/410 pruned is known only once the prune is written (a
        re-subscribe with new keys keeps the row, and the delivery counts failed)."""
        outcomes = {"sent": counts["sent"], "failed": counts["failed"], "pruned": counts["pruned"], "retried": retried}
        for outcome, count in outcomes.items():
            app_metrics.add(app_id, APP_DELIVERY_METRICS[outcome], count, provider=self._provider)

    def _write_all(self, writes: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> list[Any]:
        """Run the batch's per-device writes BOOKKEEPING_THREADS at a time: one after the other,
        the hundred stamp writes of a first push would keep the sender waiting half a second a batch."""
        if len(writes) <= 1:
            return [self._after_send(write, *args) for write, args in writes]
        return list(self._bookkeeping.map(lambda job: self._after_send(job[0], *job[1]), writes))

    def _after_send(self, write: Callable[..., T], *args: Any) -> T | None:
        """A per-device write that follows a send. What a failure loses mends itself: the next
        success writes the stamp, the next 404/410 of the same endpoint finishes the prune."""
        try:
            return write(*args)
        except Exception:  # noqa: BLE001 - whatever failed, re-raising would send the whole batch again
            logger.exception("a write after a send failed; the batch is not retried for it", extra={"write": write.__name__})
            with self._metrics_lock:  # these run on the bookkeeping threads
                metrics.add_metric(name="DeliveryBookkeepingFailed", unit=MetricUnit.Count, value=1)
            return None

    def _prune(self, app_id: str, target: DeliveryTarget, now: int) -> bool:
        """True if this call expired the device. Its topic edges go too, also when an earlier prune
        expired it but did not get to the edges: fan-out reads the edges, not the device."""
        expired = self._repository.expire_device(app_id, target.token_hash, target.p256dh, target.auth, now)
        if not expired and not self._expired_with_same_keys(app_id, target):
            return False  # re-subscribed with new keys meanwhile: the new subscription stays
        self._after_send(self._remove_topic_edges, app_id, target.token_hash)
        return expired

    def _announce_prunes(self, message: DeliveryMessage, pruned: list[DeliveryTarget], now: int) -> None:
        """One device.pruned event per device this batch expired, with its user read back from the
        row (the batch carries no user ids); after the writes, so an event means a done prune."""
        if self._events is None or not pruned:
            return
        devices = self._write_all([(self._repository.get_device, (message.app_id, target.token_hash)) for target in pruned])
        self._events.publish([
            device_pruned(message.app_id, message.push_id, target.type, target.token_hash, device.user_id if device is not None else None, now)
            for target, device in zip(pruned, devices, strict=True)
        ])

    def _remove_topic_edges(self, app_id: str, token_hash: str) -> None:
        for topic in self._repository.device_topics(app_id, token_hash):
            self._repository.remove_topic(app_id, token_hash, topic)

    def _expired_with_same_keys(self, app_id: str, target: DeliveryTarget) -> bool:
        device = self._repository.get_device(app_id, target.token_hash)
        if device is None or device.status is not SubscriptionStatus.EXPIRED:
            return False
        keys = (device.keys.p256dh, device.keys.auth) if device.keys else (None, None)
        return keys == (target.p256dh, target.auth)

    def _next_attempt_at(self, message: DeliveryMessage, target: DeliveryTarget, outcome: DeliveryOutcome, answered_at: float) -> int:
        if outcome.retry_after is not None:
            return math.ceil(answered_at + outcome.retry_after)  # never early, not even by a fraction of a second
        backoff = BACKOFF_BASE_SECONDS * (2**message.attempt)
        return math.ceil(answered_at) + int(backoff * (1 + self._jitter(f"{message.batch_id}.{message.attempt}.{target.token_hash}")))

    def _requeue(self, message: DeliveryMessage, retry_at: dict[int, list[DeliveryTarget]]) -> None:
        now = self._clock()  # later than the answers by the bookkeeping writes: the delay is what is left
        for when, targets in sorted(retry_at.items()):
            retry = message.model_copy(
                update={"devices": targets, "attempt": message.attempt + 1, "not_before": when, "batch_id": batch_id(f"{message.batch_id}.{message.attempt + 1}", targets)}
            )
            self._delivery.send([retry], delay_seconds=min(MAX_DELAY_SECONDS, max(0, math.ceil(when - now))))
