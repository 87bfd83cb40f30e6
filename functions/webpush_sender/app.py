"""Web Push sender (docs/api.md §7): delivers batches from the Web Push delivery queue, idempotently
per (push id, batch), reporting partial batch failures. An invocation's messages are processed
side by side, so that their push-service round trips overlap (pushgate.delivery.transport.sending_loop)."""

from pushgate.models import ChannelType
from pushgate.wiring import sender_entry

lambda_handler = sender_entry(ChannelType.WEBPUSH)
