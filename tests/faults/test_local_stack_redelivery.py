"""Fault 1 on the local stack (`make run`, its own SQS pollers driving the fan-out and the Web Push
sender as Lambda's would): a push to a topic is delivered, then its fan-out message arrives a
second time, as SQS may deliver it again long after. The fan-out expands it again into the same
batches, and the sender gets each batch a second time. Target: no browser gets the push twice, and
the counts stay exact. The push service is tests/faults' loopback one, which decrypts what it
takes in; the stack's logs are then scanned for the world's secrets."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from pushgate.pushes import FanoutMessage, parse_push_request
from pushgate_local.process import LocalStackProcess, running_stack
from tests.e2e.log_hygiene import SecretLedger, leak_report, scan_logs
from tests.faults.figures import Figures, record
from tests.faults.web_world import FaultyPushService, path_of

pytestmark = pytest.mark.e2e

BROWSERS = 3
QUIET_POLLS = 3  # the pipeline's queues empty this many polls in a row: the stack is idle
POLL_SECONDS = 0.5
DEADLINE_SECONDS = 120  # a loaded machine's cold starts included


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[LocalStackProcess, FaultyPushService]]:
    push_service = FaultyPushService()
    try:
        with running_stack(tmp_path, push_service.host) as stack:
            yield stack, push_service
    finally:
        push_service.stop()


def subscribe(stack: LocalStackProcess, endpoint: str, browser: Any) -> None:
    response = requests.post(
        f"{stack.http_url}/me/subscribe",
        headers={"IM-CLIENT-KEY": stack.demo()["public_key"], "IM-Authorization": stack.create_session("alice")},
        json={"type": "web", "deviceId": f"browser-{uuid.uuid4()}", "subscription": {"endpoint": endpoint, "keys": {"p256dh": browser.p256dh, "auth": browser.auth_b64}}},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    response = requests.post(f"{stack.http_url}/topics/subscribe", params={"api_key": stack.demo()["secret_key"]}, json={"token": endpoint, "topics": ["news"]}, timeout=30)
    assert response.json() == {"success": True}, response.text


def wait_until_idle(stack: LocalStackProcess) -> None:
    sqs = stack.aws_client("sqs")
    urls = [url for url in sqs.list_queues()["QueueUrls"] if url.rsplit("-", 1)[-1] in ("FanoutQueue", "DeliveryQueue")]
    assert len(urls) == 2, urls
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]
    quiet, deadline = 0, time.monotonic() + DEADLINE_SECONDS
    while quiet < QUIET_POLLS:
        assert time.monotonic() < deadline, "the stack's pipeline did not go idle"
        attributes = [sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"] for url in urls]
        quiet = quiet + 1 if all(int(a[name]) == 0 for a in attributes for name in names) else 0
        time.sleep(POLL_SECONDS)


def counts(stack: LocalStackProcess, push_id: str) -> dict[str, int]:
    response = requests.get(f"{stack.http_url}/pushes/{push_id}", params={"api_key": stack.demo()["secret_key"]}, timeout=30)
    return response.json()["push"]["counts"]


def test_a_fan_out_message_delivered_again_later_sends_nothing_twice(world: tuple[LocalStackProcess, FaultyPushService]) -> None:
    stack, push_service = world
    endpoints = [push_service.endpoint() for _ in range(BROWSERS)]
    for endpoint in endpoints:
        subscribe(stack, endpoint, push_service.browsers[path_of(endpoint)])
    body = {"to": "/topics/news", "data": {"redelivered": True}}
    response = requests.post(f"{stack.http_url}/push", params={"api_key": stack.demo()["secret_key"]}, json=body, timeout=30)
    push_id = response.json()["id"]
    wait_until_idle(stack)
    assert counts(stack, push_id)["sent"] == BROWSERS

    # The same fan-out message again: the target exactly as POST /push made it
    (target,) = parse_push_request(body).targets
    copy = FanoutMessage(push_id=push_id, app_id=stack.demo()["app_id"], target=target)
    sqs = stack.aws_client("sqs")
    fanout_url = next(url for url in sqs.list_queues()["QueueUrls"] if url.rsplit("-", 1)[-1] == "FanoutQueue")
    sqs.send_message(QueueUrl=fanout_url, MessageBody=copy.model_dump_json())
    wait_until_idle(stack)

    received = {path_of(endpoint): push_service.log.accepted[path_of(endpoint)].count(push_id) for endpoint in endpoints}
    final = counts(stack, push_id)
    figures = record(Figures(
        fault="local stack: fan-out message delivered again after delivery",
        targeted=BROWSERS,
        delivered=sum(1 for count in received.values() if count),
        lost=sum(1 for count in received.values() if count == 0),
        duplicated=sum(count - 1 for count in received.values() if count > 1),
        wrongly_pruned=0 if final["pruned"] == 0 else final["pruned"],
        counts_off=abs(BROWSERS - final["sent"]) + abs(BROWSERS - final["targeted"]),
    ))
    assert figures.clean and figures.delivered == BROWSERS, (figures, final)

    stack.stop()  # its logs complete
    ledger = SecretLedger()
    ledger.add("secret_key", stack.demo()["secret_key"])
    for endpoint in endpoints:
        browser = push_service.browsers[path_of(endpoint)]
        ledger.add_fields({"endpoint": endpoint, "p256dh": browser.p256dh, "auth": browser.auth_b64})
    leaks, scanned = scan_logs(ledger, [stack.stdout_path, stack.stderr_path])
    assert scanned > 0 and not leaks, leak_report(leaks)
