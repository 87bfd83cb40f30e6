"""Response bodies that more than one function returns."""

from __future__ import annotations

from datetime import UTC, datetime

from pushgate.models import Device
from pushgate.pushes import Push


def iso_time(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat().replace("+00:00", "Z")


def channel_subscription(device: Device) -> dict[str, str | None]:
    """docs/api.md §5: {id, channel_id, identifier, created_at, updated_at}; the keys stay private."""
    return {
        "id": device.token_hash,
        "channel_id": device.channel_id,
        "identifier": device.token,
        "created_at": iso_time(device.created_at),
        "updated_at": iso_time(device.updated_at),
    }


def push_status(push: Push) -> dict[str, object]:
    """docs/api.md §4 GET /pushes/{id}; `cancelled` counts what a DELETE stopped before it was sent."""
    return {
        "push": {
            "id": push.push_id,
            "date": push.created_at,
            "status": push.status.value,
            "counts": {
                "targeted": push.targeted,
                "sent": push.sent,
                "failed": push.failed,
                "pruned": push.pruned,
                "pending": push.pending,
                "cancelled": push.cancelled_count,
            },
            # What `failed` is made of: no_channel, unknown_device, expired, rejected, ...
            "failed_reasons": dict(push.failed_reasons),
        }
    }
