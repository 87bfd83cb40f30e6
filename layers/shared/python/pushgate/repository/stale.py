"""The stale-subscription index (docs/lifecycle.md): a sparse GSI2 on the device rows, keyed by the
week of their last-seen stamp, so that "not seen since T" is a Query of the weeks before T and
never a Scan; and the sweep's reads and writes of a device under review.

A device row is in GSI2 while it is ACTIVE: `GSI2PK = SEEN#<week>` (weeks since the epoch of the
stamp it was indexed with: its last (re)subscription, or the last time the sweep found it seen
since), `GSI2SK` its own PK. The index is KEYS_ONLY and its key moves only at registration and at review, never
on a delivery: a success stamp costs no index write. So the week is a lower bound of the
device's last-seen time; the sweep reads the device's partition (its row and its topic edges,
which carry the stamps of deliveries through topics) for the exact one."""

from __future__ import annotations

from typing import Any

from pushgate import keys
from pushgate.models import Device, SubscriptionStatus
from pushgate.repository.base import RepositoryBase, _from_ddb, _to_ddb

SEEN_INDEX = "GSI2"
SEEN_BUCKET_SECONDS = 7 * 86_400
_SEEN_PREFIX = "SEEN#"


def seen_bucket(epoch_seconds: int) -> int:
    """The week (since 1970-01-01) an instant falls in."""
    return epoch_seconds // SEEN_BUCKET_SECONDS


def bucket_start(bucket: int) -> int:
    return bucket * SEEN_BUCKET_SECONDS


def buckets_wholly_before(instant: int) -> int:
    """The first bucket that is not wholly before `instant`: every bucket below it only holds
    stamps older than `instant`."""
    return seen_bucket(instant)


def seen_index_keys(app_id: str, token_hash: str, stamp: int) -> dict[str, str]:
    return {"GSI2PK": f"{_SEEN_PREFIX}{seen_bucket(stamp)}", "GSI2SK": keys.device_pk(app_id, token_hash)}


def device_of_pk(pk: str) -> tuple[str, str]:
    """(app_id, token_hash) of a device row's PK (`DEVICE#<app_id>#<token_hash>`; a token hash
    is base64url, so it holds no '#')."""
    app_id, token_hash = pk.removeprefix("DEVICE#").rsplit("#", 1)
    return app_id, token_hash


def last_seen(device: Device, edges: list[dict[str, Any]]) -> int:
    """When an active device was last seen: its last registration (an active row's `updated_at`:
    only a registration changes an active row's), or the latest success stamp of its row (a
    delivery by token or user) or of one of its topic edges (a delivery through that topic)."""
    stamps = [device.updated_at, device.last_success_at or 0]
    stamps += [int(edge["last_success_at"]) for edge in edges if edge.get("last_success_at") is not None]
    return max(stamps)


class StaleMixin(RepositoryBase):
    # -- the stale-subscription sweep (docs/lifecycle.md) ------------------------------------------

    def seen_bucket_page(self, bucket: int, start: dict[str, Any] | None, limit: int = 500) -> tuple[list[tuple[str, str]], dict[str, Any] | None]:
        """One page of the devices indexed in this week: (app_id, token_hash) pairs, and the key
        to continue from."""
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": SEEN_INDEX,
            "KeyConditionExpression": "GSI2PK = :pk",
            "ExpressionAttributeValues": _to_ddb({":pk": f"{_SEEN_PREFIX}{bucket}"}),
            "Limit": limit,
        }
        if start:
            query["ExclusiveStartKey"] = _to_ddb(start)
        response = self._client.query(**query)
        last = response.get("LastEvaluatedKey")
        return [device_of_pk(_from_ddb(item)["PK"]) for item in response.get("Items", [])], (_from_ddb(last) if last else None)

    def device_with_edges(self, app_id: str, token_hash: str) -> tuple[Device | None, list[dict[str, Any]]]:
        """A device's row and its topic edges: one consistent Query of its partition."""
        items = self._query_all(
            KeyConditionExpression="PK = :pk",
            ExpressionAttributeValues=_to_ddb({":pk": keys.device_pk(app_id, token_hash)}),
            ConsistentRead=True,
        )
        device = next((Device.model_validate(item) for item in items if item["SK"] == keys.DEVICE_SK), None)
        return device, [item for item in items if item["SK"].startswith("TOPIC#")]

    def _review_write(self, app_id: str, token_hash: str, expression: str, condition: str, names: dict[str, str], values: dict[str, Any]) -> bool:
        return self._update_if(keys.device_pk(app_id, token_hash), keys.DEVICE_SK, expression, condition, names, values)

    def restamp_seen(self, device: Device, stamp: int) -> bool:
        """Set a device's row stamp to `stamp` and index it in that week: the sweep moves a device
        that was seen after all (through a topic edge, or by a delivery to its row) to the week
        it was last seen. Not if the device changed since it was read: a registration stamps and
        indexes it itself."""
        values = {":stamp": stamp, ":version": device.version, ":active": SubscriptionStatus.ACTIVE.value}
        values.update({f":{name}": value for name, value in seen_index_keys(device.app_id, device.token_hash, stamp).items()})
        return self._review_write(
            device.app_id,
            device.token_hash,
            "SET #success = :stamp, GSI2PK = :GSI2PK, GSI2SK = :GSI2SK",
            "#status = :active AND #version = :version",
            {"#success": "last_success_at", "#status": "status", "#version": "version"},
            values,
        )

    def expire_stale_device(self, device: Device, now: int) -> bool:
        """Mark a device EXPIRED for staleness and take it out of the index, only if nothing
        changed it since it was read (a re-subscribe moves its version on)."""
        return self._review_write(
            device.app_id,
            device.token_hash,
            "SET #status = :expired, #updated = :now ADD #version :one REMOVE GSI2PK, GSI2SK",
            "#status = :active AND #version = :version",
            {"#status": "status", "#updated": "updated_at", "#version": "version"},
            {":expired": SubscriptionStatus.EXPIRED.value, ":now": now, ":one": 1, ":active": SubscriptionStatus.ACTIVE.value, ":version": device.version},
        )

    def unindex_inactive(self, app_id: str, token_hash: str) -> bool:
        """Take a device that is no longer ACTIVE out of the index (rows made inactive before the
        index existed, or by a write that left their keys)."""
        return self._review_write(
            app_id,
            token_hash,
            "REMOVE GSI2PK, GSI2SK",
            "attribute_exists(PK) AND #status <> :active",
            {"#status": "status"},
            {":active": SubscriptionStatus.ACTIVE.value},
        )

    def mark_expiry_warned(self, device: Device, seen: int) -> bool:
        """Record that the device was warned that it is about to expire (StaleWarningPush), for the
        last-seen time `seen`. False when it already was for that time (one warning per unseen
        stretch: a registration or delivery since gives it a later `seen`, and a later warning), or
        when it changed since it was read. No index write: the row's `expiry_warned_for` only."""
        return self._review_write(
            device.app_id,
            device.token_hash,
            "SET #warned = :seen",
            "#status = :active AND #version = :version AND (attribute_not_exists(#warned) OR #warned <> :seen)",
            {"#warned": "expiry_warned_for", "#status": "status", "#version": "version"},
            {":seen": seen, ":active": SubscriptionStatus.ACTIVE.value, ":version": device.version},
        )
