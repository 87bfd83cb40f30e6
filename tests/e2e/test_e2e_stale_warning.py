"""StaleWarningPush end to end (docs/lifecycle.md): a local stack started with the parameter on,
a browser at an independent push service (web-push-testing) whose subscription was last seen 266
days ago, and the stale sweep's schedule run now (POST /_pushgate/local/schedules/StaleSweepFunction,
what the daily schedule runs). The browser receives one {"type": "pushgate.expiring"} data push,
decrypted by the push service; its delivery leaves the subscription's last-seen time as it was,
and the next run sends nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pushgate.config import Settings
from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.repository.stale import bucket_start, seen_bucket
from pushgate.services.stale_sweep import DAY_SECONDS, WARNING_DAYS
from pushgate.services.subscriptions import SubscriptionService, WebSubscription
from pushgate.wiring import build_services
from pushgate_local.process import LocalStackProcess, running_stack
from tests.e2e.push_service import LoopbackPushService

pytestmark = pytest.mark.e2e

STALE_AFTER_DAYS = 270  # the template's default
DELIVERY_TIMEOUT_SECONDS = 60


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, push_service: LoopbackPushService) -> Iterator[LocalStackProcess]:
    """The stack with StaleWarningPush on, allowed to send to the loopback push service (conftest.py)."""
    with running_stack(tmp_path_factory.mktemp("warning-stack"), push_service.push_host, {"PUSHGATE_STALE_WARNING_PUSH": "true"}) as stack:
        yield stack


def run_the_sweep_schedule(stack: LocalStackProcess) -> dict[str, Any]:
    response = requests.post(f"{stack.http_url}/_pushgate/local/schedules/StaleSweepFunction", timeout=120)
    assert response.status_code == 200, response.text
    (run,) = response.json()["runs"]
    return run["result"]


def test_a_subscription_expiring_within_a_week_receives_one_warning_that_does_not_keep_it_alive(
    stack: LocalStackProcess, push_service: LoopbackPushService
) -> None:
    settings = Settings(table_name=stack.discovery["table_name"], ssm_prefix=stack.discovery["ssm_prefix"],
                        extra_push_hosts=(push_service.push_host,))  # as the stack's own settings allow it
    core = build_services(settings, stack.aws_client("dynamodb"))
    app = core.repository.get_app(stack.demo()["app_id"])
    browser = push_service.subscribe(stack.demo()["channels"][0]["vapid_public_key"])

    # Last seen in the last index week wholly before the warning's cut, after the stale cut: it
    # expires within a week. Registered by the repository's own code with that clock.
    cut = time.time() - STALE_AFTER_DAYS * DAY_SECONDS
    seen = (cut + bucket_start(seen_bucket(int(cut + WARNING_DAYS * DAY_SECONDS)))) / 2
    then = SubscriptionService(core.repository, core.subscriptions.policy, clock=lambda: seen)
    then.subscribe_web(Caller(app=app, user_id="expiring"), WebSubscription.parse(then.policy, browser.endpoint, browser.p256dh, browser.auth))
    key = token_hash(browser.endpoint)
    seen_before = core.repository.get_device(app.app_id, key).last_success_at

    result = run_the_sweep_schedule(stack)
    assert result["warned"] >= 1 and result["warnings_not_sent"] == 0, result

    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while not (messages := push_service.messages(browser)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [message["data"] for message in messages] == [{"type": "pushgate.expiring"}], f"{messages}\n{stack.logs()}"
    push = requests.get(f"{stack.http_url}/pushes/{messages[0]['id']}", params={"api_key": stack.demo()["secret_key"]}, timeout=30).json()["push"]
    assert push["counts"]["sent"] == 1

    device = core.repository.get_device(app.app_id, key)
    assert device.status is SubscriptionStatus.ACTIVE and device.last_success_at == seen_before  # not a sign of life

    assert run_the_sweep_schedule(stack)["warned"] == 0  # warned once
    time.sleep(2)  # what a second warning would need to arrive, had one been sent
    assert len(push_service.messages(browser)) == 1


def test_only_an_enabled_schedule_runs_and_only_by_post(stack: LocalStackProcess) -> None:
    base = f"{stack.http_url}/_pushgate/local/schedules"
    assert requests.get(f"{base}/StaleSweepFunction", timeout=30).status_code == 405
    assert requests.post(f"{base}/NoSuchFunction", timeout=30).status_code == 404
    refused = requests.post(f"{base}/StaleSweepFunction", headers={"Origin": "https://attacker.example"}, timeout=30)
    assert refused.status_code == 403
