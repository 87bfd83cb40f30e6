"""Scheduled functions on the local stack: the template's Schedule events (the stale sweep's daily
run), their rate expressions, the event EventBridge sends, and the real StaleSweepFunction run
from the template by a schedule against the embedded AWS endpoint."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from pushgate_local.aws_endpoint import AwsEndpoint
from pushgate_local.intrinsics import StackContext, stack_parameters
from pushgate_local.lambda_runtime import Invocation, LambdaRuntime, deployment_from_template
from pushgate_local.provisioning import create_tables
from pushgate_local.schedules import ScheduleEventSource, Schedules, rate_seconds, schedule_event_sources, scheduled_event
from pushgate_local.template import REPO_ROOT, UnsupportedTemplate, functions, load_template


@pytest.mark.parametrize(
    ("expression", "seconds"), [("rate(1 day)", 86_400), ("rate(5 minutes)", 300), ("rate(1 minute)", 60), ("rate(12 hours)", 43_200)]
)
def test_rate_expressions_give_their_period(expression: str, seconds: int) -> None:
    assert rate_seconds(expression) == seconds


@pytest.mark.parametrize("expression", ["rate(1 days)", "rate(2 day)", "rate(0 minutes)", "cron(0 3 * * ? *)", "every day"])
def test_anything_else_is_refused_at_start(expression: str) -> None:
    with pytest.raises(UnsupportedTemplate):
        rate_seconds(expression)


def test_the_stale_sweep_runs_daily_from_the_template() -> None:
    sources = schedule_event_sources(load_template())
    assert [(s.function, s.name, s.period_seconds, s.enabled) for s in sources] == [("StaleSweepFunction", "Daily", 86_400, True)]


def _context(endpoint_url: str) -> StackContext:
    template = load_template()
    return StackContext(template, stack_parameters(template, {}), endpoint_url)


def test_the_event_is_the_one_eventbridge_sends() -> None:
    context = _context("http://127.0.0.1:1")
    (source,) = schedule_event_sources(context.template)
    event = scheduled_event(source, context, datetime(2026, 11, 24, tzinfo=UTC))
    sample = json.loads((REPO_ROOT / "events" / "schedule-stale-sweep.json").read_text())
    assert set(event) == set(sample)
    assert {k: event[k] for k in ("version", "detail-type", "source", "detail", "time")} == {
        k: sample[k] for k in ("version", "detail-type", "source", "detail", "time")
    }
    assert event["resources"] == [f"arn:aws:events:{context.region}:{context.account_id}:rule/{context.stack_name}-StaleSweepFunctionDaily"]


def test_each_enabled_schedule_invokes_its_function_every_period() -> None:
    invoked: list[tuple[str, dict[str, Any]]] = []
    twice = threading.Event()

    def invoke(function: str, event: dict[str, Any]) -> Invocation:
        invoked.append((function, event))
        if len(invoked) >= 2:
            twice.set()
        return Invocation("request", payload={})

    sources = [
        ScheduleEventSource("TickFunction", "Tick", "rate(1 minute)", period_seconds=0.05),  # type: ignore[arg-type]
        ScheduleEventSource("OffFunction", "Off", "rate(1 minute)", period_seconds=0.05, enabled=False),  # type: ignore[arg-type]
    ]
    schedules = Schedules(sources, _context("http://127.0.0.1:1"), invoke)
    assert len(schedules) == 1
    schedules.start()
    try:
        assert twice.wait(timeout=30)
    finally:
        schedules.stop()
    assert {function for function, _ in invoked} == {"TickFunction"}
    assert all(event["detail-type"] == "Scheduled Event" for _, event in invoked)


def test_the_schedule_runs_the_real_sweep_function_from_the_template(aws_endpoint: AwsEndpoint) -> None:
    context = _context(aws_endpoint.url)
    create_tables(context, aws_endpoint.client("dynamodb"))
    spec = functions(context.template)["StaleSweepFunction"]
    runtime = LambdaRuntime({spec.logical_id: deployment_from_template(spec, context)})
    try:
        (source,) = schedule_event_sources(context.template)
        invocation = Schedules([source], context, runtime.invoke).run_once(source)
    finally:
        runtime.close()
    assert not invocation.failed, invocation.error
    assert invocation.payload["complete"] is True and invocation.payload["expired"] == 0
    # StaleAfterDays' default (270), resolved into the function's environment as CloudFormation would.
    assert abs(invocation.payload["stale_before"] - (time.time() - 270 * 86_400)) < 3_600
