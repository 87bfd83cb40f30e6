"""Fault 2: the Web Push sender's container dies in the middle of a batch (SIGKILL once the push
service has taken KILL_AFTER of its requests), and SQS redelivers the message after its visibility
timeout to a fresh container. The sender runs as a process of its own (sender_process.py) against a
moto server, so that killing it kills exactly what a dead Lambda container loses.

The bound: a crash duplicates at most the requests in flight when it happened, that is the
requests the push service already had from the dead process (at most SENDER_CONCURRENCY x
SENDER_MESSAGES_AT_ONCE, the sending loop's pool), each device at most once, and every copy
carries the same payload id and the same Topic header. Nothing is lost; the counts are exact (the
dead invocation counted nothing)."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto.server import ThreadedMotoServer

from pushgate import wiring
from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.services.subscriptions import WebSubscription
from pushgate_local.config import free_port
from pushgate_local.template import resources, table_definition
from tests.conftest import REPO, LambdaContext
from tests.e2e.log_hygiene import SecretLedger, leak_report, scan_logs
from tests.faults.figures import Figures, record
from tests.faults.web_world import FaultyPushService, path_of, clear_wiring, invocation_deadlines_pass
from tests.pipeline.conftest import QUEUE_ENV, receive, sqs_event
from tests.pipeline.test_pipeline import http_event

DEVICES = 20  # one delivery message (batches hold 50)
KILL_AFTER = 5  # requests the push service takes before the container dies
PROCESS_SECONDS = 60  # a sender process that has not ended by then has hung: the test fails


@pytest.fixture
def moto_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A moto server on loopback; this process and the sender processes reach it through
    AWS_ENDPOINT_URL, as the functions reach AWS. A table of its own, the template's queues."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    table = f"crash-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("TABLE_NAME", table)
    dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
    dynamodb.create_table(**table_definition(table_name=table))
    queues = {}
    for name in resources(kind="AWS::SQS::Queue"):
        queues[name] = sqs.create_queue(QueueName=f"{table}-{name}")["QueueUrl"]
        if name in QUEUE_ENV:
            monkeypatch.setenv(QUEUE_ENV[name], queues[name])
    clear_wiring()
    parameters.clear_caches()
    try:
        yield {"dynamodb": dynamodb, "sqs": sqs, "queues": queues, "table": table}
    finally:
        clear_wiring()
        parameters.clear_caches()
        server.stop()


def load_handler(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_crash_{name}", REPO / "functions" / name / "app.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_sender(event: dict[str, Any], workdir: Path, name: str) -> tuple[subprocess.Popen[bytes], Path]:
    event_path, result_path = workdir / f"{name}-event.json", workdir / f"{name}-result.json"
    event_path.write_text(json.dumps(event))
    with open(workdir / f"{name}.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(REPO / "tests" / "faults" / "sender_process.py"), str(event_path), str(result_path)],
            env=dict(os.environ), stdout=log, stderr=subprocess.STDOUT,
        )
    return process, result_path


def test_a_sender_killed_mid_batch_duplicates_at_most_what_was_in_flight(moto_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Given a topic of DEVICES browsers, a push to it, and its fan-out done
    push_service = FaultyPushService()
    try:
        monkeypatch.setenv("PUSHGATE_EXTRA_PUSH_HOSTS", push_service.host)
        clear_wiring()
        services = wiring.services()
        app = services.apps().create_app("crash")
        alice = Caller(app=app.app, user_id="alice")
        endpoints = [push_service.endpoint() for _ in range(DEVICES)]
        for endpoint in endpoints:
            browser = push_service.browsers[path_of(endpoint)]
            services.subscriptions.subscribe_web(alice, WebSubscription.parse(services.subscriptions.policy, endpoint, browser.p256dh, browser.auth_b64))
            services.topics.subscribe(app.app, endpoint, ["news"])
        sqs, queues = moto_server["sqs"], moto_server["queues"]
        response = load_handler("send_push").lambda_handler(
            http_event("POST", "/push", "/push", f"api_key={app.secret_key}", {"to": "/topics/news", "data": {"crash": True}}), LambdaContext()
        )
        push_id = json.loads(response["body"])["id"]
        fanout = load_handler("fanout")
        while messages := receive(sqs, queues["FanoutQueue"]):
            assert fanout.lambda_handler(sqs_event(messages), LambdaContext()) == {"batchItemFailures": []}
            for message in messages:
                sqs.delete_message(QueueUrl=queues["FanoutQueue"], ReceiptHandle=message["ReceiptHandle"])
        deliveries = receive(sqs, queues["DeliveryQueue"])
        assert len(deliveries) == 1

        # When the sender's container dies once the push service has taken KILL_AFTER requests
        first, _ = run_sender(sqs_event(deliveries), tmp_path, "killed")
        push_service.on_request = lambda number: os.kill(first.pid, signal.SIGKILL) if number == KILL_AFTER else None
        assert first.wait(timeout=PROCESS_SECONDS) == -signal.SIGKILL
        push_service.on_request = None

        # and SQS hands the message to a fresh container after its visibility timeout
        invocation_deadlines_pass(moto_server["dynamodb"], moto_server["table"])
        sqs.change_message_visibility(QueueUrl=queues["DeliveryQueue"], ReceiptHandle=deliveries[0]["ReceiptHandle"], VisibilityTimeout=0)
        redelivered = receive(sqs, queues["DeliveryQueue"])
        assert [m["MessageId"] for m in redelivered] == [deliveries[0]["MessageId"]]
        push_service.wait_until_idle()  # the dead container's connections are closed: nothing more comes in
        in_flight_at_crash = {path: list(ids) for path, ids in push_service.log.accepted.items()}
        second, result_path = run_sender(sqs_event(redelivered), tmp_path, "fresh")
        assert second.wait(timeout=PROCESS_SECONDS) == 0, (tmp_path / "fresh.log").read_text()[-3000:]
        assert json.loads(result_path.read_text()) == {"batchItemFailures": []}
    finally:
        push_service.stop()

    # Then each device has the push; those whose request the dead container had sent have it
    # twice, with the same payload id and Topic; the others once; the counts are exact
    log, paths = push_service.log, [path_of(endpoint) for endpoint in endpoints]
    received = {path: log.accepted[path].count(push_id) for path in paths}
    taken_before = sum(1 for path in paths if in_flight_at_crash.get(path))
    push = services.repository.get_push(push_id)
    duplicated = sum(count - 1 for count in received.values())
    figures = record(Figures(
        fault=f"sender killed after {KILL_AFTER} of {DEVICES} requests, redelivered",
        targeted=DEVICES,
        delivered=sum(1 for count in received.values() if count),
        lost=sum(1 for count in received.values() if count == 0),
        duplicated=duplicated,
        wrongly_pruned=sum(1 for endpoint in endpoints if services.repository.get_device(app.app.app_id, token_hash(endpoint)).status is SubscriptionStatus.EXPIRED),
        counts_off=abs(DEVICES - (push.sent + push.failed + push.pruned)),
        note=f"bound: the {taken_before} requests in flight at the crash (pool: {wiring.SENDER_CONCURRENCY * wiring.SENDER_MESSAGES_AT_ONCE})",
    ))
    assert (figures.lost, figures.wrongly_pruned, figures.counts_off) == (0, 0, 0), figures
    assert KILL_AFTER <= taken_before <= DEVICES <= wiring.SENDER_CONCURRENCY * wiring.SENDER_MESSAGES_AT_ONCE
    assert duplicated == taken_before and max(received.values()) <= 2, received
    assert all(len(log.topics[(path, push_id)]) == 1 for path in paths)
    assert (push.sent, push.failed) == (DEVICES, 0)

    # And the two containers' logs hold no endpoint, key or secret of the world
    ledger = SecretLedger()
    ledger.add("secret_key", app.secret_key)
    for endpoint in endpoints:
        browser = push_service.browsers[path_of(endpoint)]
        ledger.add_fields({"endpoint": endpoint, "p256dh": browser.p256dh, "auth": browser.auth_b64})
    leaks, scanned = scan_logs(ledger, [tmp_path / "killed.log", tmp_path / "fresh.log"])
    assert scanned > 0 and not leaks, leak_report(leaks)
