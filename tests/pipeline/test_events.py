"""Events on the bus under moto (docs/events.md): the fan-out and sender functions as wired, with a
recording transport, put their events through PutEvents on an EventBridge bus whose rule sends
them to an SQS queue, which is what these tests read: a 410 prunes and emits device.pruned, a push
emits push.completed once, however its last batches finish, and the stale sweep emits device.stale."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pushgate import events
from pushgate.delivery.outcomes import DeliveryOutcome, OutcomeKind
from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.pushes import DeliveryMessage, DeliveryTarget, Push
from pushgate.queues import Queue
from pushgate.services.delivery import DeliveryService
from pushgate.services.stale_sweep import StaleSweepService
from pushgate.services.subscriptions import WebSubscription
from pushgate.sqs import idempotency_store, sqs_entry
from pushgate.wiring import SENDER_MESSAGE_SECONDS
from tests.conftest import TABLE_NAME
from tests.keys import browser_keys
from tests.pipeline.conftest import RecordingTransport, drain, receive, sqs_event
from tests.pipeline.test_pipeline import http_event

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"
ENDPOINTS = [f"https://fcm.googleapis.com/wp/events-device-{i}" for i in range(3)]
BUS = "pushgate-test-events"


@pytest.fixture
def recorded(aws, monkeypatch) -> Callable[[], list[dict[str, Any]]]:  # noqa: ANN001
    """The bus, a rule sending its `pushgate` events to a queue, and what reached that queue."""
    client = __import__("boto3").client("events")
    client.create_event_bus(Name=BUS)
    queue_url = aws["sqs"].create_queue(QueueName="test-recorded-events")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    client.put_rule(Name="record", EventBusName=BUS, EventPattern=json.dumps({"source": ["pushgate"]}))
    client.put_targets(Rule="record", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
    monkeypatch.setenv(events.EVENT_BUS_ENV, BUS)
    events._publisher_for.cache_clear()  # a client of this moto account
    seen: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        seen.extend(json.loads(message["Body"]) for message in drain(aws["sqs"], queue_url))
        return list(seen)

    yield read
    events._publisher_for.cache_clear()


@pytest.fixture
def world(recorded, queues, pushgate, demo_app, import_handler):  # noqa: ANN001, ANN201
    """Three browsers of alice; the send_push and fan-out functions as deployed."""
    alice = Caller(app=demo_app.app, user_id="alice")
    for endpoint in ENDPOINTS:
        pushgate.subscriptions.subscribe_web(alice, WebSubscription.parse(pushgate.subscriptions.policy, endpoint, *browser_keys()))
    return {"queues": queues, "send": import_handler("send_push"), "fanout": import_handler("fanout")}


def push_and_fan_out(world, aws, demo_app, lambda_context) -> str:  # noqa: ANN001
    event = http_event("POST", "/push", "/push", f"api_key={demo_app.secret_key}", {"to": "/users/alice", "data": {"k": 1}})
    push_id = json.loads(world["send"].lambda_handler(event, lambda_context)["body"])["id"]
    while messages := receive(aws["sqs"], world["queues"]["FanoutQueue"]):
        assert world["fanout"].lambda_handler(sqs_event(messages), lambda_context) == {"batchItemFailures": []}
        for message in messages:
            aws["sqs"].delete_message(QueueUrl=world["queues"]["FanoutQueue"], ReceiptHandle=message["ReceiptHandle"])
    return push_id


def sender(pushgate, queues, transport, store_name: str = "test-sender"):  # noqa: ANN001, ANN201
    """The sender's entry point as wiring builds it (its publisher from the environment)."""
    import boto3

    sqs = boto3.client("sqs")
    service = DeliveryService(
        pushgate.repository, Queue(sqs, queues["DeliveryQueue"]), Queue(sqs, queues["DeliveryDeadLetterQueue"]), transport,
        events=events.publisher_from_env(),
    )
    return sqs_entry(DeliveryMessage, service.process, "[push_id, batch_id]", idempotency_store(TABLE_NAME, store_name), SENDER_MESSAGE_SECONDS, side_by_side=True)


def of_type(recorded_events: list[dict[str, Any]], detail_type: str) -> list[dict[str, Any]]:
    return [event for event in recorded_events if event["detail-type"] == detail_type]


def assert_documented(recorded_events: list[dict[str, Any]]) -> None:
    for event in recorded_events:
        jsonschema.validate(event, json.loads((SCHEMAS / f"{event['detail-type']}.json").read_text()))
    assert not any(endpoint in json.dumps(recorded_events) for endpoint in ENDPOINTS)  # credentials stay out


def test_a_410_prunes_the_device_and_emits_device_pruned(world, aws, pushgate, demo_app, recorded, lambda_context) -> None:  # noqa: ANN001
    push_id = push_and_fan_out(world, aws, demo_app, lambda_context)
    transport = RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.GONE})
    assert sender(pushgate, world["queues"], transport)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context) == {"batchItemFailures": []}

    app_id = demo_app.app.app_id
    assert pushgate.repository.get_device(app_id, token_hash(ENDPOINTS[0])).status is SubscriptionStatus.EXPIRED
    everything = recorded()
    assert_documented(everything)
    [pruned] = of_type(everything, events.DEVICE_PRUNED)
    assert pruned["source"] == "pushgate"
    detail = pruned["detail"]
    assert {key: detail[key] for key in ("app_id", "push_id", "device_type", "user_id", "token_hash")} == {
        "app_id": app_id, "push_id": push_id, "device_type": "web", "user_id": "alice", "token_hash": token_hash(ENDPOINTS[0])
    }
    [completed] = of_type(everything, events.PUSH_COMPLETED)
    assert completed["detail"]["push_id"] == push_id
    assert completed["detail"]["counts"] == {"targeted": 3, "sent": 2, "failed": 0, "pruned": 1, "cancelled": 0}


class MeetingTransport:
    """Holds each batch's send until `parties` batches are sending: they finish together."""

    def __init__(self, parties: int) -> None:
        self._barrier = threading.Barrier(parties, timeout=30)

    def send(self, push: Push, targets: Sequence[DeliveryTarget], ttl: int) -> list[DeliveryOutcome]:
        self._barrier.wait()
        return [DeliveryOutcome(OutcomeKind.SENT, "id", status_code=201) for _ in targets]


def split_batches(aws, queues) -> list[dict[str, Any]]:  # noqa: ANN001
    """The fan-out's one batch of three as two SQS messages (one and two devices), as a bigger
    audience would be cut: two batches whose counts complete the push between them."""
    [message] = drain(aws["sqs"], queues["DeliveryQueue"])
    batch = DeliveryMessage.model_validate_json(message["Body"])
    halves = [batch.model_copy(update={"devices": batch.devices[:1], "batch_id": "half-1"}), batch.model_copy(update={"devices": batch.devices[1:], "batch_id": "half-2"})]
    for half in halves:
        aws["sqs"].send_message(QueueUrl=queues["DeliveryQueue"], MessageBody=half.model_dump_json())
    messages = []
    while len(messages) < 2:
        messages.extend(receive(aws["sqs"], queues["DeliveryQueue"]))
    return messages


def test_push_completed_is_emitted_once_when_the_last_two_batches_finish_together(world, aws, pushgate, demo_app, recorded, lambda_context) -> None:  # noqa: ANN001
    push_id = push_and_fan_out(world, aws, demo_app, lambda_context)
    messages = split_batches(aws, world["queues"])
    # The two batches are processed side by side (as the sender does) and answered at the same moment.
    assert sender(pushgate, world["queues"], MeetingTransport(parties=2))(sqs_event(messages), lambda_context) == {"batchItemFailures": []}

    completed = of_type(recorded(), events.PUSH_COMPLETED)
    assert [event["detail"]["push_id"] for event in completed] == [push_id]
    assert completed[0]["detail"]["counts"]["sent"] == 3


def test_push_completed_is_not_emitted_again_when_a_batch_is_redelivered(world, aws, pushgate, demo_app, recorded, lambda_context) -> None:  # noqa: ANN001
    push_id = push_and_fan_out(world, aws, demo_app, lambda_context)
    deliveries = drain(aws["sqs"], world["queues"]["DeliveryQueue"])
    assert sender(pushgate, world["queues"], RecordingTransport())(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}
    # Redelivered to a sender that has no record of it (its idempotency record lost): it is sent
    # and counted again, and the push, complete already, is not announced again.
    assert sender(pushgate, world["queues"], RecordingTransport(), store_name="another-sender")(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}
    assert pushgate.repository.get_push(push_id).sent == 6
    assert [event["detail"]["push_id"] for event in of_type(recorded(), events.PUSH_COMPLETED)] == [push_id]


def test_a_push_with_nothing_to_deliver_completes_at_fan_out(world, aws, demo_app, recorded, lambda_context) -> None:  # noqa: ANN001
    event = http_event("POST", "/push", "/push", f"api_key={demo_app.secret_key}", {"to": ["unknown-token-1", "unknown-token-2"]})
    push_id = json.loads(world["send"].lambda_handler(event, lambda_context)["body"])["id"]
    while messages := receive(aws["sqs"], world["queues"]["FanoutQueue"]):
        world["fanout"].lambda_handler(sqs_event(messages), lambda_context)
        for message in messages:
            aws["sqs"].delete_message(QueueUrl=world["queues"]["FanoutQueue"], ReceiptHandle=message["ReceiptHandle"])
    [completed] = of_type(recorded(), events.PUSH_COMPLETED)
    assert completed["detail"]["push_id"] == push_id
    assert completed["detail"]["counts"]["failed"] == 2 and completed["detail"]["failed_reasons"] == {"unknown_device": 2}
    assert_documented([completed])


def test_the_stale_sweep_emits_device_stale_for_each_device_it_expires(world, pushgate, demo_app, recorded) -> None:  # noqa: ANN001
    later = time.time() + 400 * 86_400
    report = StaleSweepService(pushgate.repository, stale_after_days=180, clock=lambda: later, events=events.publisher_from_env()).sweep()
    assert report.expired == 3
    stale = of_type(recorded(), events.DEVICE_STALE)
    assert sorted(event["detail"]["token_hash"] for event in stale) == sorted(token_hash(endpoint) for endpoint in ENDPOINTS)
    assert {event["detail"]["user_id"] for event in stale} == {"alice"}
    assert all(event["detail"]["stale_before"] == report.stale_before for event in stale)
    assert_documented(stale)
