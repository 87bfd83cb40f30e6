"""The stale-subscription sweep (docs/lifecycle.md): marks EXPIRED the active subscriptions, of
every surface and type, with no successful delivery and no re-subscribe for `stale_after_days`.

It never scans. Active device rows are indexed by the week of their last-seen stamp (GSI2,
`pushgate.repository.stale`), so "not seen since T" is a Query of each week wholly before T. The
week is a lower bound (a delivery's stamp does not move the index, so that it costs no index
write): each device found is reviewed on its own partition, its row and its topic edges, and is

- expired, with its topic edges removed as the delivery prune removes them, when none of its
  stamps is after T (conditionally on its version: a re-subscribe meanwhile wins);
- moved to the week it was last seen when a stamp is after T (a delivery through a topic, or by
  token or user): about one write per device per `stale_after_days`;
- taken out of the index when it is no longer active.

A run reviews the weeks from LOOKBACK_BUCKETS before T up to T, oldest first, and stops early
when told to (the Lambda timeout); what it left stays in the old weeks for the next run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from pushgate.events import EventBuffer, EventPublisher, device_stale
from pushgate.repository import Repository
from pushgate.repository.stale import buckets_wholly_before, last_seen

DAY_SECONDS = 86_400
# Two years of weeks before T: a run after an outage of the schedule that long still finds every
# device; an empty week costs one Query (half a read unit).
LOOKBACK_BUCKETS = 104
PAGE_SIZE = 500


@dataclass
class SweepReport:
    """What one run did: the --json of `pushgate sweep --now`, the function's result, its metrics."""

    stale_before: int  # epoch seconds: devices last seen before this are stale
    first_bucket: int
    end_bucket: int  # the weeks reviewed are [first_bucket, end_bucket)
    reviewed: int = 0
    expired: int = 0
    kept: int = 0  # seen after T after all: moved to the week they were last seen
    unindexed: int = 0  # no longer active: taken out of the index
    edges_removed: int = 0
    complete: bool = True  # False when the run stopped before the last week

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


class StaleSweepService:
    def __init__(
        self,
        repository: Repository,
        stale_after_days: int,
        clock: Callable[[], float] = time.time,
        lookback_buckets: int = LOOKBACK_BUCKETS,
        page_size: int = PAGE_SIZE,
        events: EventPublisher | None = None,
    ) -> None:
        if stale_after_days < 1:
            raise ValueError("stale_after_days must be at least 1")
        self._repository = repository
        self._stale_seconds = stale_after_days * DAY_SECONDS
        self._clock = clock
        self._lookback = lookback_buckets
        self._page_size = page_size
        self._events = events  # each expiry is announced as pushgate.device.stale (docs/events.md)

    def sweep(self, should_stop: Callable[[], bool] = lambda: False) -> SweepReport:
        now = int(self._clock())
        stale_before = now - self._stale_seconds
        end = buckets_wholly_before(stale_before)
        report = SweepReport(stale_before=stale_before, first_bucket=end - self._lookback, end_bucket=end)
        announce = EventBuffer(self._events)
        try:
            self._sweep_buckets(report, stale_before, now, announce, should_stop)
        finally:
            announce.flush()
        return report

    def _sweep_buckets(self, report: SweepReport, stale_before: int, now: int, announce: EventBuffer, should_stop: Callable[[], bool]) -> None:
        end = report.end_bucket
        for bucket in range(report.first_bucket, end):
            start = None
            while True:
                if should_stop():
                    report.complete = False
                    return
                page, start = self._repository.seen_bucket_page(bucket, start, self._page_size)
                for app_id, token_hash in page:
                    self._review(app_id, token_hash, stale_before, now, report, announce)
                if start is None:
                    break

    def _review(self, app_id: str, token_hash: str, stale_before: int, now: int, report: SweepReport, announce: EventBuffer) -> None:
        device, edges = self._repository.device_with_edges(app_id, token_hash)
        if device is None:
            return  # the index is eventually consistent: a row deleted a moment ago
        report.reviewed += 1
        if not device.active:
            report.unindexed += self._repository.unindex_inactive(app_id, token_hash)
            return
        seen = last_seen(device, edges)
        if seen >= stale_before:
            report.kept += self._repository.restamp_seen(device, seen)
            return
        if not self._repository.expire_stale_device(device, now):
            return  # changed since it was read (re-subscribed): the next run decides on fresh state
        report.expired += 1
        announce.add(device_stale(app_id, device.type.value, token_hash, device.user_id, seen, stale_before, now))
        for edge in edges:
            report.edges_removed += self._repository.remove_topic(app_id, token_hash, edge["topic"])
