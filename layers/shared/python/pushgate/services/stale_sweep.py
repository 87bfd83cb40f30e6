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
when told to (the Lambda timeout); what it left stays in the old weeks for the next run.

With StaleWarningPush (a `warn` callable), it also reviews the weeks up to T + WARNING_DAYS, and
each active device last seen before then (it expires within WARNING_DAYS) gets one data push
`{"type": "pushgate.expiring"}`, through the normal pipeline (one push per app and 10,000 tokens,
as POST /push makes it). Its row is marked for that last-seen time first (`expiry_warned_for`,
conditional), so the next day's run does not warn it again: at most one warning per unseen
stretch."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from pushgate.events import EventBuffer, EventPublisher, device_stale
from pushgate.models import Device
from pushgate.observability import logger
from pushgate.repository import Repository
from pushgate.repository.stale import buckets_wholly_before, last_seen, seen_bucket

DAY_SECONDS = 86_400
# Two years of weeks before T: a run after an outage of the schedule that long still finds every
# device; an empty week costs one Query (half a read unit).
LOOKBACK_BUCKETS = 104
PAGE_SIZE = 500
WARNING_DAYS = 7  # StaleWarningPush: how long before its expiry a device is warned
EXPIRING_DATA = {"type": "pushgate.expiring"}
MAX_TOKENS_PER_PUSH = 10_000  # a token list of POST /push (docs/api.md §4)


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
    warned: int = 0  # StaleWarningPush: devices sent the pushgate.expiring push
    warnings_not_sent: int = 0  # marked warned, but their push could not be created (logged)
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
        warn: Callable[[str, list[str]], object] | None = None,
    ) -> None:
        if stale_after_days < 1:
            raise ValueError("stale_after_days must be at least 1")
        if warn is not None and stale_after_days <= WARNING_DAYS:
            raise ValueError(f"a warning {WARNING_DAYS} days ahead needs stale_after_days over {WARNING_DAYS}")
        self._repository = repository
        self._stale_seconds = stale_after_days * DAY_SECONDS
        self._clock = clock
        self._lookback = lookback_buckets
        self._page_size = page_size
        self._events = events  # each expiry is announced as pushgate.device.stale (docs/events.md)
        self._warn = warn  # (app_id, tokens): sends one pushgate.expiring push to them

    def sweep(self, should_stop: Callable[[], bool] = lambda: False) -> SweepReport:
        now = int(self._clock())
        stale_before = now - self._stale_seconds
        warn_before = stale_before + WARNING_DAYS * DAY_SECONDS if self._warn is not None else stale_before
        end = buckets_wholly_before(stale_before)
        report = SweepReport(stale_before=stale_before, first_bucket=end - self._lookback, end_bucket=buckets_wholly_before(warn_before))
        announce = EventBuffer(self._events)
        warnings = _Warnings(self._warn, report) if self._warn is not None else None
        try:
            self._sweep_buckets(report, (stale_before, warn_before), now, announce, warnings, should_stop)
        finally:
            announce.flush()
            if warnings is not None:
                warnings.flush()
        return report

    def _sweep_buckets(self, report: SweepReport, cuts: tuple[int, int], now: int, announce: EventBuffer,
                       warnings: "_Warnings | None", should_stop: Callable[[], bool]) -> None:
        end = report.end_bucket
        for bucket in range(report.first_bucket, end):
            start = None
            while True:
                if should_stop():
                    report.complete = False
                    return
                page, start = self._repository.seen_bucket_page(bucket, start, self._page_size)
                for app_id, token_hash in page:
                    self._review(app_id, token_hash, bucket, cuts, now, report, announce, warnings)
                if start is None:
                    break

    def _review(self, app_id: str, token_hash: str, bucket: int, cuts: tuple[int, int], now: int, report: SweepReport,
                announce: EventBuffer, warnings: "_Warnings | None") -> None:
        stale_before, warn_before = cuts
        wholly_stale = bucket < buckets_wholly_before(stale_before)  # else a week read only to warn
        device, edges = self._repository.device_with_edges(app_id, token_hash)
        if device is None:
            return  # the index is eventually consistent: a row deleted a moment ago
        report.reviewed += 1
        if not device.active:
            report.unindexed += self._repository.unindex_inactive(app_id, token_hash)
            return
        seen = last_seen(device, edges)
        if seen >= stale_before or not wholly_stale:
            # Expired only once its week is wholly stale, warned or not: a warning goes out 7 daily
            # runs before the run that expires the device.
            if seen_bucket(seen) > bucket:  # seen later than its week says: move it there
                report.kept += self._repository.restamp_seen(device, seen)
            if seen < warn_before and warnings is not None and self._repository.mark_expiry_warned(device, seen):
                warnings.add(device)
            return
        if not self._repository.expire_stale_device(device, now):
            return  # changed since it was read (re-subscribed): the next run decides on fresh state
        report.expired += 1
        announce.add(device_stale(app_id, device.type.value, token_hash, device.user_id, seen, stale_before, now))
        for edge in edges:
            report.edges_removed += self._repository.remove_topic(app_id, token_hash, edge["topic"])


class _Warnings:
    """The devices to warn, a push per app and MAX_TOKENS_PER_PUSH tokens. A push that cannot be
    created is logged and counted, never raised: the sweep's expiries matter more."""

    def __init__(self, send: Callable[[str, list[str]], object], report: SweepReport) -> None:
        self._send = send
        self._report = report
        self._tokens: dict[str, list[str]] = {}

    def add(self, device: Device) -> None:
        tokens = self._tokens.setdefault(device.app_id, [])
        tokens.append(device.token)
        if len(tokens) >= MAX_TOKENS_PER_PUSH:
            self._send_app(device.app_id)

    def flush(self) -> None:
        for app_id in list(self._tokens):
            self._send_app(app_id)

    def _send_app(self, app_id: str) -> None:
        tokens = self._tokens.pop(app_id, [])
        if not tokens:
            return
        try:
            self._send(app_id, tokens)
        except Exception:  # noqa: BLE001 - the devices stay marked: at most one warning, never two
            logger.exception("expiry warning push not created", extra={"app_id": app_id, "devices": len(tokens)})
            self._report.warnings_not_sent += len(tokens)
            return
        self._report.warned += len(tokens)


def expiry_warning_sender(repository: Repository, pushes: Any) -> Callable[[str, list[str]], str]:
    """StaleWarningPush's `warn`: a push of EXPIRING_DATA to the tokens, made by the service POST
    /push uses (`pushes`: a PushService), so fan-out and the senders deliver it like any other."""

    def send(app_id: str, tokens: list[str]) -> str:
        app = repository.get_app(app_id)
        if app is None:
            raise LookupError(f"no app {app_id}")
        return pushes.create(app, {"to": tokens, "data": dict(EXPIRING_DATA)}, counts_as_seen=False)

    return send
