"""The local endpoint's TransactWriteItems (pushgate_local/moto_transactions.py): all or nothing,
moto's cancellation reasons, and no lost or failed writes from other request threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pushgate_local.aws_endpoint import AwsEndpoint

TABLE = "transactions-test"
FILLER_ITEMS = 2000


@pytest.fixture
def dynamodb(aws_endpoint: AwsEndpoint) -> Iterator[Any]:
    client = aws_endpoint.client("dynamodb")
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield client


def key(pk: str) -> dict[str, Any]:
    return {"PK": {"S": pk}, "SK": {"S": "X"}}


def put_new(pk: str, value: str = "new") -> dict[str, Any]:
    return {"Put": {"TableName": TABLE, "Item": {**key(pk), "v": {"S": value}}, "ConditionExpression": "attribute_not_exists(PK)"}}


def value_of(client: Any, pk: str) -> str | None:
    item = client.get_item(TableName=TABLE, Key=key(pk), ConsistentRead=True).get("Item")
    return item["v"]["S"] if item else None


def test_a_transaction_applies_every_item(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item={**key("old"), "v": {"S": "before"}, "n": {"N": "1"}})
    dynamodb.put_item(TableName=TABLE, Item={**key("gone"), "v": {"S": "x"}})
    dynamodb.transact_write_items(
        TransactItems=[
            put_new("a"),
            {"Update": {"TableName": TABLE, "Key": key("old"), "UpdateExpression": "SET v = :v ADD n :one",
                        "ExpressionAttributeValues": {":v": {"S": "after"}, ":one": {"N": "1"}}}},
            {"Delete": {"TableName": TABLE, "Key": key("gone"), "ConditionExpression": "attribute_exists(PK)"}},
        ]
    )
    assert (value_of(dynamodb, "a"), value_of(dynamodb, "old"), value_of(dynamodb, "gone")) == ("new", "after", None)


def test_a_failed_condition_undoes_the_items_before_it_and_says_which_failed(dynamodb: Any) -> None:
    # Given an item to update, one to delete, and one whose existence makes the last Put fail
    dynamodb.put_item(TableName=TABLE, Item={**key("old"), "v": {"S": "before"}})
    dynamodb.put_item(TableName=TABLE, Item={**key("gone"), "v": {"S": "kept"}})
    dynamodb.put_item(TableName=TABLE, Item={**key("taken"), "v": {"S": "first"}})
    # When a transaction changes the first three and then fails on the fourth
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(
            TransactItems=[
                put_new("a"),
                {"Update": {"TableName": TABLE, "Key": key("old"), "UpdateExpression": "SET v = :v",
                            "ExpressionAttributeValues": {":v": {"S": "after"}}}},
                {"Delete": {"TableName": TABLE, "Key": key("gone")}},
                put_new("taken", "second"),
            ]
        )
    # Then nothing of it stayed, and the reasons name the fourth item's condition
    assert raised.value.response["Error"]["Code"] == "TransactionCanceledException"
    codes = [reason.get("Code") for reason in raised.value.response["CancellationReasons"]]
    assert codes == ["None", "None", "None", "ConditionalCheckFailed"]
    assert [value_of(dynamodb, pk) for pk in ("a", "old", "gone", "taken")] == [None, "before", "kept", "first"]


def test_the_same_item_twice_is_refused_and_nothing_is_written(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as raised:
        dynamodb.transact_write_items(TransactItems=[put_new("a"), put_new("b"), put_new("a")])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert (value_of(dynamodb, "a"), value_of(dynamodb, "b")) == (None, None)


def test_writes_of_other_threads_are_neither_refused_nor_undone_by_failing_transactions(dynamodb: Any, aws_endpoint: AwsEndpoint) -> None:
    # Given a table of some size (moto's own method deep-copied all of it per transaction, racing
    # with other threads' writes), one thread writing items one by one while another runs
    # transactions, half of which fail
    for start in range(0, FILLER_ITEMS, 25):
        dynamodb.batch_write_item(RequestItems={TABLE: [
            {"PutRequest": {"Item": {**key(f"filler-{index}"), "v": {"S": "x" * 100}}}} for index in range(start, start + 25)
        ]})
    dynamodb.put_item(TableName=TABLE, Item={**key("taken"), "v": {"S": "first"}})
    writer_errors: list[Exception] = []

    def write_items() -> None:
        client = aws_endpoint.client("dynamodb")
        for index in range(150):
            try:
                client.put_item(TableName=TABLE, Item={**key(f"plain-{index}"), "v": {"S": "plain"}})
            except Exception as error:  # noqa: BLE001 - collected for the assertion
                writer_errors.append(error)

    writer = threading.Thread(target=write_items)
    writer.start()
    outcomes = []
    for index in range(60):
        items = [put_new(f"tx-{index}")] + ([put_new("taken")] if index % 2 else [])
        try:
            dynamodb.transact_write_items(TransactItems=items)
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])
    writer.join()
    # Then every single write is there, and each transaction succeeded or was cancelled, never a 500
    assert writer_errors == []
    assert set(outcomes) == {"ok", "TransactionCanceledException"}
    assert all(value_of(dynamodb, f"plain-{index}") == "plain" for index in range(150))
    assert [value_of(dynamodb, f"tx-{index}") for index in range(60)] == ["new" if index % 2 == 0 else None for index in range(60)]
