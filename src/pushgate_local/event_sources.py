"""SQS event source mappings, as Lambda's pollers run them: receive up to BatchSize messages,
invoke the function with a real SQS batch event, then delete what succeeded.

With ReportBatchItemFailures, only the messages listed in the response's batchItemFailures stay in
the queue (and reappear after the visibility timeout, then go to the dead-letter queue by the
queue's RedrivePolicy); without it, any function error keeps the whole batch. A response Lambda
would reject (an itemIdentifier that is empty or not in the batch) fails the whole batch too."""

from __future__ import annotations

import base64
import functools
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from pushgate_local.intrinsics import StackContext
from pushgate_local.lambda_runtime import MAX_WORKERS_PER_FUNCTION, Invocation
from pushgate_local.template import SqsEventSource

SQS_RECEIVE_LIMIT = 10  # ReceiveMessage returns at most 10 messages per call
POLL_WAIT_SECONDS = 5  # long polling: an idle stack makes few requests
RETRY_PAUSE_SECONDS = 1.0
STOP_JOIN_SECONDS = 1.0


def _message_attribute(attribute: dict[str, Any]) -> dict[str, Any]:
    record: dict[str, Any] = {"stringListValues": [], "binaryListValues": [], "dataType": attribute["DataType"]}
    if "StringValue" in attribute:
        record["stringValue"] = attribute["StringValue"]
    if "BinaryValue" in attribute:
        record["binaryValue"] = base64.b64encode(attribute["BinaryValue"]).decode("ascii")
    return record


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """One record of the event Lambda builds from a received message."""
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": {
            name: _message_attribute(attribute) for name, attribute in (message.get("MessageAttributes") or {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(payload: Any, batch_ids: set[str]) -> set[str]:
    """The messages to keep, read from a partial batch response; the whole batch if it is invalid."""
    failures = payload.get("batchItemFailures") if isinstance(payload, dict) else None
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return set(batch_ids)
    failed = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch_ids:
            return set(batch_ids)
        failed.add(identifier)
    return failed


class SqsPoller:
    """One poller of one event source mapping."""

    def __init__(
        self,
        source: SqsEventSource,
        queue_url: str,
        queue_arn: str,
        sqs: Any,
        invoke: Callable[[dict[str, Any]], Invocation],
        region: str,
        wait_seconds: int = POLL_WAIT_SECONDS,
    ) -> None:
        self.source = source
        self._queue_url = queue_url
        self._queue_arn = queue_arn
        self._sqs = sqs
        self._invoke = invoke
        self._region = region
        self._wait_seconds = wait_seconds

    def _receive(self, count: int, wait_seconds: int) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self._queue_url,
            MaxNumberOfMessages=min(count, SQS_RECEIVE_LIMIT),
            WaitTimeSeconds=wait_seconds,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return response.get("Messages", [])

    def _receive_batch(self) -> list[dict[str, Any]]:
        """Up to BatchSize messages: what the first receive brings, topped up until the batching
        window closes (a batch over 10 needs several receives)."""
        batch = self._receive(self.source.batch_size, self._wait_seconds)
        window_closes = time.monotonic() + self.source.batching_window_seconds
        while batch and len(batch) < self.source.batch_size and time.monotonic() < window_closes:
            more = self._receive(self.source.batch_size - len(batch), 0)
            if not more:
                time.sleep(min(0.1, max(window_closes - time.monotonic(), 0)))
            batch += more
        return batch

    def poll_once(self) -> int:
        """Receive one batch and process it; returns how many messages it held."""
        messages = self._receive_batch()
        self.process(messages)
        return len(messages)

    def process(self, messages: list[dict[str, Any]]) -> None:
        if not messages:
            return
        invocation = self._invoke({"Records": [sqs_record(m, self._queue_arn, self._region) for m in messages]})
        if invocation.failed:
            return  # all stay; they reappear after the visibility timeout
        batch_ids = {m["MessageId"] for m in messages}
        kept = failed_message_ids(invocation.payload, batch_ids) if self.source.report_batch_item_failures else set()
        done = [m for m in messages if m["MessageId"] not in kept]
        for start in range(0, len(done), SQS_RECEIVE_LIMIT):
            chunk = done[start : start + SQS_RECEIVE_LIMIT]
            entries = [{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)]
            self._sqs.delete_message_batch(QueueUrl=self._queue_url, Entries=entries)

    def run(self, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                messages = self._receive_batch()
                if stopping.is_set():
                    return  # received while stopping: left to reappear after the visibility timeout
                self.process(messages)
            except Exception as error:  # e.g. the endpoint going away at shutdown: retry unless stopping
                if not stopping.is_set():
                    print(f"[{self.source.function}] SQS poller ({self.source.name}): {error!r}", file=sys.stderr)
                    stopping.wait(RETRY_PAUSE_SECONDS)


class EventSources:
    """Every SQS event source mapping of the template, each with its own poller threads."""

    def __init__(
        self,
        sources: list[SqsEventSource],
        context: StackContext,
        sqs: Any,
        invoke: Callable[[str, dict[str, Any]], Invocation],
    ) -> None:
        self._pollers = []
        for source in sources:
            if not source.enabled:
                continue
            queue_arn = context.resolve(source.queue)
            queue = context.queue_for_arn(queue_arn)
            invoke_function = functools.partial(invoke, source.function)
            poller = SqsPoller(source, context.queue_url(queue), queue_arn, sqs, invoke_function, context.region)
            # Lambda scales pollers with the backlog; locally one per allowed concurrent invocation.
            concurrency = min(source.maximum_concurrency or 1, MAX_WORKERS_PER_FUNCTION)
            self._pollers += [poller] * concurrency
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def __len__(self) -> int:
        return len(self._pollers)

    def start(self) -> None:
        for index, poller in enumerate(self._pollers):
            thread = threading.Thread(target=poller.run, args=(self._stopping,), name=f"sqs-poller-{index}")
            thread.daemon = True  # one blocked in a long poll must not hold the process at exit
            thread.start()
            self._threads.append(thread)

    def request_stop(self) -> None:
        """Stop polling; a poller in the middle of an invocation ends when the invocation does."""
        self._stopping.set()

    def stop(self) -> None:
        """Stop polling and give the pollers a moment to end. One blocked in a long poll is a daemon
        thread: it invokes nothing more and ends with the process."""
        self.request_stop()
        deadline = time.monotonic() + STOP_JOIN_SECONDS
        for thread in self._threads:
            thread.join(timeout=max(deadline - time.monotonic(), 0))
