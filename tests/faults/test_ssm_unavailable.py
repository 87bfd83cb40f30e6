"""Fault 4: SSM unavailable, so the sender cannot read its channel's VAPID private key. The
transport builds every signer before it sends anything, so a batch fails whole and comes back.
Target: nothing lost or duplicated; a batch that keeps failing is parked in the dead-letter queue
(pending, alarmed) and delivered once an operator redrives it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError, EndpointConnectionError

from tests.faults.figures import record
from tests.faults.web_world import MAX_RECEIVES, WebWorld


@contextmanager
def ssm_failing(times: int, error: Exception) -> Iterator[list[str]]:
    """The first `times` SSM calls raise `error`; yields the operations that were failed."""
    original = BaseClient._make_api_call
    failed: list[str] = []

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "ssm" and len(failed) < times:
            failed.append(operation)
            raise error
        return original(client, operation, params)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    try:
        yield failed
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]


ERRORS = {
    "throttled": ClientError({"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "GetParameter"),
    "unreachable": EndpointConnectionError(endpoint_url="https://ssm.us-east-1.amazonaws.com/"),
}


@pytest.mark.parametrize("error", list(ERRORS))
def test_ssm_failing_once_delays_the_batch_and_loses_nothing(web_world: WebWorld, error: str) -> None:
    push_id = web_world.post_push()
    with ssm_failing(1, ERRORS[error]) as failed:
        web_world.settle()
    assert failed == ["GetParameter"]
    figures = record(web_world.figures(f"ssm {error} once (VAPID key read)", push_id))
    assert figures.clean and figures.delivered == web_world.devices, figures


def test_ssm_down_for_every_receive_parks_the_batch_until_it_is_redriven(web_world: WebWorld) -> None:
    push_id = web_world.post_push()
    with ssm_failing(MAX_RECEIVES, ERRORS["unreachable"]) as failed:
        web_world.settle()
    assert len(failed) == MAX_RECEIVES
    down = record(web_world.figures("ssm unreachable for all 5 receives", push_id, note="parked, nothing sent"))
    assert (down.delivered, down.lost, down.duplicated, down.wrongly_pruned, down.counts_off) == (0, 0, 0, 0, 0), down
    assert down.parked == web_world.devices

    assert web_world.redrive() == 1
    web_world.settle()
    redriven = record(web_world.figures("  ... then redriven once ssm is back", push_id))
    assert redriven.clean and redriven.delivered == web_world.devices and redriven.parked == 0, redriven
