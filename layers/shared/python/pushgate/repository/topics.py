"""Topics (docs/api.md §4): an edge per (device, topic), in the device's partition and indexed by
topic for fan-out, and an exact subscriber count per topic, changed in the same transaction."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.models import Device
from pushgate.repository.base import ConditionFailed, RepositoryBase, _from_ddb, _is_condition_failure, _to_ddb

EDGE_QUERY_CONCURRENCY = 16  # parallel Queries in subscribed_before: one page of a topic in well under a second


def subscribed_ms(edge: dict[str, Any]) -> int:
    """When a topic edge was made. Edges from before millisecond stamps count from the end of
    their second: later, never sooner, so a doubt delivers twice rather than not at all."""
    if edge.get("subscribed_at_ms") is not None:
        return int(edge["subscribed_at_ms"])
    return (int(edge.get("created_at", 0)) + 1) * 1000 - 1


class TopicsMixin(RepositoryBase):
    # -- topics (docs/api.md §4): an edge per (device, topic) and an exact count per topic ----------

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
            # Whose device it is, so that fan-out with skip_online asks presence per user without
            # reading the device (pushgate.services.fanout).
            "user_id": device.user_id,
            "created_at": int(now),
            "subscribed_at_ms": int(now * 1000),
            # The stamp the sender reads from the edge starts as the device's last-seen time (its
            # last registration or success): a first push through the topic within the stamp
            # window writes nothing (docs/lifecycle.md).
            "last_success_at": max(device.updated_at, device.last_success_at or 0),
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
                    UpdateExpression="SET #keys = :keys, #token = :token, #type = :type, #user = :user",
                    ConditionExpression="attribute_exists(PK)",
                    ExpressionAttributeNames={"#keys": "keys", "#token": "token", "#type": "type", "#user": "user_id"},
                    ExpressionAttributeValues=_to_ddb(
                        {":keys": device.keys.model_dump() if device.keys else None, ":token": device.token, ":type": device.type.value,
                         ":user": device.user_id}
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
