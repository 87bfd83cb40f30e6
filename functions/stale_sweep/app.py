"""Stale sweep (docs/lifecycle.md): run daily by its Schedule event (and on demand by `pushgate
sweep --now`), it marks EXPIRED the subscriptions not seen for PUSHGATE_STALE_AFTER_DAYS."""

import os

from aws_lambda_powertools.metrics import MetricUnit

from pushgate.events import publisher_from_env
from pushgate.observability import logger, metrics, tracer
from pushgate.services.stale_sweep import StaleSweepService
from pushgate.wiring import services

# Left for the review in progress and the metrics when the run stops; the next run goes on.
STOP_MARGIN_MS = 30_000

sweep = StaleSweepService(services().repository, int(os.environ["PUSHGATE_STALE_AFTER_DAYS"]), events=publisher_from_env())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: object) -> dict:
    report = sweep.sweep(should_stop=lambda: context.get_remaining_time_in_millis() < STOP_MARGIN_MS)  # type: ignore[attr-defined]
    metrics.add_metric(name="StaleSubscriptionsExpired", unit=MetricUnit.Count, value=report.expired)
    metrics.add_metric(name="StaleSubscriptionsKept", unit=MetricUnit.Count, value=report.kept)
    metrics.add_metric(name="StaleTopicEdgesRemoved", unit=MetricUnit.Count, value=report.edges_removed)
    if not report.complete:
        metrics.add_metric(name="StaleSweepIncomplete", unit=MetricUnit.Count, value=1)
    logger.info("stale sweep done", extra={"sweep": report.as_dict(), "scheduled_at": event.get("time")})
    return report.as_dict()
