"""docs/lifecycle.md end to end: `pushgate sweep --now` on the running local stack marks EXPIRED a
subscription not seen for StaleAfterDays, and leaves one that subscribed through the account API
today. The old subscription is made by the repository's own code against the stack's embedded
AWS endpoint, with a clock a year back: nothing test-only is in the stack."""

from __future__ import annotations

import time

import pytest
import requests

from pushgate.config import Settings
from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.services.subscriptions import SubscriptionService, WebSubscription
from pushgate.wiring import build_services

from tests.e2e.clients import pushgate_cli
from tests.e2e.local_stack import LocalStackProcess, new_subscription

pytestmark = pytest.mark.e2e

DAY = 86_400


def test_sweep_now_expires_an_old_subscription_and_keeps_a_fresh_one(local_stack: LocalStackProcess) -> None:
    assert local_stack.discovery["stale_after_days"] == 270  # the template's default, as the function gets it
    settings = Settings(table_name=local_stack.discovery["table_name"], ssm_prefix=local_stack.discovery["ssm_prefix"])
    core = build_services(settings, local_stack.aws_client("dynamodb"))
    app = core.repository.get_app(local_stack.demo()["app_id"])

    old = new_subscription()
    a_year_ago = time.time() - 365 * DAY
    then = SubscriptionService(core.repository, core.subscriptions.policy, clock=lambda: a_year_ago)
    then.subscribe_web(Caller(app=app, user_id="sweep-old"), WebSubscription.parse(then.policy, old.endpoint, old.p256dh, old.auth))

    fresh = new_subscription()
    session_id = local_stack.create_session("sweep-fresh")
    response = requests.get(f"{local_stack.http_url}/{app.account_id}/push_subscribe", params=fresh.params(session_id), timeout=30)
    assert response.ok, response.text

    result = pushgate_cli(local_stack, "sweep", "--now")
    assert result["stale_after_days"] == 270 and result["complete"] is True
    assert result["expired"] >= 1

    assert core.repository.get_device(app.app_id, token_hash(old.endpoint)).status is SubscriptionStatus.EXPIRED
    # Announced on the stack's bus, as the scheduled function announces it (docs/events.md).
    events = requests.get(f"{local_stack.http_url}/_pushgate/local/events", params={"detail-type": "pushgate.device.stale"}, timeout=30).json()
    stale = [event["detail"] for event in events["events"] if event["detail"]["token_hash"] == token_hash(old.endpoint)]
    assert [(detail["app_id"], detail["user_id"]) for detail in stale] == [(app.app_id, "sweep-old")]
    assert core.repository.get_device(app.app_id, token_hash(fresh.endpoint)).status is SubscriptionStatus.ACTIVE
    again = pushgate_cli(local_stack, "sweep", "--now")
    assert again["expired"] == 0  # what expired left the index; nothing else here is old
