"""The Web Push pipeline as deployed, under moto, for fault injection: the real handlers (send_push,
fanout, webpush_sender) with their real wiring (VAPID keys read from SSM, the KeepAliveTransport
over real sockets), a push service on loopback HTTP/1.1 that misbehaves on demand per endpoint, and
an SQS event source played the way Lambda plays it, redeliveries included.

What the event source does that the pipeline relies on:
- a message listed in batchItemFailures (or every message of an invocation that raised) comes back:
  its visibility ends at once here, since SQS brings it back after the visibility timeout, which
  outlasts the function's timeout; the idempotency records an invocation left in progress have
  expired by then, and are made so here (`invocation_deadlines_pass`);
- a message received MAX_RECEIVES times and failed again goes to the queue's redrive DLQ
  (template.yaml maxReceiveCount), collected in `redriven`;
- a delayed message (a retry's DelaySeconds) is due at once, and a retry's not_before already
  passed: time runs forward for retries, their timing is tested in tests/pipeline."""

from __future__ import annotations

import http.server
import json
import socket
import struct
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import partial
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters

from pushgate import config, wiring
from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.queues import Queue
from pushgate.services.subscriptions import WebSubscription
from pushgate_local.template import table_definition
from tests.conftest import TABLE_NAME
from tests.delivery.push_fakes import Browser, browser_decrypt
from tests.faults.figures import Figures
from tests.pipeline.conftest import drain, receive, sqs_event
from tests.pipeline.test_pipeline import http_event

MAX_RECEIVES = 5  # template.yaml's maxReceiveCount of every pipeline queue
# The sender's read timeout here (10 s in production): a slow answer is one later than this. Not
# shorter: on a loaded machine a prompt 201 taken for a timeout would be sent again, a duplicate.
READ_TIMEOUT_SECONDS = 3.0
SLOW_ANSWER_SECONDS = 4.0
SETTLE_ROUNDS = 60  # invocations at most before a world is declared stuck


class Misbehaviour(StrEnum):
    """What the push service does to a request instead of answering it properly."""

    RESET = "connection reset"  # RST before any answer
    SLOW = "answer after the read timeout"  # takes the message, answers 201 too late
    GARBAGE = "non-HTTP bytes"
    TRUNCATED = "truncated status line"
    BAD_STATUS = "invalid status line"
    SERVER_ERROR = "503"
    GONE = "410"


# What each misbehaviour writes on the socket before closing it (None: RST, or a normal answer).
_RAW_ANSWERS = {
    Misbehaviour.GARBAGE: b"\x00\xff\x13\x37 definitely not HTTP\r\n\r\n",
    Misbehaviour.TRUNCATED: b"HTTP/1.1 20",
    Misbehaviour.BAD_STATUS: b"HTTP/1.1 2O1 Created\r\nContent-Length: 0\r\n\r\n",
}


@dataclass
class PushServiceLog:
    """Per endpoint path: the payload ids it accepted, the Topic headers and statuses it sent back."""

    accepted: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    topics: defaultdict[tuple[str, str], set[str]] = field(default_factory=lambda: defaultdict(set))
    statuses: defaultdict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    requests: int = 0


class FaultyPushService(http.server.ThreadingHTTPServer):
    """Loopback HTTP/1.1 push service. `trouble[path]` is a list of misbehaviours, used up one per
    request to that path; then it answers 201 (or keeps the last one if `persistent`). Each
    accepted request is decrypted with the path's browser to learn which push it carries."""

    daemon_threads = True
    request_queue_size = 256

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.browsers: dict[str, Browser] = {}
        self.trouble: dict[str, list[Misbehaviour]] = {}
        self.persistent: set[str] = set()
        self.log = PushServiceLog()
        self.on_request: Callable[[int], None] | None = None  # called with the request's number
        self.lock = threading.Lock()
        self._handling = 0
        self._idle = threading.Condition(self.lock)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server_address[1]}"

    def endpoint(self) -> str:
        path = f"/push/{uuid.uuid4().hex}"
        self.browsers[path] = Browser()
        return f"http://{self.host}{path}"

    def next_misbehaviour(self, path: str) -> Misbehaviour | None:
        with self.lock:
            self.log.requests += 1
            number = self.log.requests
            queue = self.trouble.get(path) or []
            misbehaviour = (queue[0] if path in self.persistent else queue.pop(0)) if queue else None
        if self.on_request is not None:
            self.on_request(number)
        return misbehaviour

    def accept(self, path: str, headers: Any, body: bytes) -> None:
        plaintext, _ = browser_decrypt(body, self.browsers[path])
        push_id = json.loads(plaintext)["id"]
        with self.lock:
            self.log.accepted[path].append(push_id)
            self.log.topics[(path, push_id)].add(headers.get("Topic", ""))

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client gone after a timeout or a reset: what the faults are about

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self.lock:
            self._handling += 1
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.lock:
                self._handling -= 1
                self._idle.notify_all()

    def wait_until_idle(self, timeout: float = 10.0) -> None:
        """Until no connection is being handled: what a dead client had sent is all taken in."""
        with self._idle:
            assert self._idle.wait_for(lambda: self._handling == 0, timeout=timeout), "the push service is still busy"

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FaultyPushService

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        misbehaviour = self.server.next_misbehaviour(self.path)
        if misbehaviour is Misbehaviour.RESET:
            self.request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.request.close()
            return
        if misbehaviour in _RAW_ANSWERS:
            self.wfile.write(_RAW_ANSWERS[misbehaviour])
            self.wfile.flush()
            self.close_connection = True
            return
        if misbehaviour is Misbehaviour.SLOW:
            self.server.accept(self.path, self.headers, body)  # taken in, answered too late
            time.sleep(SLOW_ANSWER_SECONDS)
            self._answer(201)
            return
        status = {Misbehaviour.SERVER_ERROR: 503, Misbehaviour.GONE: 410}.get(misbehaviour, 201)
        if status == 201:
            self.server.accept(self.path, self.headers, body)
        self._answer(status)

    def _answer(self, status: int) -> None:
        with self.server.lock:
            self.server.log.statuses[self.path].append(status)
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


def path_of(endpoint: str) -> str:
    return "/" + endpoint.split("/", 3)[3]


@dataclass
class WebWorld:
    """Built once per test by the `web_world` fixture (`rebuild()`: an empty table, a new app and
    its browsers); `reset()` starts over on the same ones, for tests that run the pipeline once
    per case."""

    aws: dict[str, Any]
    queues: dict[str, str]
    import_handler: Callable[[str], ModuleType]
    monkeypatch: pytest.MonkeyPatch
    lambda_context: Any
    push_service: FaultyPushService
    devices: int = 4
    endpoints: list[str] = field(default_factory=list)
    redriven: list[dict[str, Any]] = field(default_factory=list)
    handlers: dict[str, ModuleType] = field(default_factory=dict)
    app: Any = None

    def rebuild(self) -> WebWorld:
        sqs, dynamodb = self.aws["sqs"], self.aws["dynamodb"]
        for url in self.queues.values():
            drain(sqs, url)  # what a run before left (PurgeQueue is allowed once a minute)
        dynamodb.delete_table(TableName=TABLE_NAME)
        dynamodb.create_table(**table_definition(table_name=TABLE_NAME))
        self.push_service.log = PushServiceLog()
        self.push_service.trouble.clear()
        self.push_service.persistent.clear()
        self.push_service.on_request = None
        self.redriven = []
        self.monkeypatch.setenv("PUSHGATE_EXTRA_PUSH_HOSTS", self.push_service.host)
        # Every success stamps its device, even one stamped this very second (the window is
        # otherwise days long, and 0 reads as unset): the stamp write is a call site faults are injected at.
        self.monkeypatch.setenv("PUSHGATE_SUCCESS_STAMP_SECONDS", "-1")
        self._read_timeout()
        self._retries_fall_due_at_once()
        clear_wiring()
        parameters.clear_caches()
        services = wiring.services()
        self.app = services.apps().create_app("faults")
        self.endpoints = [self.push_service.endpoint() for _ in range(self.devices)]
        self._subscribe_all()
        self.handlers = {name: self.import_handler(name) for name in ("send_push", "fanout", "webpush_sender")}
        return self

    def reset(self) -> WebWorld:
        """Start over on the same table, quicker than `rebuild`: the push service behaves again,
        the queues are empty, and every device is subscribed again (a run may have pruned one)."""
        for url in self.queues.values():
            drain(self.aws["sqs"], url)
        self.push_service.log = PushServiceLog()
        self.push_service.trouble.clear()
        self.push_service.persistent.clear()
        self.push_service.on_request = None
        self.redriven = []
        self._subscribe_all(only_expired=True)
        # A sender container started afresh: it reads the channel and its VAPID key again.
        wiring.delivery_service.cache_clear()
        parameters.clear_caches()
        self.handlers["webpush_sender"] = self.import_handler("webpush_sender")
        return self

    def _subscribe_all(self, only_expired: bool = False) -> None:
        services = wiring.services()
        alice = Caller(app=self.app.app, user_id="alice")
        for endpoint in self.endpoints:
            if only_expired and services.repository.get_device(self.app.app.app_id, token_hash(endpoint)).status is not SubscriptionStatus.EXPIRED:
                continue
            browser = self.push_service.browsers[path_of(endpoint)]
            services.subscriptions.subscribe_web(alice, WebSubscription.parse(services.subscriptions.policy, endpoint, browser.p256dh, browser.auth_b64))
            services.topics.subscribe(self.app.app, endpoint, ["news"])

    def _read_timeout(self) -> None:
        from pushgate.delivery.webpush import client, transport

        self.monkeypatch.setattr(transport, "WebPushClient", partial(client.WebPushClient, timeouts=client.Timeouts(read=READ_TIMEOUT_SECONDS)))

    def _retries_fall_due_at_once(self) -> None:
        retries_fall_due_at_once(self.monkeypatch)

    # -- driving the pipeline ------------------------------------------------------------------------

    def post_push(self, to: str = "/topics/news") -> str:
        event = http_event("POST", "/push", "/push", f"api_key={self.app.secret_key}", {"to": to, "data": {"fault": True}})
        response = self.handlers["send_push"].lambda_handler(event, self.lambda_context)
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])["id"]

    def settle(self) -> None:
        """Run fan-out and sender invocations until every queue is empty."""
        consumers = (("FanoutQueue", "fanout", 10), ("DeliveryQueue", "webpush_sender", 5))
        for _ in range(SETTLE_ROUNDS):
            progressed = False
            for queue, handler, batch_size in consumers:
                if messages := receive(self.aws["sqs"], self.queues[queue], batch_size):
                    progressed = True
                    self.invoke(queue, self.handlers[handler], messages)
            if not progressed:
                return
        raise AssertionError(f"the pipeline did not settle within {SETTLE_ROUNDS} rounds")

    def invoke(self, queue: str, handler: ModuleType, messages: list[dict[str, Any]]) -> None:
        """One invocation with these messages, and what the event source mapping then does."""
        ids = {m["MessageId"] for m in messages}
        try:
            result = handler.lambda_handler(sqs_event(messages), self.lambda_context)
            failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        except Exception:  # noqa: BLE001 - Lambda: a function error keeps the whole batch (Powertools raises when all failed)
            failed = ids
        self.settle_messages(queue, messages, failed)

    def settle_messages(self, queue: str, messages: list[dict[str, Any]], failed: set[str]) -> None:
        sqs, url = self.aws["sqs"], self.queues[queue]
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            elif int(message["Attributes"]["ApproximateReceiveCount"]) >= MAX_RECEIVES:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                self.redriven.append(json.loads(message["Body"]))
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        if failed:
            self.invocation_deadlines_pass()

    def invocation_deadlines_pass(self) -> None:
        """What the visibility timeout's wait does to idempotency records left in progress: the
        invocation that held them has timed out by the time SQS redelivers."""
        invocation_deadlines_pass(self.aws["dynamodb"], TABLE_NAME)

    # -- what happened ---------------------------------------------------------------------------

    def figures(self, fault: str, push_id: str, note: str = "") -> Figures:
        log = self.push_service.log
        push = wiring.services().repository.get_push(push_id)
        paths = [path_of(endpoint) for endpoint in self.endpoints]
        received = {path: log.accepted[path].count(push_id) for path in paths}
        delivered = sum(1 for count in received.values() if count)
        undelivered = len(paths) - delivered
        app_id = self.app.app.app_id
        expired = [
            endpoint for endpoint in self.endpoints
            if wiring.services().repository.get_device(app_id, token_hash(endpoint)).status is SubscriptionStatus.EXPIRED
        ]
        wrongly_pruned = sum(1 for endpoint in expired if not {404, 410} & set(log.statuses[path_of(endpoint)]))
        parked_messages = [body for body in self.redriven if body.get("push_id") == push_id]
        parked = sum(len(body.get("devices", [])) for body in parked_messages)
        if any("target" in body for body in parked_messages):
            note = f"{note}; a fan-out message parked".lstrip("; ")
        return Figures(
            fault=fault,
            targeted=len(paths),
            delivered=delivered,
            lost=max(0, undelivered - push.failed - push.pruned - parked),
            duplicated=sum(count - 1 for count in received.values() if count > 1),
            wrongly_pruned=wrongly_pruned,
            counts_off=abs(len(paths) - (push.sent + push.failed + push.pruned + parked)),
            parked=parked,
            note=note,
        )

    def push(self, push_id: str) -> Any:
        return wiring.services().repository.get_push(push_id)

    def redrive(self) -> int:
        """What an operator does once the cause is fixed: the parked messages back on their queues."""
        parked, self.redriven = self.redriven, []
        for body in parked:
            queue = "FanoutQueue" if "target" in body else "DeliveryQueue"
            self.aws["sqs"].send_message(QueueUrl=self.queues[queue], MessageBody=json.dumps(body))
        return len(parked)


def retries_fall_due_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages queued with a delay (retries) are due at once, their not_before passed."""
    original = Queue.send

    def due_now(queue: Queue, messages: list[Any], delay_seconds: int = 0) -> None:
        if delay_seconds:
            messages = [m.model_copy(update={"not_before": None}) if hasattr(m, "not_before") else m for m in messages]
        original(queue, messages, 0)

    monkeypatch.setattr(Queue, "send", due_now)


def invocation_deadlines_pass(dynamodb: Any, table: str) -> None:
    """Every idempotency record left in progress, made expired: what the wait for SQS's visibility
    timeout (six times the function's timeout) does to the record of an invocation that died."""
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=table,
        FilterExpression="begins_with(PK, :idempotency) AND idempotency_status = :in_progress",
        ExpressionAttributeValues={":idempotency": {"S": "IDEMPOTENCY#"}, ":in_progress": {"S": "INPROGRESS"}},
    )
    for item in (item for page in pages for item in page.get("Items", [])):
        dynamodb.update_item(
            TableName=table,
            Key={"PK": item["PK"], "SK": item["SK"]},
            UpdateExpression="SET idempotency_in_progress_expires_at = :past",
            ExpressionAttributeValues={":past": {"N": "0"}},
        )


def clear_wiring() -> None:
    config.settings.cache_clear()
    for factory in (wiring.services, wiring.push_service, wiring.fanout_service, wiring.delivery_service, wiring.native_delivery_service, wiring.sqs_client):
        factory.cache_clear()
