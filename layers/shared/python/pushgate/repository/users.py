"""A user's rows (docs/api.md §3 `GET /me/devices`, §4 `/users/{user_id}`): their devices a page at a
time, their open WebSocket connections, and the deletes that erase them.

Everything of a user is found through their GSI1 partition `USER#<app>#<user>`: device rows
(`GSI1SK = DEVICE#<token_hash>`) and authenticated connections (`GSI1SK = CONN#<connection_id>`).
A device's topic edges and its device-id pointer are then reached from the device itself. Every
delete is conditional on the row still being that user's, so a device that has moved to another
user meanwhile is never touched, and a repeated erasure finds nothing more to count."""

from __future__ import annotations

from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.models import Device, SubscriptionStatus
from pushgate.repository.base import RepositoryBase, _from_ddb, _is_condition_failure, _to_ddb

DEVICE_PREFIX = "DEVICE#"
CONNECTION_PREFIX = "CONN#"
PRESENCE_QUERY_CONCURRENCY = 16  # parallel Queries in users_online, as in subscribed_before


def connection_gsi_sk(connection_id: str) -> str:
    return f"{CONNECTION_PREFIX}{connection_id}"


class UsersMixin(RepositoryBase):
    # -- a user's devices, a page at a time (pattern 11 with a cursor) ------------------------------

    def user_devices_page(
        self, app_id: str, user_id: str, limit: int, start: dict[str, Any] | None
    ) -> tuple[list[Device], dict[str, Any] | None]:
        """One page of the user's device rows, every status, and the key to continue from."""
        partition = keys.user_gsi_pk(app_id, user_id)
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "GSI1",
            "KeyConditionExpression": "GSI1PK = :pk AND begins_with(GSI1SK, :prefix)",
            "ExpressionAttributeValues": _to_ddb({":pk": partition, ":prefix": DEVICE_PREFIX}),
            "Limit": limit,
        }
        if start:
            # A cursor is client input: it must continue this very listing, nothing else.
            if set(start) != {"PK", "SK", "GSI1PK", "GSI1SK"} or start["GSI1PK"] != partition or not start["GSI1SK"].startswith(DEVICE_PREFIX):
                raise ValueError("cursor of another listing")
            query["ExclusiveStartKey"] = _to_ddb(start)
        response = self._client.query(**query)
        last = response.get("LastEvaluatedKey")
        items = [_from_ddb(item) for item in response.get("Items", [])]
        return [Device.model_validate(item) for item in items if item.get("entity") == "Device"], (_from_ddb(last) if last else None)

    # -- a user's connections (indexed once authenticated: repository.connections) -----------------

    def user_connection_ids(self, app_id: str, user_id: str) -> list[str]:
        items = self._query_all(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :prefix)",
            ExpressionAttributeValues=_to_ddb({":pk": keys.user_gsi_pk(app_id, user_id), ":prefix": CONNECTION_PREFIX}),
            ProjectionExpression="GSI1SK",
        )
        return [item["GSI1SK"].removeprefix(CONNECTION_PREFIX) for item in items]

    def users_online(self, app_id: str, user_ids: Collection[str], now: int) -> set[str]:
        """The users among `user_ids` with an authenticated connection open: one Query per user
        (not per device) over their own partition's connections, run in parallel. A row whose
        $disconnect never came stops counting when its TTL time has passed, even before DynamoDB
        deletes it."""

        def online(user_id: str) -> bool:
            response = self._client.query(
                TableName=self._table,
                IndexName="GSI1",
                KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :prefix)",
                FilterExpression="expires_at > :now",
                ExpressionAttributeValues=_to_ddb({":pk": keys.user_gsi_pk(app_id, user_id), ":prefix": CONNECTION_PREFIX, ":now": now}),
                Select="COUNT",
            )
            return response.get("Count", 0) > 0

        users = list(dict.fromkeys(user_ids))
        if not users:
            return set()
        with ThreadPoolExecutor(max_workers=min(PRESENCE_QUERY_CONCURRENCY, len(users))) as pool:
            return {user for user, hit in zip(users, pool.map(online, users), strict=True) if hit}

    def delete_user_connection(self, app_id: str, user_id: str, connection_id: str) -> bool:
        """False when the row is gone or no longer this user's."""
        return self._delete_if(
            keys.connection_pk(connection_id), keys.CONNECTION_SK, "#user = :user AND #app = :app",
            {"#user": "user_id", "#app": "app_id"}, {":user": user_id, ":app": app_id},
        )

    # -- erasing a device ----------------------------------------------------------------------------

    def retire_user_device(self, app_id: str, token_hash: str, user_id: str, now: int) -> bool:
        """Take the user's device out of service, whatever its status, before its edges are
        deleted: a topic subscription needs an ACTIVE device (add_topic's condition), so none can
        be added behind the erasure. False when the row is gone or another user's."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.device_pk(app_id, token_hash), "SK": keys.DEVICE_SK}),
                UpdateExpression="SET #status = :removed, #updated = :now ADD #version :one REMOVE GSI2PK, GSI2SK",
                ConditionExpression="#user = :user",
                ExpressionAttributeNames={"#status": "status", "#updated": "updated_at", "#version": "version", "#user": "user_id"},
                ExpressionAttributeValues=_to_ddb({":removed": SubscriptionStatus.REMOVED.value, ":now": now, ":one": 1, ":user": user_id}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def delete_user_device(self, app_id: str, token_hash: str, user_id: str) -> bool:
        """Delete the device row itself (last, so a retry still finds the device and its edges)."""
        return self._delete_if(
            keys.device_pk(app_id, token_hash), keys.DEVICE_SK, "#user = :user", {"#user": "user_id"}, {":user": user_id}
        )
