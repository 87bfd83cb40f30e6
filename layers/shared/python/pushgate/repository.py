"""The one module that speaks DynamoDB: every key, condition and update expression lives here.

Writes that could race are conditional: creations use attribute_not_exists, and changes to a
subscription are guarded by its `version` (optimistic concurrency), so two clients registering
the same endpoint at once can never both win on stale reads."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.models import App, Channel, Connection, Device, Session, SubscriptionStatus
from pushgate.pushes import Push

EDGE_QUERY_CONCURRENCY = 16  # parallel Queries in subscribed_before: one page of a topic in well under a second

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_ddb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in item.items() if v is not None}


def _from_ddb(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def _is_condition_failure(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code")
    if code == "ConditionalCheckFailedException":
        return True
    if code == "TransactionCanceledException":
        reasons = error.response.get("CancellationReasons") or []
        return not reasons or any(r.get("Code") in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons)
    return False


def subscribed_ms(edge: dict[str, Any]) -> int:
    """When a topic edge was made. Edges from before millisecond stamps count from the end of
    their second: later, never sooner, so a doubt delivers twice rather than not at all."""
    if edge.get("subscribed_at_ms") is not None:
        return int(edge["subscribed_at_ms"])
    return (int(edge.get("created_at", 0)) + 1) * 1000 - 1


def _failed_positions(error: ClientError) -> set[int]:
    """Which items of a cancelled transaction failed their condition."""
    reasons = error.response.get("CancellationReasons") or []
    return {i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"}


class ConditionFailed(Exception):
    """A conditional write found the item in another state than the caller expected."""

    def __init__(self, positions: set[int] | None = None) -> None:
        super().__init__("condition failed")
        self.positions = positions or set()


class Repository:
    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # -- generic helpers -------------------------------------------------------------------

    def _get(self, pk: str, sk: str, consistent: bool = True) -> dict[str, Any] | None:
        response = self._client.get_item(
            TableName=self._table, Key=_to_ddb({"PK": pk, "SK": sk}), ConsistentRead=consistent
        )
        item = response.get("Item")
        return _from_ddb(item) if item else None

    def _put_if_absent(self, item: dict[str, Any]) -> None:
        try:
            self._client.put_item(TableName=self._table, Item=_to_ddb(item), ConditionExpression="attribute_not_exists(PK)")
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed() from error
            raise

    def _put_new(self, item: dict[str, Any]) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": _to_ddb(item),
                "ConditionExpression": "attribute_not_exists(PK)",
            }
        }

    def _transact(self, operations: list[dict[str, Any]]) -> None:
        try:
            self._client.transact_write_items(TransactItems=operations)
        except ClientError as error:
            if _is_condition_failure(error):
                raise ConditionFailed(_failed_positions(error)) from error
            raise

    def _query_all(self, **query: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        while True:
            response = self._client.query(TableName=self._table, **query)
            items.extend(_from_ddb(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            query["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _add_counter(self, pk: str, sk: str, attribute: str) -> int:
        response = self._client.update_item(
            TableName=self._table,
            Key=_to_ddb({"PK": pk, "SK": sk}),
            UpdateExpression="ADD #n :one",
            ExpressionAttributeNames={"#n": attribute},
            ExpressionAttributeValues=_to_ddb({":one": 1}),
            ReturnValues="UPDATED_NEW",
        )
        return int(_from_ddb(response["Attributes"])[attribute])

    # -- apps, keys, accounts, channels ------------------------------------------------------

    def next_account_id(self) -> int:
        return self._add_counter(keys.ACCOUNT_COUNTER_PK, "COUNTER", "value")

    def create_app(self, app: App, channels: list[Channel]) -> None:
        """App, its key lookups, its account number and its channels, all or nothing."""
        app_item = {"PK": keys.app_pk(app.app_id), "SK": keys.APP_SK, "entity": "App", **app.model_dump(mode="json")}
        app_item["user_token_keys"] = list(app.user_token_keys)
        lookups = [
            {"PK": keys.api_key_pk(app.secret_key_hash), "SK": "APIKEY", "entity": "ApiKey", "app_id": app.app_id, "kind": "secret"},
            {"PK": keys.api_key_pk(app.public_key_hash), "SK": "APIKEY", "entity": "ApiKey", "app_id": app.app_id, "kind": "public"},
            {"PK": keys.account_pk(app.account_id), "SK": "ACCOUNT", "entity": "Account", "app_id": app.app_id},
        ]
        channel_items = [self._channel_item(channel) for channel in channels]
        self._transact([self._put_new(item) for item in [app_item, *lookups, *channel_items]])

    def get_app(self, app_id: str) -> App | None:
        item = self._get(keys.app_pk(app_id), keys.APP_SK, consistent=False)
        return App.model_validate(item) if item else None

    def app_id_for_key(self, key_hash: str) -> tuple[str, str] | None:
        """(app_id, kind) of the API key with this hash, kind being 'secret' or 'public'."""
        item = self._get(keys.api_key_pk(key_hash), "APIKEY", consistent=False)
        return (item["app_id"], item["kind"]) if item else None

    def app_id_for_account(self, account_id: int) -> str | None:
        item = self._get(keys.account_pk(account_id), "ACCOUNT", consistent=False)
        return item["app_id"] if item else None

    def _channel_item(self, channel: Channel) -> dict[str, Any]:
        return {"PK": keys.app_pk(channel.app_id), "SK": keys.channel_sk(channel.channel_id), "entity": "Channel", **channel.model_dump(mode="json", exclude_none=True)}

    def add_channel(self, channel: Channel) -> None:
        """The channel and its provider marker, all or nothing: ConditionFailed if the app has a
        channel of that provider already."""
        marker = {"PK": keys.app_pk(channel.app_id), "SK": keys.channel_type_sk(channel.type.value), "entity": "ChannelType", "channel_id": channel.channel_id}
        self._transact([self._put_new(self._channel_item(channel)), self._put_new(marker)])

    def remove_channel(self, channel: Channel) -> bool:
        """False when it was already gone."""
        pk = keys.app_pk(channel.app_id)
        try:
            self._transact(
                [
                    {"Delete": {"TableName": self._table, "Key": _to_ddb({"PK": pk, "SK": keys.channel_sk(channel.channel_id)}), "ConditionExpression": "attribute_exists(PK)"}},
                    {"Delete": {"TableName": self._table, "Key": _to_ddb({"PK": pk, "SK": keys.channel_type_sk(channel.type.value)})}},
                ]
            )
        except ConditionFailed:
            return False
        return True

    def get_channel(self, app_id: str, channel_id: str) -> Channel | None:
        item = self._get(keys.app_pk(app_id), keys.channel_sk(channel_id), consistent=False)
        return Channel.model_validate(item) if item else None

    def list_channels(self, app_id: str) -> list[Channel]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=_to_ddb({":pk": keys.app_pk(app_id), ":prefix": "CHANNEL#"}),
        )
        return [Channel.model_validate(_from_ddb(item)) for item in response.get("Items", [])]

    # -- sessions ----------------------------------------------------------------------------

    def put_session(self, session_hash: str, session: Session) -> None:
        item = {"PK": keys.session_pk(session_hash), "SK": "SESSION", "entity": "Session", **session.model_dump(mode="json")}
        # expires_at is also the table's TTL attribute: DynamoDB sweeps expired sessions.
        self._put_if_absent(item)

    def get_session(self, session_hash: str) -> Session | None:
        item = self._get(keys.session_pk(session_hash), "SESSION", consistent=False)
        return Session.model_validate(item) if item else None

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
                UpdateExpression="SET #status = :status, #updated = :now ADD #version :one",
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

    # -- device-id pointers (CONTRACT §3: one record per user, type and deviceId) ---------------

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

    # -- topics (CONTRACT §4): an edge per (device, topic) and an exact count per topic ----------

    def _topic_counter_update(self, app_id: str, topic: str, delta: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": _to_ddb({"PK": keys.app_pk(app_id), "SK": keys.topic_sk(topic)}),
                "UpdateExpression": "SET #entity = :entity, #name = :name ADD #subscribers :delta",
                "ExpressionAttributeNames": {"#entity": "entity", "#name": "name", "#subscribers": "subscribers"},
                "ExpressionAttributeValues": _to_ddb({":entity": "Topic", ":name": topic, ":delta": delta}),
            }
        }

    def add_topic(self, device: Device, topic: str, now: float) -> bool:
        """Subscribe an active device to a topic; False if it already was. The edge and the count
        change in one transaction, so counts stay exact under concurrent (un)subscribes."""
        edge = {
            "PK": keys.device_pk(device.app_id, device.token_hash),
            "SK": keys.topic_sk(topic),
            "GSI1PK": keys.topic_gsi_pk(device.app_id, topic),
            "GSI1SK": keys.device_gsi_sk(device.token_hash),
            "entity": "TopicEdge",
            "topic": topic,
            "token": device.token,
            "type": device.type.value,
            "keys": device.keys.model_dump() if device.keys else None,
            "channel_id": device.channel_id,
            "created_at": int(now),
            "subscribed_at_ms": int(now * 1000),
        }
        device_active = {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": _to_ddb({"PK": edge["PK"], "SK": keys.DEVICE_SK}),
                "ConditionExpression": "#status = :active",
                "ExpressionAttributeNames": {"#status": "status"},
                "ExpressionAttributeValues": _to_ddb({":active": "ACTIVE"}),
            }
        }
        try:
            self._transact([device_active, self._put_new(edge), self._topic_counter_update(device.app_id, topic, 1)])
        except ConditionFailed as failure:
            if failure.positions == {1}:
                return False
            raise
        return True

    def remove_topic(self, app_id: str, token_hash: str, topic: str) -> bool:
        """False if the device was not subscribed to the topic."""
        delete_edge = {
            "Delete": {
                "TableName": self._table,
                "Key": _to_ddb({"PK": keys.device_pk(app_id, token_hash), "SK": keys.topic_sk(topic)}),
                "ConditionExpression": "attribute_exists(PK)",
            }
        }
        try:
            self._transact([delete_edge, self._topic_counter_update(app_id, topic, -1)])
        except ConditionFailed as failure:
            if failure.positions == {0}:
                return False
            raise
        return True

    def device_topics(self, app_id: str, token_hash: str) -> list[str]:
        items = self._query_all(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=_to_ddb({":pk": keys.device_pk(app_id, token_hash), ":prefix": "TOPIC#"}),
            ProjectionExpression="#topic",
            ExpressionAttributeNames={"#topic": "topic"},
        )
        return [item["topic"] for item in items]

    def subscribed_before(self, app_id: str, token_hashes: Sequence[str], topics: Collection[str], before_ms: int) -> set[str]:
        """The devices among `token_hashes` that were subscribed to one of `topics` before
        `before_ms`. One Query per device over its own partition (its edges), so the cost follows
        what each device is subscribed to, not how many topics are asked about; run in parallel."""
        wanted = set(topics)

        def subscribed(token_hash: str) -> bool:
            edges = self._query_all(
                KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
                ExpressionAttributeValues=_to_ddb({":pk": keys.device_pk(app_id, token_hash), ":prefix": "TOPIC#"}),
                ProjectionExpression="#topic, #created, #subscribed",
                ExpressionAttributeNames={"#topic": "topic", "#created": "created_at", "#subscribed": "subscribed_at_ms"},
            )
            return any(edge["topic"] in wanted and subscribed_ms(edge) < before_ms for edge in edges)

        if not token_hashes or not wanted:
            return set()
        with ThreadPoolExecutor(max_workers=min(EDGE_QUERY_CONCURRENCY, len(token_hashes))) as pool:
            return {th for th, hit in zip(token_hashes, pool.map(subscribed, token_hashes), strict=True) if hit}

    def refresh_topic_edges(self, device: Device) -> None:
        """Copy a device's new keys onto its topic edges, which fan-out reads instead of the device."""
        for topic in self.device_topics(device.app_id, device.token_hash):
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_to_ddb({"PK": keys.device_pk(device.app_id, device.token_hash), "SK": keys.topic_sk(topic)}),
                    UpdateExpression="SET #keys = :keys, #token = :token, #type = :type",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#keys": "keys", "#token": "token", "#type": "type"},
                    ExpressionAttributeValues=_to_ddb(
                        {":keys": device.keys.model_dump() if device.keys else None, ":token": device.token, ":type": device.type.value}
                    ),
                )
            except ClientError as error:
                if not _is_condition_failure(error):  # the edge went away meanwhile: nothing to refresh
                    raise

    def list_topics(self, app_id: str) -> list[tuple[str, int]]:
        items = self._query_all(
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=_to_ddb({":pk": keys.app_pk(app_id), ":prefix": "TOPIC#"}),
        )
        return [(item["name"], int(item.get("subscribers", 0))) for item in items]

    def topic_subscriber_count(self, app_id: str, topic: str) -> int:
        item = self._get(keys.app_pk(app_id), keys.topic_sk(topic), consistent=False)
        return int(item.get("subscribers", 0)) if item else 0

    def topic_page(
        self, app_id: str, topic: str, limit: int, start: dict[str, Any] | None, between: tuple[str, str] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of a topic's edges (token, type, keys), and the key to continue from;
        `between`: only the edges whose GSI1SK lies within these inclusive bounds."""
        values = {":pk": keys.topic_gsi_pk(app_id, topic)}
        condition = "GSI1PK = :pk"
        if between is not None:
            condition += " AND GSI1SK BETWEEN :low AND :high"
            values.update({":low": between[0], ":high": between[1]})
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": "GSI1",
            "KeyConditionExpression": condition,
            "ExpressionAttributeValues": _to_ddb(values),
            "Limit": limit,
        }
        if start:
            # A cursor is client input: it must continue this very listing, nothing else.
            if set(start) != {"PK", "SK", "GSI1PK", "GSI1SK"} or start["GSI1PK"] != keys.topic_gsi_pk(app_id, topic):
                raise ValueError("cursor of another listing")
            if between is not None and not between[0] <= start["GSI1SK"] <= between[1]:
                raise ValueError("cursor of another listing")
            query["ExclusiveStartKey"] = _to_ddb(start)
        response = self._client.query(**query)
        last = response.get("LastEvaluatedKey")
        return [_from_ddb(item) for item in response.get("Items", [])], (_from_ddb(last) if last else None)

    # -- WebSocket connections (CONTRACT §1) ----------------------------------------------------

    def put_connection(self, connection: Connection) -> None:
        item = {"PK": keys.connection_pk(connection.connection_id), "SK": keys.CONNECTION_SK, "entity": "Connection", **connection.model_dump(mode="json")}
        self._client.put_item(TableName=self._table, Item=_to_ddb(item))

    def get_connection(self, connection_id: str) -> Connection | None:
        item = self._get(keys.connection_pk(connection_id), keys.CONNECTION_SK)
        return Connection.model_validate(item) if item else None

    def set_connection_user(self, connection_id: str, user_id: str) -> bool:
        """False when the connection is gone (closed, or never opened through $connect)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK}),
                UpdateExpression="SET #user = :user",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#user": "user_id"},
                ExpressionAttributeValues=_to_ddb({":user": user_id}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def delete_connection(self, connection_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key=_to_ddb({"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK}))

    # -- pushes and delivery (CONTRACT §4, §7) ---------------------------------------------------

    def create_push(self, push: Push, expires_at: int) -> None:
        item = {"PK": keys.push_pk(push.push_id), "SK": keys.PUSH_SK, "entity": "Push", "expires_at": expires_at, **push.model_dump(mode="json", exclude={"failed_reasons"})}
        self._put_if_absent(item)

    def get_push(self, push_id: str) -> Push | None:
        item = self._get(keys.push_pk(push_id), keys.PUSH_SK)
        return Push.model_validate(item) if item else None

    def cancel_push(self, app_id: str, push_id: str) -> bool:
        """False when there is no such push in this app."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.push_pk(push_id), "SK": keys.PUSH_SK}),
                UpdateExpression="SET #cancelled = :true",
                ConditionExpression="#app = :app",
                ExpressionAttributeNames={"#cancelled": "cancelled", "#app": "app_id"},
                ExpressionAttributeValues=_to_ddb({":true": True, ":app": app_id}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def add_push_counts(self, push_id: str, deltas: dict[str, int]) -> None:
        """One write per batch, whatever its size: the counts of GET /pushes/{id} are ADDs."""
        deltas = {name: delta for name, delta in deltas.items() if delta}
        if not deltas:
            return
        names = {f"#c{i}": name for i, name in enumerate(deltas)}
        values = {f":c{i}": delta for i, delta in enumerate(deltas.values())}
        self._client.update_item(
            TableName=self._table,
            Key=_to_ddb({"PK": keys.push_pk(push_id), "SK": keys.PUSH_SK}),
            UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(deltas))),
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_ddb(values),
        )

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
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.device_pk(app_id, token_hash), "SK": keys.DEVICE_SK}),
                UpdateExpression="SET #status = :status, #updated = :now ADD #version :one",
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_to_ddb(values),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def record_delivery_success(self, app_id: str, token_hash: str, now: int, topic: str | None) -> None:
        """Stamp the device (and the topic edge the target came through, which carries the stamp
        fan-out reads) so the sender can skip the write while the stamp is fresh."""
        targets = [(keys.DEVICE_SK, "SET #success = :now, #failures = :zero")]
        if topic is not None:
            targets.append((keys.topic_sk(topic), "SET #success = :now"))
        for sort_key, expression in targets:
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=_to_ddb({"PK": keys.device_pk(app_id, token_hash), "SK": sort_key}),
                    UpdateExpression=expression,
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#success": "last_success_at", **({"#failures": "failure_count"} if "#failures" in expression else {})},
                    ExpressionAttributeValues=_to_ddb({":now": now, **({":zero": 0} if ":zero" in expression else {})}),
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
