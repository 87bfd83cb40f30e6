"""`pushgate sweep --now` (docs/lifecycle.md): the stale-subscription sweep that the stack's
StaleSweepFunction runs daily, run once now on the stack's table, with the stack's StaleAfterDays."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from pushgate.services.stale_sweep import StaleSweepService
from pushgate_cli.errors import CliError
from pushgate_cli.output import Output
from pushgate_cli.target import Stack


def sweep_now(stack: Stack, stale_after_days: int | None = None, clock: Callable[[], float] = time.time) -> Output:
    days = stale_after_days or stack.stale_after_days
    if days is None:
        raise CliError(f"{stack.description} does not say its StaleAfterDays: pass --stale-after-days DAYS")
    report = StaleSweepService(stack.services.repository, days, clock, events=stack.events).sweep()
    data = {"stale_after_days": days, **report.as_dict()}
    cut = datetime.fromtimestamp(report.stale_before, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    lines = [
        f"Swept {stack.description}: subscriptions not seen since {cut} ({days} days)",
        f"  reviewed       {report.reviewed}",
        f"  expired        {report.expired} (with {report.edges_removed} topic subscriptions)",
        f"  kept           {report.kept} (seen since, through a topic or a delivery)",
        f"  unindexed      {report.unindexed} (no longer active)",
    ]
    return Output(data, "\n".join(lines))
