"""Stale sweep (docs/lifecycle.md): run daily by its Schedule event (and on demand by `pushgate
sweep --now`), it marks EXPIRED the subscriptions not seen for PUSHGATE_STALE_AFTER_DAYS."""

import os

from aws_lambda_powertools.metrics import MetricUnit

from pushgate.observability import logger, metrics, tracer
from pushgate.wiring import stale_sweep_service

# Left for the review in progress and the metrics when the run stops; the next run goes on.
STOP_MARGIN_MS = 30_000

sweep = stale_sweep_service(int(os.environ["PUSHGATE_STALE_AFTER_DAYS"]))


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def lambda_handler(event: dict, context: object) -> dict:
    report = sweep.sweep(should_stop=lambda: context.get_remaining_time_in_millis() < STOP_MARGIN_MS)  # type: ignore[attr-defined]
    metrics.add_metric(name="StaleSubscriptionsExpired", unit=MetricUnit.Count, value=report.expired)
    metrics.add_metric(name="StaleSubscriptionsKept", unit=MetricUnit.Count, value=report.kept)
    metrics.add_metric(name="StaleTopicEdgesRemoved", unit=MetricUnit.Count, value=report.edges_removed)
    metrics.add_metric(name="StaleWarningsSent", unit=MetricUnit.Count, value=report.warned)
    if not report.complete:
        metrics.add_metric(name="StaleSweepIncomplete", unit=MetricUnit.Count, value=1)
    logger.info("stale sweep done", extra={"sweep": report.as_dict(), "scheduled_at": event.get("time")})
    return report.as_dict()
