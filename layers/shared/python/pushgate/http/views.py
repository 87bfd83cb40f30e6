"""Response bodies that more than one function returns."""

from __future__ import annotations

from datetime import UTC, datetime

from pushgate.models import Device, DeviceType
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
                # Left out, not targeted: their user was online on the WebSocket. Only for a push
                # sent with skip_online, so other pushes' counts keep their documented shape.
                **({"skipped_online": push.skipped_online} if push.skip_online else {}),
            },
            # What `failed` is made of: no_channel, unknown_device, expired, rejected, ...
            "failed_reasons": dict(push.failed_reasons),
        }
    }


def user_subscription(device: Device, topics: list[str]) -> dict[str, object]:
    """docs/api.md §4 GET /users/{user_id}/subscriptions: one subscription, every status. The same
    record serves every surface that registered it, so no surface is named; `device_id` is there
    when the device API (§3) named it."""
    entry: dict[str, object] = {"type": device.type.value}
    if device.device_id is not None:
        entry["device_id"] = device.device_id
    entry["endpoint" if device.type is DeviceType.WEB else "token"] = device.token
    entry.update(status=device.status.value, created_at=device.created_at, updated_at=device.updated_at, topics=topics)
    return entry


def my_device(device: Device) -> dict[str, object]:
    """docs/api.md §3 GET /me/devices: one of the caller's active devices, in the device API's names."""
    entry: dict[str, object] = {"type": device.type.value, "deviceId": device.device_id}
    entry["endpoint" if device.type is DeviceType.WEB else "token"] = device.token
    entry.update(createdAt=device.created_at, updatedAt=device.updated_at)
    return entry
