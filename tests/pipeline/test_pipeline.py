"""POST /push -> fan-out -> sender, under moto with real SQS batch events (docs/api.md §4, §7)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from pushgate.delivery.outcomes import OutcomeKind
from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.pushes import MAX_PAYLOAD_BYTES
from pushgate.queues import Queue
from pushgate.services.delivery import DeliveryService
from pushgate.services.subscriptions import WebSubscription
from pushgate.sqs import idempotency_store, sqs_entry
from pushgate.wiring import FANOUT_MESSAGE_SECONDS, SENDER_MESSAGE_SECONDS
from pushgate.pushes import DeliveryMessage
from tests.conftest import TABLE_NAME, LambdaContext
from tests.keys import browser_keys
from tests.pipeline.conftest import RecordingTransport, bodies, drain, receive, sqs_event

ENDPOINTS = [f"https://fcm.googleapis.com/wp/device-{i}" for i in range(3)]


def http_event(method: str, path: str, route: str, query: str, body: Any = None, path_parameters: dict | None = None) -> dict[str, Any]:
    event = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": {"content-type": "application/json"},
        "requestContext": {"http": {"method": method, "path": path, "sourceIp": "203.0.113.7"}, "requestId": "id", "routeKey": f"{method} {route}", "stage": "$default"},
        "isBase64Encoded": False,
    }
    if body is not None:
        event["body"] = json.dumps(body)
    if path_parameters:
        event["pathParameters"] = path_parameters
    return event


@pytest.fixture
def world(queues, pushgate, demo_app, import_handler):  # noqa: ANN001, ANN201
    """Three browsers of alice subscribed to the topic `news`."""
    alice = Caller(app=demo_app.app, user_id="alice")
    for endpoint in ENDPOINTS:
        p256dh, auth = browser_keys()
        pushgate.subscriptions.subscribe_web(alice, WebSubscription.parse(pushgate.subscriptions.policy, endpoint, p256dh, auth))
        pushgate.topics.subscribe(demo_app.app, endpoint, ["news"])
    return {"queues": queues, "send": import_handler("send_push"), "get": import_handler("get_push"),
            "cancel": import_handler("cancel_push"), "fanout": import_handler("fanout")}


def post_push(world, demo_app, body, lambda_context) -> tuple[int, dict]:  # noqa: ANN001
    response = world["send"].lambda_handler(http_event("POST", "/push", "/push", f"api_key={demo_app.secret_key}", body), lambda_context)
    return response["statusCode"], json.loads(response["body"])


def push_status(world, demo_app, push_id, lambda_context) -> dict:  # noqa: ANN001
    event = http_event("GET", f"/pushes/{push_id}", "/pushes/{push_id}", f"api_key={demo_app.secret_key}", path_parameters={"push_id": push_id})
    response = world["get"].lambda_handler(event, lambda_context)
    return json.loads(response["body"])


def sender(pushgate, queues, transport, clock=None, repository=None, store=None, **options):  # noqa: ANN001, ANN003, ANN201
    """The sender's entry point exactly as functions/webpush_sender wires it, with a fake transport;
    `options` go to DeliveryService as they are (success_stamp_seconds=0 stamps every success)."""
    import boto3

    sqs = boto3.client("sqs")
    kwargs = ({"clock": clock} if clock else {}) | options
    service = DeliveryService(repository or pushgate.repository, Queue(sqs, queues["DeliveryQueue"]), Queue(sqs, queues["DeliveryDeadLetterQueue"]), transport, **kwargs)
    return sqs_entry(DeliveryMessage, service.process, "[push_id, batch_id]", store or idempotency_store(TABLE_NAME, "test-sender"), SENDER_MESSAGE_SECONDS, side_by_side=True)


def run_fanout(world, aws, lambda_context) -> None:  # noqa: ANN001
    while messages := receive(aws["sqs"], world["queues"]["FanoutQueue"]):
        result = world["fanout"].lambda_handler(sqs_event(messages), lambda_context)
        assert result == {"batchItemFailures": []}
        for message in messages:
            aws["sqs"].delete_message(QueueUrl=world["queues"]["FanoutQueue"], ReceiptHandle=message["ReceiptHandle"])


def test_push_to_a_topic_reaches_every_subscriber_once_and_counts(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    status, body = post_push(world, demo_app, {"to": "/topics/news", "notification": {"title": "Hi", "body": "there"}, "data": {"k": 1}}, lambda_context)
    assert status == 200 and body["success"] is True
    push_id = body["id"]
    run_fanout(world, aws, lambda_context)
    deliveries = drain(aws["sqs"], world["queues"]["DeliveryQueue"])
    transport = RecordingTransport()
    handler = sender(pushgate, world["queues"], transport)
    assert handler(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}
    assert sorted(endpoint for _, endpoint, _ in transport.sent) == sorted(ENDPOINTS)
    assert all(86_390 <= ttl <= 86_400 for _, _, ttl in transport.sent)  # the default, less time queued
    # The same SQS message delivered again sends nothing more.
    assert handler(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}
    assert len(transport.sent) == 3
    counts = push_status(world, demo_app, push_id, lambda_context)["push"]
    assert counts["status"] == "done"
    assert counts["counts"] == {"targeted": 3, "sent": 3, "failed": 0, "pruned": 0, "pending": 0, "cancelled": 0}
    payload = json.loads(pushgate.repository.get_push(push_id).payload)
    assert payload == {"id": push_id, "notification": {"title": "Hi", "body": "there"}, "data": {"k": 1}}


def test_each_form_of_to_targets_the_right_devices(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    cases = [(ENDPOINTS[0], 1), ([ENDPOINTS[0], ENDPOINTS[1], "unknown-token"], 3), ("/users/alice", 3), (["/topics/news", "/topics/none"], 3)]
    for to, targeted in cases:
        _, body = post_push(world, demo_app, {"to": to, "data": {"x": 1}}, lambda_context)
        run_fanout(world, aws, lambda_context)
        counts = push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]
        assert counts["targeted"] == targeted, to
    assert push_status(world, demo_app, post_push(world, demo_app, {"to": ["a", "b", "unknown"]}, lambda_context)[1]["id"], lambda_context)
    drain(aws["sqs"], world["queues"]["DeliveryQueue"])


@pytest.mark.parametrize("order", [["news", "sports"], ["sports", "news"]])
def test_a_device_in_several_topics_of_one_push_gets_it_once(world, aws, pushgate, demo_app, lambda_context, order) -> None:  # noqa: ANN001
    # Given two of the three `news` browsers also in `sports`, and a fourth browser in `sports` only
    alice = Caller(app=demo_app.app, user_id="alice")
    fourth = "https://fcm.googleapis.com/wp/device-sports-only"
    pushgate.subscriptions.subscribe_web(alice, WebSubscription.parse(pushgate.subscriptions.policy, fourth, *browser_keys()))
    for endpoint in (ENDPOINTS[0], ENDPOINTS[1], fourth):
        pushgate.topics.subscribe(demo_app.app, endpoint, ["sports"])

    # When one push goes to both topics
    _, body = post_push(world, demo_app, {"to": [f"/topics/{topic}" for topic in order], "data": {"x": 1}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    transport = RecordingTransport()
    assert sender(pushgate, world["queues"], transport)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context) == {"batchItemFailures": []}

    # Then each of the four devices is sent the push once, and counted once
    assert sorted(endpoint for _, endpoint, _ in transport.sent) == sorted([*ENDPOINTS, fourth])
    counts = push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]
    assert (counts["targeted"], counts["sent"], counts["pending"]) == (4, 4, 0)


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({}, "INVALID_PARAM"),
        ({"to": 5}, "INVALID_PARAM"),
        ({"to": "/topics/bad topic"}, "INVALID_PARAM"),
        ({"to": "x", "urgency": "urgent"}, "INVALID_PARAM"),
        ({"to": "x", "time_to_live": -1}, "INVALID_PARAM"),
        ({"to": "x", "time_to_live": 2_419_201}, "INVALID_PARAM"),
        ({"to": "x", "notification": {"title": 1}}, "INVALID_PARAM"),
        ({"to": "x", "data": "y" * MAX_PAYLOAD_BYTES}, "PAYLOAD_TOO_LARGE"),
    ],
)
def test_bad_pushes_are_refused_before_anything_is_queued(world, aws, demo_app, lambda_context, body, code) -> None:  # noqa: ANN001
    status, answer = post_push(world, demo_app, body, lambda_context)
    assert (status, answer["code"]) == (400, code)
    assert receive(aws["sqs"], world["queues"]["FanoutQueue"]) == []


def test_payload_limit_is_exactly_3993_bytes(world, demo_app, lambda_context) -> None:  # noqa: ANN001
    overhead = len(json.dumps({"id": "p" * 26, "data": ""}, separators=(",", ":")))
    assert post_push(world, demo_app, {"to": "x", "data": "y" * (MAX_PAYLOAD_BYTES - overhead)}, lambda_context)[0] == 200
    assert post_push(world, demo_app, {"to": "x", "data": "y" * (MAX_PAYLOAD_BYTES - overhead + 1)}, lambda_context)[0] == 400


def test_gone_prunes_but_403_never_does(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    _, body = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    transport = RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.GONE, ENDPOINTS[1]: OutcomeKind.REJECTED, ENDPOINTS[2]: OutcomeKind.REJECTED})
    sender(pushgate, world["queues"], transport)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)
    app_id = demo_app.app.app_id
    assert pushgate.repository.get_device(app_id, token_hash(ENDPOINTS[0])).status is SubscriptionStatus.EXPIRED
    assert pushgate.repository.device_topics(app_id, token_hash(ENDPOINTS[0])) == []
    for endpoint in ENDPOINTS[1:]:
        device = pushgate.repository.get_device(app_id, token_hash(endpoint))
        assert device.status is SubscriptionStatus.ACTIVE and device.failure_count == 1
    dead = bodies(drain(aws["sqs"], world["queues"]["DeliveryDeadLetterQueue"]))
    assert [d["dead_letter_reason"] for d in dead] == ["rejected"] and len(dead[0]["devices"]) == 2
    counts = push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]
    assert (counts["pruned"], counts["failed"], counts["pending"]) == (1, 2, 0)
    assert dict(pushgate.topics.list_topics(demo_app.app))["news"] == 2


def test_outcomes_reach_cloudwatch_as_one_count_per_kind_and_batch(world, aws, pushgate, demo_app, lambda_context, capsys) -> None:  # noqa: ANN001
    post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    capsys.readouterr()
    transport = RecordingTransport(script={ENDPOINTS[1]: OutcomeKind.REJECTED})
    sender(pushgate, world["queues"], transport)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)

    # The EMF document the sender's invocation wrote to its log (what CloudWatch turns into metrics):
    # two deliveries sent in one batch are one value of 2, not two values of 1.
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    emf = [document for document in emf if "app" not in document]  # per-app lines: tests/pipeline/test_app_metrics.py
    assert len(emf) == 1
    values = {name: emf[0].get(name) for name in ("WebPush_sent", "WebPush_rejected", "PushServiceConfigurationAlarm")}
    assert values == {"WebPush_sent": [2.0], "WebPush_rejected": [1.0], "PushServiceConfigurationAlarm": [1.0]}


def test_prune_is_conditional_so_a_resubscribe_with_new_keys_survives(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    post_push(world, demo_app, {"to": ENDPOINTS[0], "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    deliveries = drain(aws["sqs"], world["queues"]["DeliveryQueue"])
    p256dh, auth = browser_keys()  # the browser re-subscribes before the 410 comes back
    pushgate.subscriptions.subscribe_web(Caller(app=demo_app.app, user_id="alice"), WebSubscription.parse(pushgate.subscriptions.policy, ENDPOINTS[0], p256dh, auth))
    sender(pushgate, world["queues"], RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.GONE}))(sqs_event(deliveries), lambda_context)
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINTS[0])).status is SubscriptionStatus.ACTIVE


class RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[tuple[DeliveryMessage, int]] = []

    def send(self, messages, delay_seconds: int = 0) -> None:  # noqa: ANN001
        self.sent.extend((message, delay_seconds) for message in messages)


def test_429_is_retried_no_sooner_than_retry_after(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    _, body = post_push(world, demo_app, {"to": ENDPOINTS[0], "data": {}}, lambda_context)
    now = [float(pushgate.repository.get_push(body["id"]).created_at + 5)]
    run_fanout(world, aws, lambda_context)
    (message,) = [DeliveryMessage.model_validate(b) for b in bodies(drain(aws["sqs"], world["queues"]["DeliveryQueue"]))]
    retries, dead = RecordingQueue(), RecordingQueue()
    limited = RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.RATE_LIMITED}, retry_after=120)
    DeliveryService(pushgate.repository, retries, dead, limited, clock=lambda: now[0]).process(message)
    (retry, delay), = retries.sent
    assert (retry.not_before, retry.attempt, delay) == (int(now[0]) + 120, 1, 120)
    # Delivered early (SQS delays are approximate, and cap at 15 minutes): it waits again, sending nothing.
    now[0] += 60
    fine, waiting = RecordingTransport(), RecordingQueue()
    DeliveryService(pushgate.repository, waiting, dead, fine, clock=lambda: now[0]).process(retry)
    assert fine.sent == [] and waiting.sent == [(retry, 61)]
    now[0] += 61
    DeliveryService(pushgate.repository, RecordingQueue(), dead, fine, clock=lambda: now[0]).process(retry)
    assert [endpoint for _, endpoint, _ in fine.sent] == [ENDPOINTS[0]]
    assert push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]["sent"] == 1


def test_5xx_backs_off_then_dead_letters_after_the_last_attempt(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    _, body = post_push(world, demo_app, {"to": ENDPOINTS[0], "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    (message,) = [DeliveryMessage.model_validate(b) for b in bodies(drain(aws["sqs"], world["queues"]["DeliveryQueue"]))]
    failing = RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.RETRY})
    soon = float(pushgate.repository.get_push(body["id"]).created_at + 5)
    delays = []
    while True:
        retries, dead = RecordingQueue(), RecordingQueue()
        DeliveryService(pushgate.repository, retries, dead, failing, clock=lambda: soon, jitter=lambda _retry: 0.0).process(message)
        if not retries.sent:
            break
        (message, delay), = retries.sent
        message = message.model_copy(update={"not_before": None})
        delays.append(delay)
    assert delays == [10, 20, 40, 80]
    assert [m.dead_letter_reason for m, _ in dead.sent] == ["retry"]
    device = pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINTS[0]))
    assert device.status is SubscriptionStatus.ACTIVE and device.failure_count == 5
    assert push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]["failed"] == 1


def test_ttl_sent_is_reduced_by_the_time_spent_queued(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    _, body = post_push(world, demo_app, {"to": ENDPOINTS[0], "time_to_live": 600}, lambda_context)
    run_fanout(world, aws, lambda_context)
    created = pushgate.repository.get_push(body["id"]).created_at
    transport = RecordingTransport()
    sender(pushgate, world["queues"], transport, clock=lambda: created + 250)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)
    assert transport.sent[0][2] == 350


def one_message_per_endpoint(world, aws, demo_app, lambda_context) -> list[dict[str, Any]]:  # noqa: ANN001
    """A push to each endpoint, fanned out: three delivery messages of one device each."""
    for endpoint in ENDPOINTS:
        post_push(world, demo_app, {"to": endpoint, "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    deliveries = drain(aws["sqs"], world["queues"]["DeliveryQueue"])
    assert len(deliveries) == 3
    return deliveries


def message_id_for(deliveries: list[dict[str, Any]], endpoint: str) -> str:
    return next(m["MessageId"] for m in deliveries if bodies([m])[0]["devices"][0]["token"] == endpoint)


def test_a_failing_record_is_the_only_one_retried(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    deliveries = one_message_per_endpoint(world, aws, demo_app, lambda_context)

    class Exploding(RecordingTransport):
        def send(self, push, targets, ttl):  # noqa: ANN001, ANN201
            if targets[0].token == ENDPOINTS[1]:
                raise ConnectionError("the push service's DNS is down")
            return super().send(push, targets, ttl)

    transport = Exploding()
    result = sender(pushgate, world["queues"], transport)(sqs_event(deliveries), lambda_context)
    failed_id = message_id_for(deliveries, ENDPOINTS[1])
    assert result == {"batchItemFailures": [{"itemIdentifier": failed_id}]}
    assert sorted(e for _, e, _ in transport.sent) == sorted([ENDPOINTS[0], ENDPOINTS[2]])


def test_cancel_stops_what_is_not_yet_sent(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    _, body = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    event = http_event("DELETE", f"/pushes/{body['id']}", "/pushes/{push_id}", f"api_key={demo_app.secret_key}", path_parameters={"push_id": body["id"]})
    assert json.loads(world["cancel"].lambda_handler(event, lambda_context)["body"]) == {"success": True}
    transport = RecordingTransport()
    sender(pushgate, world["queues"], transport)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)
    assert transport.sent == []
    status = push_status(world, demo_app, body["id"], lambda_context)["push"]
    assert status["status"] == "cancelled" and status["counts"]["cancelled"] == 3 and status["counts"]["pending"] == 0


def test_unknown_push_ids_and_other_apps_pushes_are_invalid_push_id(world, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    _, body = post_push(world, demo_app, {"to": ENDPOINTS[0]}, lambda_context)
    other = pushgate.apps().create_app("other")
    for key, push_id in ((demo_app.secret_key, "0" * 26), (other.secret_key, body["id"]), (demo_app.secret_key, "bad!id")):
        event = http_event("GET", f"/pushes/{push_id}", "/pushes/{push_id}", f"api_key={key}", path_parameters={"push_id": push_id})
        response = world["get"].lambda_handler(event, lambda_context)
        assert (response["statusCode"], json.loads(response["body"])["code"]) == (404, "INVALID_PUSH_ID")


class Throttled:
    """The repository, with some of its writes failing as DynamoDB fails them once botocore's own
    retries are spent."""

    def __init__(self, repository, failing: set[str]) -> None:  # noqa: ANN001
        self._repository = repository
        self._failing = failing

    def __getattr__(self, name: str) -> Any:
        if name not in self._failing:
            return getattr(self._repository, name)

        def throttled(*args: Any, **kwargs: Any) -> None:
            from botocore.exceptions import ClientError

            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate exceeded"}}, "UpdateItem")

        return throttled


def test_a_failing_write_after_the_sends_does_not_send_the_batch_again(world, aws, pushgate, demo_app, lambda_context, capsys, caplog) -> None:  # noqa: ANN001
    _, body = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    deliveries = drain(aws["sqs"], world["queues"]["DeliveryQueue"])
    capsys.readouterr()
    transport = RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.GONE, ENDPOINTS[1]: OutcomeKind.REJECTED})
    throttled = Throttled(pushgate.repository, {"record_delivery_success", "record_delivery_failure", "expire_device"})
    # A window of 0 stamps every success (a fresh registration's stamp would otherwise skip it).
    handler = sender(pushgate, world["queues"], transport, repository=throttled, success_stamp_seconds=0)
    assert handler(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}
    assert handler(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}  # SQS redelivers it anyway
    assert sorted(endpoint for _, endpoint, _ in transport.sent) == sorted(ENDPOINTS)  # each sent once
    stdout = capsys.readouterr().out
    emf = [json.loads(line) for line in stdout.splitlines() if line.startswith('{"_aws"')]
    assert emf[0]["DeliveryBookkeepingFailed"] == [1.0, 1.0, 1.0]  # a stamp, a failure count, a prune
    logs = stdout + caplog.text
    assert "a write after a send failed" in logs and not any(endpoint in logs for endpoint in ENDPOINTS)
    counts = push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]
    assert (counts["sent"], counts["failed"], counts["pruned"], counts["pending"]) == (1, 2, 0, 0)
    assert [d["dead_letter_reason"] for d in bodies(drain(aws["sqs"], world["queues"]["DeliveryDeadLetterQueue"]))] == ["rejected"]
    gone = pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINTS[0]))
    assert gone.status is SubscriptionStatus.ACTIVE  # the prune did not happen: the next 410 does it
    _, body = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    sender(pushgate, world["queues"], RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.GONE}))(
        sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context
    )
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINTS[0])).status is SubscriptionStatus.EXPIRED
    assert push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]["pruned"] == 1


def test_a_prune_cut_short_before_the_topic_edges_is_finished_by_the_next_410(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    app_id = demo_app.app.app_id
    _, first = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    gone = RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.GONE})
    throttled = Throttled(pushgate.repository, {"remove_topic"})
    sender(pushgate, world["queues"], gone, repository=throttled)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)
    assert pushgate.repository.get_device(app_id, token_hash(ENDPOINTS[0])).status is SubscriptionStatus.EXPIRED
    assert push_status(world, demo_app, first["id"], lambda_context)["push"]["counts"]["pruned"] == 1
    assert pushgate.repository.device_topics(app_id, token_hash(ENDPOINTS[0])) == ["news"]  # left behind

    # Fan-out reads topic edges, so the left-behind edge is targeted again; its 410 removes it.
    _, second = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    sender(pushgate, world["queues"], gone)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)
    assert pushgate.repository.device_topics(app_id, token_hash(ENDPOINTS[0])) == []
    assert dict(pushgate.topics.list_topics(demo_app.app))["news"] == 2
    counts = push_status(world, demo_app, second["id"], lambda_context)["push"]["counts"]
    assert (counts["sent"], counts["failed"], counts["pruned"]) == (2, 1, 0)  # pruned once, by the first push

    # A third push no longer reaches it.
    post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    third = RecordingTransport()
    sender(pushgate, world["queues"], third)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)
    assert sorted(endpoint for _, endpoint, _ in third.sent) == sorted(ENDPOINTS[1:])


def test_a_redriven_dead_letter_is_sent_and_its_counts_corrected(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    """What an operator does after fixing what the push service refused (a VAPID key, say): move
    the dead-letter queue's messages back to the delivery queue, bodies unchanged."""
    _, body = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    refused = RecordingTransport(script={ENDPOINTS[1]: OutcomeKind.REJECTED})
    sender(pushgate, world["queues"], refused)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)
    counts = push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]
    assert (counts["sent"], counts["failed"], counts["pending"]) == (2, 1, 0)

    still_refused = RecordingTransport(script={ENDPOINTS[1]: OutcomeKind.REJECTED})
    sender(pushgate, world["queues"], still_refused)(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryDeadLetterQueue"])), lambda_context)
    assert [endpoint for _, endpoint, _ in still_refused.sent] == [ENDPOINTS[1]]  # tried again, not taken for done
    counts = push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]
    assert (counts["sent"], counts["failed"], counts["pending"]) == (2, 1, 0)  # failed once, not twice

    fixed = RecordingTransport()
    redriven = drain(aws["sqs"], world["queues"]["DeliveryDeadLetterQueue"])
    handler = sender(pushgate, world["queues"], fixed)
    handler(sqs_event(redriven), lambda_context)
    handler(sqs_event(redriven), lambda_context)  # the redrive itself delivered twice
    assert [endpoint for _, endpoint, _ in fixed.sent] == [ENDPOINTS[1]]
    push = push_status(world, demo_app, body["id"], lambda_context)["push"]
    assert push["status"] == "done"
    assert push["counts"] == {"targeted": 3, "sent": 3, "failed": 0, "pruned": 0, "pending": 0, "cancelled": 0}


def test_a_redriven_dead_letter_starts_its_retries_afresh(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    _, body = post_push(world, demo_app, {"to": ENDPOINTS[0], "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    (message,) = [DeliveryMessage.model_validate(b) for b in bodies(drain(aws["sqs"], world["queues"]["DeliveryQueue"]))]
    soon = float(pushgate.repository.get_push(body["id"]).created_at + 5)
    exhausted = message.model_copy(update={"attempt": 4})  # the last attempt of a 5xx streak
    dead = RecordingQueue()
    DeliveryService(pushgate.repository, RecordingQueue(), dead, RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.RETRY}), clock=lambda: soon).process(exhausted)
    (dead_letter, _), = dead.sent
    assert dead_letter.dead_letter_reason == "retry"
    retries = RecordingQueue()
    DeliveryService(pushgate.repository, retries, RecordingQueue(), RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.RETRY}), clock=lambda: soon, jitter=lambda _retry: 0.0).process(dead_letter)
    (retry, delay), = retries.sent
    assert (retry.attempt, retry.dead_letter_reason, delay) == (1, None, 10)
    assert push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]["pending"] == 1


@dataclass
class RunningDown(LambdaContext):
    """A context whose invocation loses `spent_ms` each time it is asked what is left."""

    spent_ms: int = 0

    def get_remaining_time_in_millis(self) -> int:
        remaining = self.remaining_ms
        self.remaining_ms -= self.spent_ms
        return remaining


def test_no_message_is_started_without_the_time_to_finish_it(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    deliveries = one_message_per_endpoint(world, aws, demo_app, lambda_context)
    transport = RecordingTransport()
    handler = sender(pushgate, world["queues"], transport)

    # An invocation with one message's worth of time, used up by that message (the first always
    # fits: every consumer's timeout is at least twice its figure, test_consumer_time.py).
    running_down = RunningDown(remaining_ms=SENDER_MESSAGE_SECONDS * 1000, spent_ms=SENDER_MESSAGE_SECONDS * 1000)
    result = handler(sqs_event(deliveries), running_down)
    assert len(transport.sent) == 1
    started = message_id_for(deliveries, transport.sent[0][1])
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == sorted(m["MessageId"] for m in deliveries if m["MessageId"] != started)
    # SQS hands the same three to the next invocation: the one done is not sent again.
    assert handler(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}
    assert sorted(endpoint for _, endpoint, _ in transport.sent) == sorted(ENDPOINTS)  # each once, none lost


def test_a_fanout_message_there_is_no_time_for_is_handed_on_as_a_new_message(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    """Handed back to SQS, a message left for later would wait out the visibility timeout and
    count a receive each time, until the dead-letter queue took it untried. Handed on, it is a new
    message on the fan-out queue at once, and the original leaves the batch as done."""
    for endpoint in ENDPOINTS:
        post_push(world, demo_app, {"to": endpoint, "data": {}}, lambda_context)
    fanouts = drain(aws["sqs"], world["queues"]["FanoutQueue"])
    assert len(fanouts) == 3
    running_down = RunningDown(remaining_ms=FANOUT_MESSAGE_SECONDS * 1000, spent_ms=FANOUT_MESSAGE_SECONDS * 1000)
    assert world["fanout"].lambda_handler(sqs_event(fanouts), running_down) == {"batchItemFailures": []}
    assert len(drain(aws["sqs"], world["queues"]["DeliveryQueue"])) == 1  # the one message with time for it
    handed_on = receive(aws["sqs"], world["queues"]["FanoutQueue"])
    assert sorted(m["Body"] for m in handed_on) == sorted(m["Body"] for m in fanouts[1:])  # untouched
    assert all(m["Attributes"]["ApproximateReceiveCount"] == "1" for m in handed_on)  # receives start again
    for message in handed_on:
        aws["sqs"].delete_message(QueueUrl=world["queues"]["FanoutQueue"], ReceiptHandle=message["ReceiptHandle"])
    # The original batch redelivered as well (the invocation failing after the hand-on): done once.
    assert world["fanout"].lambda_handler(sqs_event(fanouts + handed_on), lambda_context) == {"batchItemFailures": []}
    delivered = [bodies([m])[0]["devices"][0]["token"] for m in drain(aws["sqs"], world["queues"]["DeliveryQueue"])]
    assert sorted(delivered) == sorted(ENDPOINTS[1:])


def test_a_message_that_cannot_be_handed_on_goes_back_to_sqs(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    deliveries = one_message_per_endpoint(world, aws, demo_app, lambda_context)
    transport = RecordingTransport()

    class Refusing(Queue):
        def send(self, messages, delay_seconds=0) -> None:  # noqa: ANN001
            from pushgate.queues import QueueSendError

            raise QueueSendError("1 messages not accepted after retries")

    import boto3

    service = DeliveryService(pushgate.repository, Queue(boto3.client("sqs"), world["queues"]["DeliveryQueue"]), Queue(boto3.client("sqs"), world["queues"]["DeliveryDeadLetterQueue"]), transport)
    handler = sqs_entry(DeliveryMessage, service.process, "[push_id, batch_id]", idempotency_store(TABLE_NAME, "test-sender"), SENDER_MESSAGE_SECONDS, requeue=Refusing(None, "unused"))
    running_down = RunningDown(remaining_ms=SENDER_MESSAGE_SECONDS * 1000, spent_ms=SENDER_MESSAGE_SECONDS * 1000)
    result = handler(sqs_event(deliveries), running_down)
    assert len(transport.sent) == 1 and len(result["batchItemFailures"]) == 2


def test_a_big_topic_is_cut_into_parts_that_fan_out_side_by_side(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    """Scaled down: parts of 6 expected subscribers, 3 parts a message, pages of 5; 40 devices."""
    import boto3

    from pushgate.pushes import FanoutMessage
    from pushgate.services.fanout import FanoutService

    endpoints = [f"https://fcm.googleapis.com/wp/big-{i}" for i in range(40)]
    for number, endpoint in enumerate(endpoints):
        p256dh, auth = browser_keys()
        reader = Caller(app=demo_app.app, user_id=f"reader-{number % 4}")  # 10 each: under the cap of devices per user
        pushgate.subscriptions.subscribe_web(reader, WebSubscription.parse(pushgate.subscriptions.policy, endpoint, p256dh, auth))
        pushgate.topics.subscribe(demo_app.app, endpoint, ["big"])
    _, body = post_push(world, demo_app, {"to": "/topics/big", "data": {}}, lambda_context)
    sqs, urls = boto3.client("sqs"), world["queues"]
    fanout = FanoutService(pushgate.repository, Queue(sqs, urls["DeliveryQueue"]), Queue(sqs, urls["FanoutQueue"]), page_size=5, part_size=6, max_parts=3)

    rounds, key_ranges = 0, []
    while messages := drain(sqs, urls["FanoutQueue"]):  # a round: every fan-out message queued so far, as if side by side
        rounds += 1
        for message in bodies(messages):
            key_ranges.append(message["target"]["key_range"])
            fanout.expand(FanoutMessage.model_validate(message))
    deliveries = bodies(drain(sqs, urls["DeliveryQueue"]))
    assert len({d["batch_id"] for d in deliveries}) == len(deliveries)
    assert sorted(device["token"] for d in deliveries for device in d["devices"]) == sorted(endpoints)  # each device once
    # The whole topic, then 3 parts of about 13, then 3 parts each of about 4.4 (pages of 5, so a
    # part may take a second page): 4 rounds at most, where pages of 5 in a row would take 8.
    assert key_ranges[0] is None and rounds <= 4
    push = push_status(world, demo_app, body["id"], lambda_context)["push"]
    assert push["counts"]["targeted"] == 40 and push["counts"]["pending"] == 40
    assert pushgate.repository.get_push(body["id"]).fanout_pending == 0


def test_the_writes_after_the_sends_run_side_by_side(world, aws, pushgate, demo_app, lambda_context, capsys) -> None:  # noqa: ANN001
    """Each of the three stamp writes waits until all three are under way: done one after the
    other, the first would wait alone until the barrier gives up, and all three would fail."""
    import threading

    class Meeting:
        def __init__(self, repository) -> None:  # noqa: ANN001
            self._repository = repository
            self.barrier = threading.Barrier(3, timeout=10)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._repository, name)

        def record_delivery_success(self, *args: Any) -> None:
            self.barrier.wait()
            self._repository.record_delivery_success(*args)

    _, body = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    capsys.readouterr()
    meeting = Meeting(pushgate.repository)
    handler = sender(pushgate, world["queues"], RecordingTransport(), repository=meeting, success_stamp_seconds=0)
    result = handler(sqs_event(drain(aws["sqs"], world["queues"]["DeliveryQueue"])), lambda_context)
    assert result == {"batchItemFailures": []}
    assert "DeliveryBookkeepingFailed" not in capsys.readouterr().out and not meeting.barrier.broken
    # A topic push stamps the topic edge it was read from (docs/lifecycle.md).
    edges = [pushgate.repository.device_with_edges(demo_app.app.app_id, token_hash(endpoint))[1] for endpoint in ENDPOINTS]
    stamped = [edge.get("last_success_at") for (edge,) in edges]
    assert all(stamp is not None for stamp in stamped)
    assert push_status(world, demo_app, body["id"], lambda_context)["push"]["counts"]["sent"] == 3


def test_a_retry_queued_again_by_a_retried_batch_keeps_its_id(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    """A batch processed twice (its first try failed after queueing its retries) queues its 503s
    again, seconds later: the same retry messages, which the sender then sends once."""
    _, body = post_push(world, demo_app, {"to": "/topics/news", "data": {}}, lambda_context)
    run_fanout(world, aws, lambda_context)
    (message,) = [DeliveryMessage.model_validate(b) for b in bodies(drain(aws["sqs"], world["queues"]["DeliveryQueue"]))]
    soon = float(pushgate.repository.get_push(body["id"]).created_at + 5)
    failing = RecordingTransport(script={ENDPOINTS[0]: OutcomeKind.RETRY, ENDPOINTS[2]: OutcomeKind.RETRY})
    tries = []
    for clock in (soon, soon + 3):
        retries = RecordingQueue()
        DeliveryService(pushgate.repository, retries, RecordingQueue(), failing, clock=lambda clock=clock: clock).process(message)
        tries.append(sorted((retry.batch_id, [t.token for t in retry.devices], retry.not_before) for retry, _ in retries.sent))
    assert [(batch, tokens) for batch, tokens, _ in tries[0]] == [(batch, tokens) for batch, tokens, _ in tries[1]]
    assert [when + 3 for _, _, when in tries[0]] == [when for _, _, when in tries[1]]
    assert sorted(token for _, tokens, _ in tries[0] for token in tokens) == sorted([ENDPOINTS[0], ENDPOINTS[2]])


def test_the_messages_of_one_invocation_are_sent_side_by_side(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    # Given a transport whose sends all wait until three of them are in progress at once
    deliveries = one_message_per_endpoint(world, aws, demo_app, lambda_context)
    meeting = threading.Barrier(3, timeout=10)

    class Meeting(RecordingTransport):
        def send(self, push, targets, ttl):  # noqa: ANN001, ANN201
            meeting.wait()  # one message after the other never gets past this: BrokenBarrierError
            return super().send(push, targets, ttl)

    transport = Meeting()

    # When one invocation gets the three messages
    result = sender(pushgate, world["queues"], transport)(sqs_event(deliveries), lambda_context)

    # Then all three were sent at the same time, and each once
    assert result == {"batchItemFailures": []}
    assert sorted(endpoint for _, endpoint, _ in transport.sent) == sorted(ENDPOINTS)


def test_a_message_twice_in_one_invocation_is_sent_once(world, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    # Given the same delivery message twice in one event (SQS delivers at least once), and a
    # transport that holds the first send until the copy has tried to claim the same work
    deliveries = one_message_per_endpoint(world, aws, demo_app, lambda_context)[:1]
    store = idempotency_store(TABLE_NAME, "test-sender")
    claims: list[str] = []
    both_claimed = threading.Event()
    claim = store.save_inprogress

    def counted_claim(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            return claim(*args, **kwargs)
        finally:
            claims.append("claim")
            if len(claims) == 2:
                both_claimed.set()

    store.save_inprogress = counted_claim  # type: ignore[method-assign]

    class HeldUntilTheCopyClaimed(RecordingTransport):
        def send(self, push, targets, ttl):  # noqa: ANN001, ANN201
            assert both_claimed.wait(timeout=10), "the copy was not processed alongside"
            return super().send(push, targets, ttl)

    transport = HeldUntilTheCopyClaimed()
    handler = sender(pushgate, world["queues"], transport, store=store)
    event = sqs_event(deliveries)
    event["Records"].append({**event["Records"][0], "messageId": "copy-of-the-same-message"})

    # When one invocation gets both
    result = handler(event, lambda_context)

    # Then it was sent once: the copy met the first's in-progress record and goes back to SQS,
    # where its next delivery finds the work done
    assert len(transport.sent) == 1
    assert len(result["batchItemFailures"]) == 1
    assert handler(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}
    assert len(transport.sent) == 1
