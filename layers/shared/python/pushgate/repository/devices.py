"""Devices (push subscriptions), their device-id pointers, and the delivery state the sender
records on them.

A registration is saved only at the `version` its caller read (see the package docstring); the
sender's writes are conditional too, so that they never bring back a device removed meanwhile."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.models import Device, SubscriptionStatus
from pushgate.repository.base import ConditionFailed, RepositoryBase, _from_ddb, _is_condition_failure, _to_ddb
from pushgate.repository.stale import seen_index_keys


class DevicesMixin(RepositoryBase):
    # -- devices (push subscriptions) -------------------------------------------------------

    def next_subscription_id(self, app_id: str) -> int:
        return self._add_counter(keys.app_pk(app_id), keys.APP_SK, "subscription_seq")

    def get_device(self, app_id: str, token_hash: str) -> Device | None:
        item = self._get(keys.device_pk(app_id, token_hash), keys.DEVICE_SK)
        return Device.model_validate(item) if item else None

    def _device_item(self, device: Device) -> dict[str, Any]:
        item = device.model_dump(mode="json")
        item.update(
            PK=keys.device_pk(device.app_id, device.token_hash),
            SK=keys.DEVICE_SK,
            entity="Device",
            GSI1PK=keys.user_gsi_pk(device.app_id, device.user_id),
            GSI1SK=keys.device_gsi_sk(device.token_hash),
        )
        if device.active:
            # A registration is a sign of life (an active row's updated_at is its last one): it
            # indexes the device in that week for the stale sweep (docs/lifecycle.md).
            item.update(seen_index_keys(device.app_id, device.token_hash, device.updated_at))
        return item

    def save_device(self, device: Device, expected_version: int | None) -> None:
        """Create the device (expected_version None) or overwrite its registration fields if it is
        still at expected_version. Delivery counters written by the sender are left alone."""
        item = self._device_item(device)
        if expected_version is None:
            self._put_if_absent(item)
            return
        # Only registration fields: the sender's delivery counters are left as they are.
        optional = ("keys", "channel_id", "device_id")
        registration = {
            k: v for k, v in item.items() if v is not None and k not in {"PK", "SK", "last_success_at", "last_failure_at", "failure_count"}
        }
        names = {f"#a{i}": name for i, name in enumerate(registration)}
        values = {f":a{i}": value for i, value in enumerate(registration.values())}
        sets = [f"#a{i} = :a{i}" for i in range(len(registration))]
        cleared = [name for name in optional if item.get(name) is None]
        names.update({f"#r{i}": name for i, name in enumerate(cleared)})
        removes = [f"#r{i}" for i in range(len(cleared))]
        names["#version"] = "version"
        values[":expected"] = expected_version
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": item["PK"], "SK": item["SK"]}),
                UpdateExpression=expression,
                ConditionExpression="#version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_to_ddb(values),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed() from error
            raise

    def set_device_status(self, app_id: str, token_hash: str, user_id: str, status: SubscriptionStatus, now: int) -> bool:
        """Move the user's active device to `status`. False when there was none to change: absent,
        already inactive, or another user's (the condition keeps other users' rows untouched)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.device_pk(app_id, token_hash), "SK": keys.DEVICE_SK}),
                UpdateExpression="SET #status = :status, #updated = :now ADD #version :one REMOVE GSI2PK, GSI2SK",
                ConditionExpression="#user = :user AND #status = :active",
                ExpressionAttributeNames={"#status": "status", "#updated": "updated_at", "#version": "version", "#user": "user_id"},
                ExpressionAttributeValues=_to_ddb(
                    {":status": status.value, ":now": now, ":one": 1, ":user": user_id, ":active": SubscriptionStatus.ACTIVE.value}
                ),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def user_devices(self, app_id: str, user_id: str) -> list[Device]:
        items = self._query_all(
            IndexName="GSI1",
            KeyConditionExpression="GSI1PK = :pk AND begins_with(GSI1SK, :prefix)",
            ExpressionAttributeValues=_to_ddb({":pk": keys.user_gsi_pk(app_id, user_id), ":prefix": "DEVICE#"}),
        )
        return [Device.model_validate(item) for item in items if item.get("entity") == "Device"]

    # -- device-id pointers (docs/api.md §3: one record per user, type and deviceId) ---------------

    def get_device_pointer(self, app_id: str, pointer_hash: str) -> str | None:
        item = self._get(keys.device_pointer_pk(app_id, pointer_hash), keys.DEVICE_POINTER_SK)
        return item["token_hash"] if item else None

    def set_device_pointer(self, app_id: str, pointer_hash: str, token_hash: str, expected: str | None) -> None:
        """Point (user, type, deviceId) at token_hash, if it still points where the caller read."""
        condition = "attribute_not_exists(PK)" if expected is None else "token_hash = :expected"
        values: dict[str, Any] = {":expected": expected} if expected is not None else {}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=_to_ddb({"PK": keys.device_pointer_pk(app_id, pointer_hash), "SK": keys.DEVICE_POINTER_SK, "entity": "DevicePointer", "token_hash": token_hash}),
                ConditionExpression=condition,
                **({"ExpressionAttributeValues": _to_ddb(values)} if values else {}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed() from error
            raise

    def delete_device_pointer(self, app_id: str, pointer_hash: str, expected: str) -> None:
        try:
            self._client.delete_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.device_pointer_pk(app_id, pointer_hash), "SK": keys.DEVICE_POINTER_SK}),
                ConditionExpression="token_hash = :expected",
                ExpressionAttributeValues=_to_ddb({":expected": expected}),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise

    # -- delivery state (docs/api.md §7): what the sender learns about a device ----------------------

    def devices_by_hash(self, app_id: str, token_hashes: list[str]) -> list[Device]:
        """BatchGetItem, 100 keys a call, retrying what DynamoDB leaves unprocessed."""
        found: list[Device] = []
        for start in range(0, len(token_hashes), 100):
            request = {self._table: {"Keys": [_to_ddb({"PK": keys.device_pk(app_id, th), "SK": keys.DEVICE_SK}) for th in token_hashes[start : start + 100]]}}
            for _ in range(8):
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(Device.model_validate(_from_ddb(item)) for item in response.get("Responses", {}).get(self._table, []))
                request = response.get("UnprocessedKeys") or {}
                if not request:
                    break
        return found

    def expire_device(self, app_id: str, token_hash: str, p256dh: str | None, auth: str | None, now: int) -> bool:
        """Mark a subscription EXPIRED after its push service said 404/410, only if it still holds
        the keys we sent to: a concurrent re-subscribe with new keys survives."""
        condition = "#status = :active"
        values: dict[str, Any] = {":status": SubscriptionStatus.EXPIRED.value, ":now": now, ":one": 1, ":active": SubscriptionStatus.ACTIVE.value}
        names = {"#status": "status", "#updated": "updated_at", "#version": "version"}
        if p256dh is not None and auth is not None:
            condition += " AND #keys.#p256dh = :p256dh AND #keys.#auth = :auth"
            names.update({"#keys": "keys", "#p256dh": "p256dh", "#auth": "auth"})
            values.update({":p256dh": p256dh, ":auth": auth})
        return self._update_if(
            keys.device_pk(app_id, token_hash), keys.DEVICE_SK,
            "SET #status = :status, #updated = :now ADD #version :one REMOVE GSI2PK, GSI2SK", condition, names, values,
        )

    def record_delivery_success(self, app_id: str, token_hash: str, now: int, topic: str | None) -> None:
        """Stamp the one row the delivery's target was read from: the topic edge it came through
        (which topic fan-out reads), else the device row (which token and user fan-out reads). One
        write, and the next fan-out of the same path reads the fresh stamp, so the sender skips
        the write until the stamp window has passed (docs/lifecycle.md)."""
        if topic is not None:
            sort_key, expression, values = keys.topic_sk(topic), "SET #success = :now", {":now": now}
            names = {"#success": "last_success_at"}
        else:
            sort_key, expression, values = keys.DEVICE_SK, "SET #success = :now, #failures = :zero", {":now": now, ":zero": 0}
            names = {"#success": "last_success_at", "#failures": "failure_count"}
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.device_pk(app_id, token_hash), "SK": sort_key}),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_to_ddb(values),
            )
        except ClientError as error:
            if not _is_condition_failure(error):  # removed meanwhile: nothing to stamp
                raise

    def record_delivery_failure(self, app_id: str, token_hash: str, now: int) -> None:
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.device_pk(app_id, token_hash), "SK": keys.DEVICE_SK}),
                UpdateExpression="SET #failed_at = :now ADD #failures :one",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#failed_at": "last_failure_at", "#failures": "failure_count"},
                ExpressionAttributeValues=_to_ddb({":now": now, ":one": 1}),
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
