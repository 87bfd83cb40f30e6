"""Web Push sender (CONTRACT §7): delivers batches from the delivery queue, idempotently per
(push id, batch), reporting partial batch failures. An invocation's messages are processed
side by side, so that their push-service round trips overlap (pushgate.delivery.sending_loop)."""

from pushgate.config import settings
from pushgate.pushes import DeliveryMessage
from pushgate.sqs import consumer_name, idempotency_store, sqs_entry
from pushgate.wiring import SENDER_MESSAGE_SECONDS, delivery_service

lambda_handler = sqs_entry(
    DeliveryMessage,
    delivery_service().process,
    idempotency_key="[push_id, batch_id]",
    store=idempotency_store(settings().table_name, consumer_name()),
    message_seconds=SENDER_MESSAGE_SECONDS,
    side_by_side=True,
)
