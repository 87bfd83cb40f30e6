"""Per-app request rates (docs/limits.md): one token bucket per (app, API group).

Groups: "send" (docs/api.md §4) and "subscribe" (§1, §2, §3, §5). A refused request raises
`RateLimited`, which each surface's envelope words its own way. The limiter fails open: when its own
DynamoDB call fails the request goes through (logged, and counted as RateLimiterFailed), because a
limiter outage must not become an API outage."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from pushgate.errors import RateLimited
from pushgate.observability import logger, metrics, metrics_lock
from pushgate.repository.limits import LimitsMixin

SEND = "send"
SUBSCRIBE = "subscribe"


@dataclass(frozen=True)
class Rate:
    per_second: float
    burst: int

    @property
    def interval_ms(self) -> int:
        return max(1, round(1000 / self.per_second))


class RateLimiter:
    def __init__(self, repository: LimitsMixin, rates: dict[str, Rate], clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._rates = rates
        self._clock = clock

    def take(self, app_id: str, group: str, override: Rate | None = None) -> None:
        """One request of `app_id` on `group`; RateLimited when its bucket is empty."""
        rate = override or self._rates[group]
        try:
            decision = self._repository.take_token(app_id, group, int(self._clock() * 1000), rate.interval_ms, rate.burst)
        except (ClientError, BotoCoreError):
            logger.exception("rate limiter unavailable; letting the request through")
            with metrics_lock:
                metrics.add_metric(name="RateLimiterFailed", unit=MetricUnit.Count, value=1)
            return
        if not decision.allowed:
            raise RateLimited(group, max(1, math.ceil(decision.retry_after_ms / 1000)))
