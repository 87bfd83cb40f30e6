"""`pushgate sweep --now` (docs/lifecycle.md): the stale sweep run on demand, on a stack reached as
every command reaches one, with the stack's own StaleAfterDays (a deployed stack's parameter, the
local stack's discovery document) or --stale-after-days."""

from __future__ import annotations

import json
import os
import time
from typing import Any

import pytest

from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.services.stale_sweep import DAY_SECONDS
from pushgate.services.subscriptions import SubscriptionService, WebSubscription
from tests.keys import browser_keys

OLD = "https://fcm.googleapis.com/fcm/send/not-seen-for-a-year"
FRESH = "https://fcm.googleapis.com/fcm/send/seen-today"


def _subscribe(stack: Any, app_id: str, endpoint: str, days_ago: int) -> None:
    """A subscription registered `days_ago` (and not seen since)."""
    then = time.time() - days_ago * DAY_SECONDS
    service = SubscriptionService(stack.services.repository, stack.services.subscriptions.policy, clock=lambda: then)
    app = stack.services.repository.get_app(app_id)
    service.subscribe_web(Caller(app=app, user_id="alice"), WebSubscription.parse(service.policy, endpoint, *browser_keys()))


def _status(stack: Any, app_id: str, endpoint: str) -> SubscriptionStatus:
    return stack.services.repository.get_device(app_id, token_hash(endpoint)).status


@pytest.fixture
def two_subscriptions(stack: Any, created_app: dict[str, Any]) -> str:
    _subscribe(stack, created_app["app_id"], OLD, days_ago=365)
    _subscribe(stack, created_app["app_id"], FRESH, days_ago=0)
    return created_app["app_id"]


def test_sweep_now_expires_what_was_not_seen_with_the_days_given(cli, stack, two_subscriptions) -> None:  # noqa: ANN001
    result = cli("sweep", "--now", "--stale-after-days", "270", "--json")
    assert result.code == 0, result.stderr
    assert result.json["stale_after_days"] == 270
    assert (result.json["expired"], result.json["reviewed"], result.json["complete"]) == (1, 1, True)
    assert _status(stack, two_subscriptions, OLD) is SubscriptionStatus.EXPIRED
    assert _status(stack, two_subscriptions, FRESH) is SubscriptionStatus.ACTIVE


def test_sweep_now_uses_the_stacks_own_stale_after_days(run_cli, stack, two_subscriptions) -> None:  # noqa: ANN001
    from dataclasses import replace

    lenient = replace(stack, stale_after_days=400)  # the old one was seen 365 days ago: not stale yet
    result = run_cli("sweep", "--now", "--json", stack=lenient)
    assert result.code == 0, result.stderr
    assert (result.json["stale_after_days"], result.json["expired"]) == (400, 0)
    assert _status(stack, two_subscriptions, OLD) is SubscriptionStatus.ACTIVE


def test_sweep_now_prints_a_summary_without_json(cli, two_subscriptions) -> None:  # noqa: ANN001
    result = cli("sweep", "--now", "--stale-after-days", "270")
    assert result.code == 0, result.stderr
    assert "expired        1" in result.stdout and "(270 days)" in result.stdout


def test_a_stack_that_does_not_say_its_stale_after_days_asks_for_it(cli) -> None:  # noqa: ANN001
    result = cli("sweep", "--now", "--json")
    assert result.code == 1
    assert "--stale-after-days" in result.json["error"]


@pytest.mark.parametrize("argv", [["sweep"], ["sweep", "--now", "--stale-after-days", "0"], ["sweep", "--now", "--stale-after-days", "soon"]])
def test_sweep_needs_now_and_a_whole_number_of_days(run_cli, argv: list[str]) -> None:  # noqa: ANN001
    result = run_cli(*argv, "--json")
    assert result.code == 2
    assert "error" in result.json


def test_a_deployed_stacks_parameter_is_its_stale_after_days(run_cli, aws, stack, two_subscriptions) -> None:  # noqa: ANN001
    import boto3

    template = {
        "Parameters": {"StaleAfterDays": {"Type": "Number", "Default": 270}},
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TableName": {"Value": os.environ["TABLE_NAME"]}, "SsmPrefix": {"Value": "/pushgate/test"}},
    }
    boto3.client("cloudformation").create_stack(
        StackName="pushgate-prod", TemplateBody=json.dumps(template), Parameters=[{"ParameterKey": "StaleAfterDays", "ParameterValue": "300"}]
    )
    result = run_cli("--stack", "pushgate-prod", "--region", "us-east-1", "sweep", "--now", "--json")
    assert result.code == 0, result.stderr
    assert (result.json["stale_after_days"], result.json["expired"]) == (300, 1)
    assert _status(stack, two_subscriptions, OLD) is SubscriptionStatus.EXPIRED
