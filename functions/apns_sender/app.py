"""APNs sender (docs/api.md §7): delivers batches of ios and ios-voip devices from the APNs delivery
queue over HTTP/2 with a provider token (ES256 JWT) reused for 40 minutes, idempotently per (push
id, batch), reporting partial batch failures."""

from pushgate.models import ChannelType
from pushgate.wiring import sender_entry

lambda_handler = sender_entry(ChannelType.APNS)
