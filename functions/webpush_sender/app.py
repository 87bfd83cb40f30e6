"""Web Push sender (CONTRACT §7): delivers batches from the delivery queue, idempotently per
(push id, batch), reporting partial batch failures."""

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
)
