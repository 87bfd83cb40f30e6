"""What every aggregate's module shares: the client and table, DynamoDB (de)serialisation, and the
plumbing of conditional writes, which turns a failed condition into `ConditionFailed` so that callers
never look at botocore errors."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

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


def _failed_positions(error: ClientError) -> set[int]:
    """Which items of a cancelled transaction failed their condition."""
    reasons = error.response.get("CancellationReasons") or []
    return {i for i, reason in enumerate(reasons) if reason.get("Code") == "ConditionalCheckFailed"}


class ConditionFailed(Exception):
    """A conditional write found the item in another state than the caller expected."""

    def __init__(self, positions: set[int] | None = None) -> None:
        super().__init__("condition failed")
        self.positions = positions or set()


class RepositoryBase:
    """The client and table that every aggregate's mixin works on, and the helpers they share."""

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

    def _update_if(self, pk: str, sk: str, expression: str, condition: str, names: dict[str, str], values: dict[str, Any]) -> bool:
        """A conditional UpdateItem: False when the condition does not hold (nothing written)."""
        return self._written_if(self._client.update_item, pk, sk, condition, names, values, UpdateExpression=expression)

    def _delete_if(self, pk: str, sk: str, condition: str, names: dict[str, str], values: dict[str, Any]) -> bool:
        """A conditional DeleteItem: False when the condition does not hold (nothing deleted)."""
        return self._written_if(self._client.delete_item, pk, sk, condition, names, values)

    def _written_if(self, write: Any, pk: str, sk: str, condition: str, names: dict[str, str], values: dict[str, Any], **request: Any) -> bool:
        try:
            write(
                TableName=self._table,
                Key=_to_ddb({"PK": pk, "SK": sk}),
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=_to_ddb(values),
                **request,
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

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
