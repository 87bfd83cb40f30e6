"""moto's TransactWriteItems, made fit for the local stack's table sizes and request threads.

moto 5.2 backs up each table a transaction names with `copy.deepcopy` of the whole table before it
starts, and puts those copies back when the transaction fails. So every transaction (a topic
subscribe, pattern 12 of docs/data-model.md) costs time in proportion to the table: subscribing a
topic's N devices costs O(N²), and the load test's 10,000 subscribers did not finish. Worse, a
write made by another request thread while the copy runs makes the copy raise "dictionary changed
size during iteration" (an HTTP 500 to the caller), and a failing transaction's restore silently
undoes writes other threads made meanwhile.

`install()` replaces the method with one that backs up only the items the transaction names and
runs transactions one at a time. Conditions and effects go through moto's own get_item, put_item,
delete_item, update_item and condition parser, in moto's order, so what a transaction accepts or
refuses (and the CancellationReasons it reports) is unchanged."""

from __future__ import annotations

import copy
import threading
from typing import Any

from moto.dynamodb.comparisons import get_filter_expression
from moto.dynamodb.exceptions import (
    ConditionalCheckFailed,
    MockValidationException,
    MultipleTransactionsException,
    TooManyTransactionsException,
    TransactionCanceledException,
    TransactWriteSingleOpException,
)
from moto.dynamodb.models import DynamoDBBackend

MAX_TRANSACTION_ITEMS = 100
_transactions = threading.Lock()


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _apply(backend: DynamoDBBackend, op_type: str, op: dict[str, Any], key: dict[str, Any]) -> None:
    table_name = op["TableName"]
    names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
    condition = op.get("ConditionExpression")
    current = backend.get_item(table_name, key)
    if condition is not None and not get_filter_expression(condition, names, values).expr(current):
        wants_old = op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD"
        old = current.to_json()["Attributes"] if current and wants_old else None
        failure = ConditionalCheckFailed(item=old)
        failure.old_item = old  # type: ignore[attr-defined] - for the transaction's CancellationReasons
        raise failure
    common = {
        "condition_expression": condition,
        "expression_attribute_names": names,
        "expression_attribute_values": values,
    }
    if op_type == "Put":
        backend.put_item(table_name, op["Item"], **common)
    elif op_type == "Delete":
        backend.delete_item(table_name, key, **common)
    elif op_type == "Update":
        backend.update_item(table_name, key, update_expression=op["UpdateExpression"], **common)


def _restore(backend: DynamoDBBackend, backups: list[tuple[str, dict[str, Any], Any]]) -> None:
    """Put each named item back as it was before the transaction (absent ones are deleted)."""
    for table_name, key, item in reversed(backups):
        if item is None:
            backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, item.to_json()["Attributes"])


def transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    if len(transact_items) > MAX_TRANSACTION_ITEMS:
        raise TooManyTransactionsException()
    with _transactions:
        backups: list[tuple[str, dict[str, Any], Any]] = []
        targets: set[tuple[str, str]] = set()
        errors: list[tuple[str | None, str | None, Any]] = []
        for item in transact_items:
            if len(item) > 1:
                _restore(self, backups)
                raise TransactWriteSingleOpException
            try:
                op_type, op = next(iter(item.items()))
                if op_type not in {"ConditionCheck", "Put", "Delete", "Update"}:
                    raise ValueError("Unsupported transaction operation")
                key = _key_of(self, op_type, op)
                target = (str(op["TableName"]), str(dict(sorted(key.items()))))
                if target in targets:
                    raise MultipleTransactionsException()
                targets.add(target)
                if op_type != "ConditionCheck":
                    backups.append((op["TableName"], key, copy.deepcopy(self.get_item(op["TableName"], key))))
                _apply(self, op_type, op, key)
                errors.append((None, None, None))
            except (MultipleTransactionsException, MockValidationException):
                _restore(self, backups)
                raise
            except ConditionalCheckFailed as error:
                errors.append(("ConditionalCheckFailed", str(error.message), getattr(error, "old_item", None)))
            except Exception as error:  # noqa: BLE001 - reported in CancellationReasons, as moto does
                errors.append((type(error).__name__, str(error), None))
        if any(code is not None for code, _, _ in errors):
            _restore(self, backups)
            raise TransactionCanceledException(errors)


def install() -> None:
    DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]
