"""Fan-out consumer (docs/api.md §7): one fan-out message -> delivery batches (and a continuation
for the next page of a topic)."""

from pushgate.config import settings
from pushgate.pushes import FanoutMessage
from pushgate.sqs import consumer_name, idempotency_store, sqs_entry
from pushgate.wiring import FANOUT_MESSAGE_SECONDS, fanout_service

fanout = fanout_service()

lambda_handler = sqs_entry(
    FanoutMessage,
    fanout.expand,
    idempotency_key="[push_id, target]",
    store=idempotency_store(settings().table_name, consumer_name()),
    message_seconds=FANOUT_MESSAGE_SECONDS,
)
