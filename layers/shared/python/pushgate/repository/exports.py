"""An app's subscriptions a page at a time, for the operator's export (`pushgate subscriptions
export`, services/transfer.py).

With the users named, each user's devices come from a Query of their GSI1 partition (pattern 11 of
docs/data-model.md). Without, the whole app is wanted, and the table has no key that lists an app's
devices (a device's partition is its own, `DEVICE#<app>#<token_hash>`, and GSI1 groups them by user
or topic only), so the one way is a paginated Scan filtered to the app's device items. It is the
table's only Scan, run by an operator from the CLI, never by a function on a request path; each
page costs its share of the whole table's read capacity, and the pages are consistent reads."""

from __future__ import annotations

from typing import Any

from pushgate import keys
from pushgate.models import Device
from pushgate.repository.base import RepositoryBase, _from_ddb, _to_ddb

EXPORT_SCAN_PAGE_ITEMS = 1000  # items read per Scan call, before the filter keeps the app's devices


class ExportsMixin(RepositoryBase):
    def app_devices_page(
        self, app_id: str, start: dict[str, Any] | None = None
    ) -> tuple[list[Device], dict[str, Any] | None]:
        """One page of the app's devices (any status) and the key to continue from (None: done)."""
        scan: dict[str, Any] = {
            "TableName": self._table,
            "FilterExpression": "begins_with(PK, :prefix) AND SK = :device",
            "ExpressionAttributeValues": _to_ddb({":prefix": keys.device_pk(app_id, ""), ":device": keys.DEVICE_SK}),
            "Limit": EXPORT_SCAN_PAGE_ITEMS,
            "ConsistentRead": True,
        }
        if start:
            scan["ExclusiveStartKey"] = _to_ddb(start)
        response = self._client.scan(**scan)
        last = response.get("LastEvaluatedKey")
        devices = [Device.model_validate(_from_ddb(item)) for item in response.get("Items", [])]
        return devices, (_from_ddb(last) if last else None)
