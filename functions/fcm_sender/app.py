"""FCM sender (docs/api.md §7): delivers batches of android and fcm devices from the FCM delivery
queue over FCM HTTP v1 (HTTP/2, an OAuth2 token per service account), idempotently per (push id,
batch), reporting partial batch failures."""

from pushgate.models import ChannelType
from pushgate.wiring import sender_entry

lambda_handler = sender_entry(ChannelType.FCM)
