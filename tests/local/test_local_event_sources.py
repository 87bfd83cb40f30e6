"""SQS event source mappings, driven by a small throwaway template: queues (with a dead-letter
queue) provisioned from it, and a function fed real SQS batch events whose partial batch
responses decide what is deleted."""

from __future__ import annotations

import functools
import json
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pushgate_local.aws_endpoint import AwsEndpoint
from pushgate_local.event_sources import EventSources, SqsPoller, failed_message_ids, sqs_record
from pushgate_local.intrinsics import StackContext, stack_parameters
from pushgate_local.lambda_runtime import LambdaRuntime, deployment_from_template
from pushgate_local.provisioning import create_queues
from pushgate_local.template import functions, load_template, sqs_event_sources

CONSUMER = """
import json, os

def handler(event, context):
    with open(os.path.join(os.environ["RECORD_DIR"], "events.jsonl"), "a") as file:
        file.write(json.dumps(event) + "\\n")
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"]}
"""

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    Timeout: 5
    MemorySize: 256
    Environment:
      Variables:
        RECORD_DIR: {record_dir}
Resources:
  WorkDLQ:
    Type: AWS::SQS::Queue
  WorkQueue:
    Type: AWS::SQS::Queue
    Properties:
      VisibilityTimeout: 1
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt WorkDLQ.Arn
        maxReceiveCount: 2
  ConsumerFunction:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {code_dir}
      Handler: app.handler
      Events:
        Work:
          Type: SQS
          Properties:
            Queue: !GetAtt WorkQueue.Arn
            BatchSize: 5
            FunctionResponseTypes: [ReportBatchItemFailures]
"""


@pytest.fixture
def stack(tmp_path: Path, aws_endpoint: AwsEndpoint) -> Iterator[dict[str, Any]]:
    code_dir = tmp_path / "consumer"
    code_dir.mkdir()
    (code_dir / "app.py").write_text(textwrap.dedent(CONSUMER))
    template_path = tmp_path / "template.yaml"
    template_path.write_text(TEMPLATE.format(record_dir=tmp_path, code_dir=code_dir))
    template = load_template(template_path)
    context = StackContext(template, stack_parameters(template, {}), aws_endpoint.url)
    sqs = aws_endpoint.client("sqs")
    create_queues(context, sqs)
    deployments = {spec.logical_id: deployment_from_template(spec, context) for spec in functions(template).values()}
    runtime = LambdaRuntime(deployments)
    events = tmp_path / "events.jsonl"
    yield {"template": template, "context": context, "sqs": sqs, "runtime": runtime, "events": events}
    runtime.close()


def queue_counts(sqs: Any, url: str) -> tuple[int, int]:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def recorded_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_queues_are_provisioned_from_the_template(stack: dict[str, Any]) -> None:
    context, sqs = stack["context"], stack["sqs"]
    attributes = sqs.get_queue_attributes(QueueUrl=context.queue_url("WorkQueue"), AttributeNames=["All"])["Attributes"]
    assert attributes["VisibilityTimeout"] == "1"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive == {"deadLetterTargetArn": context.arn("WorkDLQ"), "maxReceiveCount": 2}
    assert context.queue_url("WorkQueue").endswith("/123456789012/pushgate-local-WorkQueue")


def test_the_event_source_mapping_is_read_from_the_template(stack: dict[str, Any]) -> None:
    (source,) = sqs_event_sources(stack["template"])
    assert (source.function, source.batch_size, source.report_batch_item_failures) == ("ConsumerFunction", 5, True)
    assert stack["context"].resolve(source.queue) == stack["context"].arn("WorkQueue")


def test_a_batch_is_invoked_and_only_the_reported_failures_stay(stack: dict[str, Any]) -> None:
    # Given three messages, one of which the function will report as failed
    context, sqs = stack["context"], stack["sqs"]
    url = context.queue_url("WorkQueue")
    for body in ("one", "fail", "two"):
        attributes = {"kind": {"DataType": "String", "StringValue": body}}
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageAttributes=attributes)
    (source,) = sqs_event_sources(stack["template"])
    invoke = functools.partial(stack["runtime"].invoke, source.function)
    poller = SqsPoller(source, url, context.arn("WorkQueue"), sqs, invoke, context.region, wait_seconds=1)

    # When the poller takes one batch
    assert poller.poll_once() == 3

    # Then the function saw a real SQS event, and only the failed message is left (in flight)
    (event,) = recorded_events(stack["events"])
    records = event["Records"]
    assert sorted(r["body"] for r in records) == ["fail", "one", "two"]
    record = records[0]
    assert record["eventSource"] == "aws:sqs" and record["eventSourceARN"] == context.arn("WorkQueue")
    assert record["awsRegion"] == "us-east-1"
    assert {"messageId", "receiptHandle", "md5OfBody", "attributes", "messageAttributes"} <= set(record)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["messageAttributes"]["kind"]["stringValue"] == record["body"]
    assert queue_counts(sqs, url) == (0, 1)

    # And after failing maxReceiveCount times it is dead-lettered by the queue's RedrivePolicy
    for _ in range(3):
        time.sleep(1.1)  # the visibility timeout
        poller.poll_once()
    assert queue_counts(sqs, url) == (0, 0)
    dead = sqs.receive_message(QueueUrl=context.queue_url("WorkDLQ"))["Messages"]
    assert [m["Body"] for m in dead] == ["fail"]


def test_the_pollers_run_in_the_background(stack: dict[str, Any]) -> None:
    context, sqs = stack["context"], stack["sqs"]
    sources = EventSources(sqs_event_sources(stack["template"]), context, sqs, stack["runtime"].invoke)
    sources.start()
    try:
        sqs.send_message(QueueUrl=context.queue_url("WorkQueue"), MessageBody="hello")
        deadline = time.monotonic() + 15
        while not recorded_events(stack["events"]) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        sources.stop()
    assert [r["body"] for e in recorded_events(stack["events"]) for r in e["Records"]] == ["hello"]
    assert queue_counts(sqs, context.queue_url("WorkQueue")) == (0, 0)


@pytest.mark.parametrize(
    ("payload", "failed"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": None}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "b"}]}, {"b"}),
        ({"batchItemFailures": [{"itemIdentifier": "zzz"}]}, {"a", "b"}),  # not in the batch: all fail
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {"a", "b"}),
        ({"batchItemFailures": [{"id": "a"}]}, {"a", "b"}),
        ({"batchItemFailures": "a"}, {"a", "b"}),
    ],
)
def test_partial_batch_responses_are_read_as_lambda_reads_them(payload: Any, failed: set[str]) -> None:
    assert failed_message_ids(payload, {"a", "b"}) == failed


def test_binary_message_attributes_are_base64_in_the_record() -> None:
    message = {
        "MessageId": "m",
        "ReceiptHandle": "r",
        "Body": "b",
        "MD5OfBody": "x",
        "MessageAttributes": {"blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"}},
    }
    record = sqs_record(message, "arn:aws:sqs:us-east-1:123456789012:q", "us-east-1")
    assert record["messageAttributes"]["blob"] == {
        "binaryValue": "AAE=",
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "Binary",
    }
