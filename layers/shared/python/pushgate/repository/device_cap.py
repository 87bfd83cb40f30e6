"""The per-user device cap (docs/limits.md "Devices per user"): an app's own cap on its app record,
and the eviction of one of a user's devices.

The user's devices themselves are read with `user_devices` (pattern 11, GSI1); eviction is the
unsubscribe's soft delete (pattern 9) with one more condition, the `version` the cap read, so a
device re-registered since that read (now the newest, not the oldest) is never evicted."""

from __future__ import annotations

from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.models import SubscriptionStatus
from pushgate.repository.base import RepositoryBase, _from_ddb, _is_condition_failure, _to_ddb

CAP_ATTRIBUTE = "max_devices_per_user"


class DeviceCapMixin(RepositoryBase):
    def device_cap_override(self, app_id: str) -> int | None:
        """The app's own cap, None when it has none (the deployment's applies). One projected,
        eventually consistent GetItem of the app record."""
        response = self._client.get_item(
            TableName=self._table,
            Key=_to_ddb({"PK": keys.app_pk(app_id), "SK": keys.APP_SK}),
            ProjectionExpression="#cap",
            ExpressionAttributeNames={"#cap": CAP_ATTRIBUTE},
        )
        item = _from_ddb(response.get("Item") or {})
        return int(item[CAP_ATTRIBUTE]) if CAP_ATTRIBUTE in item else None

    def set_device_cap(self, app_id: str, cap: int | None) -> bool:
        """Store the app's own cap (None removes it); False when there is no such app."""
        key = _to_ddb({"PK": keys.app_pk(app_id), "SK": keys.APP_SK})
        names = {"#cap": CAP_ATTRIBUTE}
        if cap is None:
            update = {"UpdateExpression": "REMOVE #cap", "ExpressionAttributeNames": names}
        else:
            update = {"UpdateExpression": "SET #cap = :cap", "ExpressionAttributeNames": names, "ExpressionAttributeValues": _to_ddb({":cap": cap})}
        try:
            self._client.update_item(TableName=self._table, Key=key, ConditionExpression="attribute_exists(PK)", **update)
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def evict_device(self, app_id: str, token_hash: str, user_id: str, version: int, now: int) -> bool:
        """Soft-delete the user's active device, as an unsubscribe does, if it is still at the
        `version` read. False when it changed meanwhile (re-registered, removed, moved)."""
        return self._update_if(
            keys.device_pk(app_id, token_hash),
            keys.DEVICE_SK,
            "SET #status = :removed, #updated = :now ADD #version :one REMOVE GSI2PK, GSI2SK",
            "#user = :user AND #status = :active AND #version = :read",
            {"#status": "status", "#updated": "updated_at", "#version": "version", "#user": "user_id"},
            {":removed": SubscriptionStatus.REMOVED.value, ":now": now, ":one": 1, ":user": user_id,
             ":active": SubscriptionStatus.ACTIVE.value, ":read": version},
        )
