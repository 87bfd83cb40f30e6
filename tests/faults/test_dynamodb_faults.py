"""Fault 3: DynamoDB throttling and timeouts at each call the pipeline makes (fan-out, sender,
idempotency records), one call site at a time, each failing once. Target: no device lost or
wrongly pruned, none sent twice, the push's counts exact."""

from __future__ import annotations

from dataclasses import replace

import pytest

from tests.faults.dynamodb_faults import DynamoCalls, DynamoFault, watched_dynamodb
from tests.faults.figures import Figures, record
from tests.faults.web_world import Misbehaviour, WebWorld, path_of

MIN_SITES = 10  # what the pipeline calls today is more: fewer means the discovery went wrong


def run(world: WebWorld, calls: DynamoCalls) -> tuple[str, Figures]:
    """One push to the topic: a device that is gone (410), one answered 503 once, the rest fine."""
    world.reset()
    gone, flaky = path_of(world.endpoints[0]), path_of(world.endpoints[1])
    world.push_service.trouble.update({gone: [Misbehaviour.GONE], flaky: [Misbehaviour.SERVER_ERROR]})
    world.push_service.persistent.add(gone)
    push_id = world.post_push()
    with watched_dynamodb(calls):
        calls.armed = True
        world.settle()
    return push_id, world.figures("", push_id)


_SITES: list[tuple[str, str]] = []  # found by the first test that needs them: the same for all


def call_sites_of(world: WebWorld) -> list[tuple[str, str]]:
    if not _SITES:
        calls = DynamoCalls()
        _, figures = run(world, calls)
        assert figures.clean and figures.delivered == world.devices - 1, figures
        _SITES.extend(sorted(calls.sites))
    return list(_SITES)


@pytest.mark.parametrize("fault", list(DynamoFault), ids=lambda fault: fault.name.lower())
def test_a_dynamodb_fault_at_any_call_site_loses_and_duplicates_nothing(web_world: WebWorld, fault: DynamoFault) -> None:
    sites = call_sites_of(web_world)
    assert len(sites) >= MIN_SITES, sites
    rows, violations = [], []
    for site in sites:
        calls = DynamoCalls(target=site, fault=fault)
        _, figures = run(web_world, calls)
        assert calls.injected == 1, f"{site} was not called again"
        rows.append(figures)
        if not figures.clean:
            violations.append(f"{site[0]} {site[1]}: {figures}")
    total = Figures(
        fault=f"dynamodb {fault.value}, once at each of {len(sites)} call sites",
        targeted=sum(r.targeted for r in rows),
        delivered=sum(r.delivered for r in rows),
        lost=sum(r.lost for r in rows),
        duplicated=sum(r.duplicated for r in rows),
        wrongly_pruned=sum(r.wrongly_pruned for r in rows),
        counts_off=sum(r.counts_off for r in rows),
        note="; ".join(v.split(":")[0] for v in violations),
    )
    record(total)
    assert not violations, "\n".join(violations)


def test_a_counts_write_that_keeps_failing_is_given_up_not_raised(web_world: WebWorld, caplog: pytest.LogCaptureFixture) -> None:
    """pushgate.settled_writes: the fan-out's counts write throttled on every try is retried, then
    given up with a log line; nothing is sent twice for it, and the push is left short of counts
    (its `targeted`), which is the price of not sending twice."""
    from pushgate.settled_writes import ATTEMPTS

    calls = DynamoCalls(target=("pushes.PushesMixin.add_push_counts", "UpdateItem"), times=ATTEMPTS)
    push_id, figures = run(web_world, calls)
    assert calls.injected == ATTEMPTS
    record(replace(figures, fault=f"dynamodb throttled {ATTEMPTS} times in a row (fan-out's counts write)", note="counts given up, logged"))
    assert (figures.lost, figures.duplicated, figures.wrongly_pruned, figures.delivered) == (0, 0, 0, web_world.devices - 1), figures
    assert web_world.push(push_id).targeted == 0  # the one write that was given up
    given_up = [r for r in caplog.records if r.getMessage().startswith("a write after work already done failed")]
    assert [getattr(r, "write", None) for r in given_up] == ["add_push_counts"]
