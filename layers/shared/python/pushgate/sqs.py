"""What the SQS consumers share: Powertools batch processing (partial batch responses) and
idempotency records in the shared table, so an SQS message delivered twice is processed once.
A consumer whose messages mostly wait on the network can have an invocation's messages
processed side by side, one thread each."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    AsyncBatchProcessor,
    BatchProcessor,
    EventType,
    async_process_partial_response,
    process_partial_response,
)
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig, idempotent_function
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel

from pushgate.observability import logger, metrics, tracer
from pushgate.queues import Queue, QueueSendError
from pushgate.settled_writes import write_settled

IDEMPOTENCY_RECORD_SECONDS = 6 * 3600  # longer than any redelivery of the same message


class SettledIdempotencyStore(DynamoDBPersistenceLayer):
    """Once `process` has returned, its work is done (requests sent, batches queued): a failing
    success record must not hand the message back to SQS, whose redelivery would do it all again
    (pushgate.settled_writes). Left in progress, the record expires with the invocation."""

    def save_success(self, data: dict[str, Any], result: dict) -> None:
        write_settled("idempotency save_success", super().save_success, data=data, result=result)


def idempotency_store(table_name: str, consumer: str, client: Any | None = None) -> DynamoDBPersistenceLayer:
    """Records live in the single table under their own partition (PK = IDEMPOTENCY#<consumer>),
    with attribute names that cannot collide with the entities', and DynamoDB's TTL removes them."""
    return SettledIdempotencyStore(
        table_name=table_name,
        key_attr="PK",
        sort_key_attr="SK",
        static_pk_value=f"IDEMPOTENCY#{consumer}",
        expiry_attr="expires_at",
        in_progress_expiry_attr="idempotency_in_progress_expires_at",
        status_attr="idempotency_status",
        data_attr="idempotency_data",
        validation_key_attr="idempotency_validation",
        boto3_client=client,
    )


class NotEnoughTimeLeft(Exception):
    """Raised instead of starting a message that the Lambda timeout could cut off half-done (its
    redelivery would then repeat what it had done): the message goes back to the queue untouched,
    as a partial batch failure, and is taken up again."""


def sqs_entry(
    model: type[BaseModel],
    process: Callable[[Any], object],
    idempotency_key: str,
    store: DynamoDBPersistenceLayer,
    message_seconds: float,
    side_by_side: bool = False,
    requeue: Queue | None = None,
):  # noqa: ANN201 - returns the Lambda entry point
    """The Lambda entry point of an SQS consumer. `idempotency_key` is a JMESPath over the message
    body naming what makes two messages the same work (e.g. "[push_id, batch_id]");
    `message_seconds` is the longest one message can take, and a message is only started with at
    least that much of the invocation left.

    With `side_by_side`, the invocation's messages are processed at the same time, each on a
    thread of its own (Powertools' AsyncBatchProcessor), so that their network waits overlap;
    `process` must then be safe to run on several threads at once. Each message still has
    `message_seconds` to itself, and they all start at the invocation's start.

    A message there is no time left for is handed on: sent again to `requeue` (the consumer's own
    queue) as a new message and taken off the batch. Handed back to SQS as a batch failure instead,
    it would wait out the queue's visibility timeout and count as a receive, and a message left
    often enough would reach the dead-letter queue without ever having been tried. Only when that
    send fails is it handed back to SQS."""
    message_ms = int(message_seconds * 1000)
    config = IdempotencyConfig(event_key_jmespath=idempotency_key, expires_after_seconds=IDEMPOTENCY_RECORD_SECONDS, raise_on_no_idempotency_key=True)

    @idempotent_function(data_keyword_argument="work", config=config, persistence_store=store)
    def handle(work: dict[str, Any]) -> dict[str, bool]:
        process(model.model_validate(work))
        return {"done": True}

    @tracer.capture_method(capture_response=False)
    def record_handler(record: SQSRecord, lambda_context: Any) -> None:
        remaining_ms = lambda_context.get_remaining_time_in_millis()
        if remaining_ms < message_ms:
            if requeue is not None and _hand_on(requeue, model, record):
                logger.info("message handed on to a later invocation", extra={"message_id": record.message_id, "remaining_ms": remaining_ms})
                return
            logger.info("message left for a later invocation", extra={"message_id": record.message_id, "remaining_ms": remaining_ms})
            raise NotEnoughTimeLeft(f"{remaining_ms} ms left, a message may need {message_ms} ms")
        handle(work=json.loads(record.body))

    if not side_by_side:
        processor = BatchProcessor(event_type=EventType.SQS)

        def process_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
            return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)

    else:
        concurrent_processor = AsyncBatchProcessor(event_type=EventType.SQS)

        async def record_on_its_thread(record: SQSRecord, lambda_context: Any) -> None:
            await asyncio.to_thread(record_handler, record, lambda_context)

        def process_batch(event: dict[str, Any], context: Any) -> dict[str, Any]:
            # Powertools configures the store on its first use and marks it configured before it
            # has read the config: a second thread could then key a message by the whole body.
            # Configured here, before any thread starts, the store is complete for all of them.
            store.configure(config, f"{handle.__module__}.{handle.__qualname__}")
            return async_process_partial_response(event=event, record_handler=record_on_its_thread, processor=concurrent_processor, context=context)

    @logger.inject_lambda_context(clear_state=True)
    @metrics.log_metrics
    @tracer.capture_lambda_handler(capture_response=False)
    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config.register_lambda_context(context)
        return process_batch(event, context)

    return lambda_handler


def _hand_on(queue: Queue, model: type[BaseModel], record: SQSRecord) -> bool:
    """The message, untouched, as a new message on `queue`. Sent twice (this invocation failing
    after the send), both copies carry the same idempotency key, so the work is done once."""
    try:
        queue.send([model.model_validate_json(record.body)])
    except (ValueError, QueueSendError, ClientError, BotoCoreError):
        logger.warning("a message could not be handed on; SQS hands it back", extra={"message_id": record.message_id}, exc_info=True)
        return False
    return True


def consumer_name() -> str:
    return os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "local")
