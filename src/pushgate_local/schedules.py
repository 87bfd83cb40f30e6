"""Scheduled functions, as EventBridge runs them: every `Type: Schedule` event of a function in
the template (`Schedule: rate(N unit)`) invokes it every N units with the event EventBridge sends
(detail-type "Scheduled Event"), the first time one period after the stack starts, as a rule's
first run comes one period after it is created.

Only rate expressions: a cron expression would need a calendar the local stack has no use for
yet, so a template with one is refused at start rather than silently never run."""

from __future__ import annotations

import json
import re
import sys
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pushgate_local.demo_routes import same_origin_loopback
from pushgate_local.http_events import HttpRequest, HttpResponse, json_message
from pushgate_local.intrinsics import StackContext
from pushgate_local.lambda_runtime import Invocation
from pushgate_local.template import UnsupportedTemplate, functions

_RATE = re.compile(r"^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86_400}
STOP_JOIN_SECONDS = 1.0
# POST <this><FunctionLogicalId>: run that function's schedules now, once, and answer its result.
RUN_NOW_PATH = "/_pushgate/local/schedules/"


def rate_seconds(expression: str) -> int:
    """The period of an EventBridge rate expression; EventBridge's own rules: a value of 1 takes
    the singular unit, any other value the plural."""
    match = _RATE.match(expression.strip())
    if not match:
        raise UnsupportedTemplate(f"the local stack runs rate(N unit) schedules only, not {expression!r}")
    value, unit = int(match.group(1)), match.group(2)
    if value < 1 or (value == 1) != (not unit.endswith("s")):
        raise UnsupportedTemplate(f"not a valid rate expression: {expression!r}")
    return value * _UNIT_SECONDS[unit.rstrip("s")]


@dataclass(frozen=True)
class ScheduleEventSource:
    """A template event of Type Schedule on a function."""

    function: str  # logical id
    name: str  # the event's name under Events
    expression: str
    period_seconds: int
    enabled: bool = True


def schedule_event_sources(template: dict[str, Any] | None = None) -> list[ScheduleEventSource]:
    sources = []
    for spec in functions(template).values():
        for name, event in spec.events.items():
            if event.get("Type") != "Schedule":
                continue
            props = event["Properties"]
            enabled = bool(props.get("Enabled", True)) and props.get("State", "ENABLED") == "ENABLED"
            expression = props["Schedule"]
            sources.append(ScheduleEventSource(spec.logical_id, name, expression, rate_seconds(expression), enabled))
    return sources


def rule_arn(source: ScheduleEventSource, context: StackContext) -> str:
    """The ARN of the rule SAM makes for the event (named after the function and the event)."""
    return f"arn:aws:events:{context.region}:{context.account_id}:rule/{context.stack_name}-{source.function}{source.name}"


def scheduled_event(source: ScheduleEventSource, context: StackContext, when: datetime) -> dict[str, Any]:
    """The event EventBridge hands a function for one run of a schedule."""
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": context.account_id,
        "time": when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": context.region,
        "resources": [rule_arn(source, context)],
        "detail": {},
    }


class Schedules:
    """Every enabled schedule of the template, each on a thread of its own."""

    def __init__(
        self,
        sources: list[ScheduleEventSource],
        context: StackContext,
        invoke: Callable[[str, dict[str, Any]], Invocation],
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.sources = [source for source in sources if source.enabled]
        self._context = context
        self._invoke = invoke
        self._clock = clock
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def __len__(self) -> int:
        return len(self.sources)

    def run_once(self, source: ScheduleEventSource) -> Invocation:
        invocation = self._invoke(source.function, scheduled_event(source, self._context, self._clock()))
        if invocation.failed:
            # As EventBridge would, the run is not repeated; the next period runs it again.
            print(f"[{source.function}] scheduled run ({source.name}) failed: {invocation.error}", file=sys.stderr)
        return invocation

    def respond(self, request: HttpRequest) -> HttpResponse | None:
        """POST /_pushgate/local/schedules/<function>: what its schedule does, now (a day's wait is
        not what a developer trying StaleWarningPush wants); None for any other path."""
        if not request.raw_path.startswith(RUN_NOW_PATH):
            return None
        if request.method != "POST":
            return json_message(405, "Method Not Allowed")
        if not same_origin_loopback(request):
            return json_message(403, "the local schedules answer only this machine's tools and the stack's pages")
        function = request.raw_path[len(RUN_NOW_PATH):]
        sources = [source for source in self.sources if source.function == function]
        if not sources:
            return json_message(404, f"no enabled schedule runs {function!r}")
        results = []
        for source in sources:
            invocation = self.run_once(source)
            if invocation.failed:
                return json_message(500, f"{function} failed: {(invocation.error or {}).get('errorType', 'error')}")
            results.append({"schedule": source.name, "result": invocation.payload})
        body = json.dumps({"function": function, "runs": results}).encode()
        return HttpResponse(200, [("content-type", "application/json")], body)

    def _run(self, source: ScheduleEventSource) -> None:
        while not self._stopping.wait(source.period_seconds):
            try:
                self.run_once(source)
            except Exception as error:  # the runtime closing at shutdown: the next period tries again
                if not self._stopping.is_set():
                    print(f"[{source.function}] scheduled run ({source.name}): {error!r}", file=sys.stderr)

    def start(self) -> None:
        for source in self.sources:
            thread = threading.Thread(target=self._run, args=(source,), name=f"schedule-{source.function}-{source.name}")
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        for thread in self._threads:
            thread.join(timeout=STOP_JOIN_SECONDS)
