"""The local endpoint's faster Query (pushgate_local/moto_queries.py) answers exactly as moto's own:
the same items in the same order, the same pages, counts and LastEvaluatedKey, on the table built
from template.yaml, for table and index Queries, forwards and backwards, filtered and paged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from pushgate_local import moto_queries
from pushgate_local.template import table_definition

TABLE = "queries-test"


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_definition(table_name=TABLE))
        for device in range(60):
            pk = {"S": f"DEVICE#app#{device % 7}-{device:03d}"}
            client.put_item(TableName=TABLE, Item={"PK": pk, "SK": {"S": "DEVICE"}, "GSI1PK": {"S": f"USER#app#u{device % 5}"},
                                                   "GSI1SK": {"S": f"DEVICE#{device:03d}"}, "n": {"N": str(device)}})
            for topic in ("news", "sport")[: 1 + device % 2]:
                client.put_item(TableName=TABLE, Item={"PK": pk, "SK": {"S": f"TOPIC#{topic}"}, "GSI1PK": {"S": f"TOPIC#app#{topic}"},
                                                       "GSI1SK": {"S": f"DEVICE#{device % 9:03d}"}, "n": {"N": str(device)}})
        yield client


QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": {"S": "DEVICE#app#3-010"}}},
    {"KeyConditionExpression": "PK = :pk", "ExpressionAttributeValues": {":pk": {"S": "DEVICE#app#nobody"}}},
    {"KeyConditionExpression": "PK = :pk AND begins_with(SK, :t)", "ExpressionAttributeValues": {":pk": {"S": "DEVICE#app#3-003"}, ":t": {"S": "TOPIC#"}}, "ScanIndexForward": False},
    {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk", "ExpressionAttributeValues": {":pk": {"S": "TOPIC#app#news"}}, "Limit": 7},
    {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk", "ExpressionAttributeValues": {":pk": {"S": "TOPIC#app#sport"}}, "ScanIndexForward": False, "Limit": 4},
    {"IndexName": "GSI1", "KeyConditionExpression": "GSI1PK = :pk AND GSI1SK > :after", "ExpressionAttributeValues": {":pk": {"S": "USER#app#u2"}, ":after": {"S": "DEVICE#020"}},
     "FilterExpression": "n > :n", "ExpressionAttributeNames": None, "Limit": 3},
]


def every_page(client: Any, query: dict[str, Any]) -> list[dict[str, Any]]:
    request = {"TableName": TABLE, **{k: v for k, v in query.items() if v is not None}}
    if "FilterExpression" in request:
        request["ExpressionAttributeValues"] = {**request["ExpressionAttributeValues"], ":n": {"N": "30"}}
    pages = []
    while True:
        page = client.query(**request)
        page.pop("ResponseMetadata")
        pages.append(page)
        if "LastEvaluatedKey" not in page:
            return pages
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.mark.parametrize("query", QUERIES, ids=lambda q: f"{q.get('IndexName', 'table')}:{q['ExpressionAttributeValues'][':pk']['S']}")
def test_a_query_answers_as_moto_does(dynamodb: Any, query: dict[str, Any]) -> None:
    moto_answer = every_page(dynamodb, query)
    moto_queries.install()
    try:
        assert every_page(dynamodb, query) == moto_answer
    finally:
        moto_queries.uninstall()
    assert sum(len(page["Items"]) for page in moto_answer) or query["ExpressionAttributeValues"][":pk"]["S"].endswith("nobody")


def test_only_the_queried_partition_is_read(dynamodb: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's own all_items, the whole table sorted, is never called for a table Query once installed
    moto_queries.install()
    try:
        monkeypatch.setattr(moto_queries, "_all_items", lambda table: pytest.fail("the whole table was read for one partition"))
        items = dynamodb.query(TableName=TABLE, KeyConditionExpression="PK = :pk", ExpressionAttributeValues={":pk": {"S": "DEVICE#app#1-001"}})["Items"]
        assert [item["SK"]["S"] for item in items] == ["DEVICE", "TOPIC#news", "TOPIC#sport"]
    finally:
        moto_queries.uninstall()
