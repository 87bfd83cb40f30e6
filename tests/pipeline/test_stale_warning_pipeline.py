"""StaleWarningPush under moto (docs/lifecycle.md): the sweep as wiring builds it for its function
(PUSHGATE_STALE_WARNING_PUSH=true) finds, through the GSI2 weeks, the subscription that expires
within a week, marks it, and creates a push of {"type": "pushgate.expiring"} that the deployed
fan-out function and a sender deliver to it alone; the next run sends nothing more."""

from __future__ import annotations

import json
import time

import boto3
import pytest

from pushgate import config, wiring
from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.pushes import DeliveryMessage
from pushgate.queues import Queue
from pushgate.repository.stale import bucket_start, seen_bucket
from pushgate.services.delivery import DeliveryService
from pushgate.services.stale_sweep import DAY_SECONDS, WARNING_DAYS
from pushgate.services.subscriptions import SubscriptionService, WebSubscription
from pushgate.sqs import idempotency_store, sqs_entry
from pushgate.wiring import SENDER_MESSAGE_SECONDS
from tests.conftest import TABLE_NAME
from tests.keys import browser_keys
from tests.pipeline.conftest import RecordingTransport, drain, receive, sqs_event

STALE_DAYS = 270
ENDPOINTS = {name: f"https://fcm.googleapis.com/wp/warning-{name}" for name in ("expiring", "fresh", "stale")}


@pytest.fixture
def warning_on(queues, monkeypatch) -> dict[str, str]:  # noqa: ANN001
    monkeypatch.setenv("PUSHGATE_STALE_WARNING_PUSH", "true")
    config.settings.cache_clear()
    wiring.push_service.cache_clear()
    return queues


def subscribe_at(pushgate, app, name: str, when: float) -> None:  # noqa: ANN001
    """alice's browser, registered at `when` (the repository's own code, with that clock)."""
    service = SubscriptionService(pushgate.repository, pushgate.subscriptions.policy, clock=lambda: when)
    service.subscribe_web(Caller(app=app, user_id="alice"), WebSubscription.parse(service.policy, ENDPOINTS[name], *browser_keys()))


def deliver(aws, queues, import_handler, lambda_context, pushgate) -> RecordingTransport:  # noqa: ANN001
    """The fan-out function on what the fan-out queue holds, then a sender on its batches."""
    fanout = import_handler("fanout")
    while messages := receive(aws["sqs"], queues["FanoutQueue"]):
        assert fanout.lambda_handler(sqs_event(messages), lambda_context) == {"batchItemFailures": []}
        for message in messages:
            aws["sqs"].delete_message(QueueUrl=queues["FanoutQueue"], ReceiptHandle=message["ReceiptHandle"])
    transport = RecordingTransport()
    sqs = boto3.client("sqs")
    service = DeliveryService(pushgate.repository, Queue(sqs, queues["DeliveryQueue"]), Queue(sqs, queues["DeliveryDeadLetterQueue"]), transport)
    entry = sqs_entry(DeliveryMessage, service.process, "[push_id, batch_id]", idempotency_store(TABLE_NAME, "warning-sender"), SENDER_MESSAGE_SECONDS, side_by_side=True)
    assert entry(sqs_event(drain(aws["sqs"], queues["DeliveryQueue"])), lambda_context) == {"batchItemFailures": []}
    return transport


def test_the_device_expiring_within_a_week_gets_one_expiring_push(warning_on, aws, pushgate, demo_app, import_handler, lambda_context) -> None:  # noqa: ANN001
    now = time.time()
    cut = now - STALE_DAYS * DAY_SECONDS
    warn_before = cut + WARNING_DAYS * DAY_SECONDS
    app = demo_app.app
    # In the last week wholly before the warning's cut, after the stale cut: expires within a week.
    subscribe_at(pushgate, app, "expiring", (cut + bucket_start(seen_bucket(warn_before))) / 2)
    subscribe_at(pushgate, app, "fresh", now - 30 * DAY_SECONDS)
    subscribe_at(pushgate, app, "stale", cut - 30 * DAY_SECONDS)

    report = wiring.stale_sweep_service(STALE_DAYS).sweep()
    assert (report.warned, report.expired, report.warnings_not_sent) == (1, 1, 0)
    seen_before = pushgate.repository.get_device(app.app_id, token_hash(ENDPOINTS["expiring"])).last_success_at

    transport = deliver(aws, warning_on, import_handler, lambda_context, pushgate)
    assert [endpoint for _, endpoint, _ in transport.sent] == [ENDPOINTS["expiring"]]
    [(push_id, _, _)] = transport.sent
    push = pushgate.repository.get_push(push_id)
    assert (push.app_id, push.targeted, push.sent) == (app.app_id, 1, 1)
    assert json.loads(push.payload) == {"id": push_id, "data": {"type": "pushgate.expiring"}}
    # Delivered, the warning is not a sign of life: its device still expires on time.
    assert push.counts_as_seen is False
    assert pushgate.repository.get_device(app.app_id, token_hash(ENDPOINTS["expiring"])).last_success_at == seen_before

    statuses = {name: pushgate.repository.get_device(app.app_id, token_hash(endpoint)).status for name, endpoint in ENDPOINTS.items()}
    assert statuses == {"expiring": SubscriptionStatus.ACTIVE, "fresh": SubscriptionStatus.ACTIVE, "stale": SubscriptionStatus.EXPIRED}

    again = wiring.stale_sweep_service(STALE_DAYS).sweep()  # the next run: already warned
    assert again.warned == 0 and receive(aws["sqs"], warning_on["FanoutQueue"]) == []


def test_without_the_setting_the_sweep_makes_no_push(queues, aws, pushgate, demo_app) -> None:  # noqa: ANN001
    cut = time.time() - STALE_DAYS * DAY_SECONDS
    subscribe_at(pushgate, demo_app.app, "expiring", (cut + bucket_start(seen_bucket(cut + WARNING_DAYS * DAY_SECONDS))) / 2)
    report = wiring.stale_sweep_service(STALE_DAYS).sweep()
    assert report.warned == 0 and receive(aws["sqs"], queues["FanoutQueue"]) == []
