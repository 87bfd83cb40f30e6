"""moto's Query, in time that follows the items it can match rather than the table's size.

moto 5.2 answers every Query by sorting the whole table (`Table.all_items`) and then testing each
item: a Query of one partition costs O(N log N) in a table of N items, and so does each Query of an
index. On the local stack that made every device read slower as the table grew (the load test's
fan-out of 10,000 subscribers), and the stale sweep's benchmark over 100,000 subscriptions spent
its time sorting the table once per device it reviewed.

`install()` wraps `Table.query` so that, for the length of one query, `all_items` hands it only the
candidates: the items of the queried partition for a table Query (moto keeps them in a dict per
partition key), every item unsorted for an index Query (moto sorts the matches itself, by the
index's keys and then the table's, which fixes their order whatever the order they came in). What
a Query returns, its order, pages and counts, is unchanged: tests/local/test_moto_queries.py runs
the same queries against both and compares."""

from __future__ import annotations

import threading
from typing import Any

from moto.dynamodb.models.table import Table

_all_items = Table.all_items
_query = Table.query
_candidates = threading.local()  # (table, partition key or None for an index query) during a query


def _items_of(table: Table, hash_key: Any) -> list[Any]:
    # list() of a dict's values is taken under the GIL in one step, so request threads writing
    # meanwhile cannot make it fail half-way (iterating the dict itself could).
    if hash_key is not None:
        partition = table.items.get(hash_key)
        if partition is None:
            return []
        return list(partition.values()) if table.range_key_attr else [partition]
    partitions = list(table.items.values())
    if not table.range_key_attr:
        return partitions
    return [item for partition in partitions for item in list(partition.values())]


def all_items(self: Table) -> list[Any]:
    hint = getattr(_candidates, "hint", None)
    if hint is None or hint[0] is not self:
        return _all_items(self)
    return _items_of(self, hint[1])


def query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs["index_name"] if "index_name" in kwargs else (args[6] if len(args) > 6 else None)
    _candidates.hint = (self, None if index_name else hash_key)
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        _candidates.hint = None


def install() -> None:
    Table.all_items = all_items  # type: ignore[method-assign]
    Table.query = query  # type: ignore[method-assign]


def uninstall() -> None:
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
