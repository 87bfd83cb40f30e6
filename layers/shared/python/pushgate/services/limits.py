"""Per-app request rates (docs/limits.md): one token bucket per (app, API group).

Groups: "send" (docs/api.md §4, and §0's POST /sessions) and "subscribe" (§1, §2, §3, §5). A
refused request raises `RateLimited` (and counts in the metric RequestsRateLimited), which each
surface's envelope words its own way. The limiter fails open: when its own
DynamoDB call fails the request goes through (logged, and counted as RateLimiterFailed), because a
limiter outage must not become an API outage.

A request is counted once its caller is authenticated (the Authenticator calls `admit`), against
the group its surface set for the request with `counted_as` (pushgate.http.resolver, pushgate.websocket):
requests that fail authentication cost the app nothing, so holding the public key alone is not
enough to use up an app's budget. Outside a request (the CLI, the local stack's own calls) there
is no group and nothing is counted."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from pushgate.errors import RateLimited
from pushgate.models import App
from pushgate.observability import logger, metrics, metrics_lock
from pushgate.repository.limits import LimitsMixin

SEND = "send"
SUBSCRIBE = "subscribe"
GROUPS = (SEND, SUBSCRIBE)
# A bucket holds this many seconds of its rate: a client may catch up after a pause (a page
# load's few calls, a backend's batch) without being refused, yet a flood is cut within seconds.
BURST_SECONDS = 2
# Rates are counted in whole milliseconds between requests, so one bucket cannot go faster; one
# DynamoDB item also takes at most 1,000 writes a second.
MAX_RATE_PER_SECOND = 1000

_request_group: ContextVar[str | None] = ContextVar("pushgate_rate_limit_group", default=None)


@contextmanager
def counted_as(group: str) -> Iterator[None]:
    """Within this block, an authenticated request counts against the app's `group` bucket."""
    token = _request_group.set(group)
    try:
        yield
    finally:
        _request_group.reset(token)


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    @property
    def interval_ms(self) -> int:
        return max(1, round(1000 / self.per_second))

    @classmethod
    def per_second_with_burst(cls, per_second: float) -> "Rate":
        """`per_second`, with a bucket of BURST_SECONDS of it (at least one request)."""
        if not 0 < per_second <= MAX_RATE_PER_SECOND:
            raise ValueError(f"a rate is more than 0 and at most {MAX_RATE_PER_SECOND} requests per second, not {per_second}")
        return cls(per_second, max(1, math.ceil(per_second * BURST_SECONDS)))


class RateLimiter:
    def __init__(self, repository: LimitsMixin, rates: dict[str, Rate | None], clock: Callable[[], float] = time.time) -> None:
        """`rates`: the deployment's rate of each group; None leaves that group unlimited."""
        self._repository = repository
        self._rates = rates
        self._clock = clock

    def rate_for(self, app: App, group: str) -> Rate | None:
        """The app's own rate for the group when it has one, else the deployment's."""
        own = getattr(app.rate_limits, group)
        return Rate.per_second_with_burst(own) if own else self._rates.get(group)

    def admit(self, app: App) -> None:
        """Count an authenticated request of `app` against the group of the request in progress
        (see counted_as); RateLimited when its bucket is empty."""
        group = _request_group.get()
        if group is None:
            return
        rate = self.rate_for(app, group)
        if rate is not None:
            self.take(app.app_id, group, rate)

    def take(self, app_id: str, group: str, override: Rate | None = None) -> None:
        """One request of `app_id` on `group`; RateLimited when its bucket is empty."""
        rate = override or self._rates[group]
        if rate is None:
            return
        try:
            decision = self._repository.take_token(app_id, group, int(self._clock() * 1000), rate.interval_ms, rate.burst)
        except (ClientError, BotoCoreError):
            logger.exception("rate limiter unavailable; letting the request through")
            with metrics_lock:
                metrics.add_metric(name="RateLimiterFailed", unit=MetricUnit.Count, value=1)
            return
        if not decision.allowed:
            with metrics_lock:
                metrics.add_metric(name="RequestsRateLimited", unit=MetricUnit.Count, value=1)
            raise RateLimited(group, max(1, math.ceil(decision.retry_after_ms / 1000)))
