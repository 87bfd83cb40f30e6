"""The delivery pipeline under moto: the template's queues, real SQS batch events, and a push
transport fake that records what would have been sent."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from pushgate.delivery.outcomes import DeliveryOutcome, OutcomeKind
from pushgate.identifiers import log_id
from pushgate.pushes import DeliveryTarget, Push
from pushgate_local.template import resources

QUEUE_ENV = {
    "FanoutQueue": "FANOUT_QUEUE_URL",
    "DeliveryQueue": "DELIVERY_QUEUE_URL",
    "DeliveryDeadLetterQueue": "DELIVERY_DLQ_URL",
    "FcmDeliveryQueue": "FCM_DELIVERY_QUEUE_URL",
    "ApnsDeliveryQueue": "APNS_DELIVERY_QUEUE_URL",
}


@pytest.fixture
def queues(aws, monkeypatch) -> dict[str, str]:  # noqa: ANN001
    """Every SQS queue of template.yaml, created in moto; their URLs in the functions' env vars."""
    from pushgate import config, wiring

    urls = {}
    for name in resources(kind="AWS::SQS::Queue"):
        urls[name] = aws["sqs"].create_queue(QueueName=f"test-{name}")["QueueUrl"]
        if name in QUEUE_ENV:
            monkeypatch.setenv(QUEUE_ENV[name], urls[name])
    config.settings.cache_clear()
    for factory in (wiring.services, wiring.push_service, wiring.fanout_service, wiring.delivery_service, wiring.native_delivery_service, wiring.sqs_client):
        factory.cache_clear()
    return urls


def receive(sqs: Any, url: str, max_messages: int = 10) -> list[dict[str, Any]]:
    response = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=max_messages, AttributeNames=["All"], MessageAttributeNames=["All"])
    return response.get("Messages", [])


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages = []
    while batch := receive(sqs, url):
        messages.extend(batch)
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def sqs_event(messages: list[dict[str, Any]], queue_arn: str = "arn:aws:sqs:us-east-1:123456789012:test") -> dict[str, Any]:
    """The event Lambda's SQS event source mapping sends for these received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0"),
                    "SenderId": "AIDAEXAMPLE",
                    "ApproximateFirstReceiveTimestamp": m.get("Attributes", {}).get("ApproximateFirstReceiveTimestamp", "0"),
                },
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def bodies(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [json.loads(m["Body"]) for m in messages]


@dataclass
class RecordingTransport:
    """Answers each endpoint with a scripted outcome (default: sent) and records every send."""

    script: dict[str, OutcomeKind] = field(default_factory=dict)
    retry_after: float | None = None
    sent: list[tuple[str, str, int]] = field(default_factory=list)  # (push id, endpoint, ttl)

    def send(self, push: Push, targets: Sequence[DeliveryTarget], ttl: int) -> list[DeliveryOutcome]:
        outcomes = []
        for target in targets:
            self.sent.append((push.push_id, target.token, ttl))
            kind = self.script.get(target.token, OutcomeKind.SENT)
            retry_after = self.retry_after if kind is OutcomeKind.RATE_LIMITED else None
            outcomes.append(DeliveryOutcome(kind, log_id(target.token), status_code=None, retry_after=retry_after))
        return outcomes
