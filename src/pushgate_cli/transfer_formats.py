"""The files `pushgate subscriptions import` reads, each turned into ImportRecords (or RowErrors, with
the line they were on) for the transfer service, which checks them as the APIs do:

- `jsonl`: what `pushgate subscriptions export` writes, one JSON object per line;
- `csv`: a plain `endpoint,p256dh,auth,user_id` CSV of web subscriptions (a header line naming
  those columns is optional);
- `onesignal-csv`: OneSignal's CSV export of subscriptions (players): `identifier` (the push token,
  the endpoint URL for web push), `device_type` (0 iOS, 1 Android, 5 Chrome web push, 8 Firefox),
  `external_user_id`, `web_p256` and `web_auth` (web push keys; export them with
  `extra_fields`), `id` (the OneSignal subscription id) and `invalid_identifier` (unsubscribed).
  A row without an external user id belongs to the user `onesignal:<id>`."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from typing import Any

from pushgate.models import DeviceType, SubscriptionStatus
from pushgate.services.transfer import ImportRecord, RowError

FORMATS = ("jsonl", "csv", "onesignal-csv")
PLAIN_CSV_COLUMNS = ("endpoint", "p256dh", "auth", "user_id")
# OneSignal device_type numbers (its Player model) that pushgate can deliver to.
ONESIGNAL_DEVICE_TYPES = {"0": DeviceType.IOS, "1": DeviceType.ANDROID, "5": DeviceType.WEB, "8": DeviceType.WEB}
ONESIGNAL_REQUIRED_COLUMNS = ("identifier", "device_type")
_TRUE = {"t", "true", "1", "yes"}


def read_records(text: str, file_format: str) -> Iterator[ImportRecord | RowError]:
    match file_format:
        case "jsonl":
            return read_jsonl(text)
        case "csv":
            return read_plain_csv(text)
        case "onesignal-csv":
            return read_onesignal_csv(text)
    raise ValueError(f"unknown format {file_format!r}")


def count_records(text: str, file_format: str) -> int:
    """How many records the file holds (for the progress bar): its non-blank lines, less a header."""
    lines = sum(1 for line in text.splitlines() if line.strip())
    if file_format == "onesignal-csv" or (file_format == "csv" and _has_plain_header(text)):
        lines -= 1
    return max(lines, 0)


# -- JSON Lines ------------------------------------------------------------------------------------


def read_jsonl(text: str) -> Iterator[ImportRecord | RowError]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            yield RowError(number, "not valid JSON")
            continue
        if not isinstance(row, dict):
            yield RowError(number, "not a JSON object")
            continue
        yield _record_from_json(number, row)


def _record_from_json(number: int, row: dict[str, Any]) -> ImportRecord | RowError:
    keys = row.get("keys") if isinstance(row.get("keys"), dict) else {}
    topics = row.get("topics") or []
    if not isinstance(topics, list):
        return RowError(number, "topics: must be an array of topic names")
    status = row.get("status") or SubscriptionStatus.ACTIVE.value
    return ImportRecord(
        line=number,
        type=row.get("type") if isinstance(row.get("type"), str) else None,
        user_id=row.get("user_id"),
        endpoint=row.get("endpoint"),
        p256dh=keys.get("p256dh"),
        auth=keys.get("auth"),
        token=row.get("token"),
        device_id=row.get("device_id"),
        topics=tuple(topics),
        status=str(status),
    )


# -- plain CSV -------------------------------------------------------------------------------------


def _has_plain_header(text: str) -> bool:
    first = next(csv.reader(io.StringIO(text)), [])
    return tuple(cell.strip().lower() for cell in first) == PLAIN_CSV_COLUMNS


def read_plain_csv(text: str) -> Iterator[ImportRecord | RowError]:
    reader = csv.reader(io.StringIO(text))
    header = _has_plain_header(text)
    for row in reader:
        number = reader.line_num
        if (header and number == 1) or not any(cell.strip() for cell in row):
            continue
        if len(row) != len(PLAIN_CSV_COLUMNS):
            expected = f"{len(PLAIN_CSV_COLUMNS)} columns ({','.join(PLAIN_CSV_COLUMNS)})"
            yield RowError(number, f"expected {expected}, found {len(row)}")
            continue
        endpoint, p256dh, auth, user_id = (cell.strip() for cell in row)
        yield ImportRecord(
            line=number, type=DeviceType.WEB.value, user_id=user_id, endpoint=endpoint, p256dh=p256dh, auth=auth
        )


# -- OneSignal's CSV export ----------------------------------------------------------------------


def _base64url(value: str) -> str:
    """OneSignal's key columns may hold standard base64; the APIs take base64url: same bytes."""
    return value.strip().replace("+", "-").replace("/", "_")


def read_onesignal_csv(text: str) -> Iterator[ImportRecord | RowError]:
    reader = csv.DictReader(io.StringIO(text))
    columns = {name.strip() for name in reader.fieldnames or ()}
    missing = [name for name in ONESIGNAL_REQUIRED_COLUMNS if name not in columns]
    if missing:
        yield RowError(1, f"not a OneSignal subscriptions export: no column {', '.join(missing)}")
        return
    for row in reader:
        number = reader.line_num
        cells = {(name or "").strip(): value.strip() for name, value in row.items() if isinstance(value, str)}
        if not any(cells.values()):
            continue
        device_type = ONESIGNAL_DEVICE_TYPES.get(cells.get("device_type", ""))
        if device_type is None:
            supported = "only 0 (iOS), 1 (Android), 5 and 8 (web push) can be imported"
            yield RowError(number, f"device_type {cells.get('device_type')!r}: {supported}")
            continue
        onesignal_id = cells.get("id") or None
        user_id = cells.get("external_user_id") or (f"onesignal:{onesignal_id}" if onesignal_id else "")
        identifier = cells.get("identifier", "")
        unsubscribed = cells.get("invalid_identifier", "").lower() in _TRUE
        status = SubscriptionStatus.REMOVED if unsubscribed else SubscriptionStatus.ACTIVE
        if device_type is DeviceType.WEB:
            yield ImportRecord(
                line=number, type=device_type.value, user_id=user_id, endpoint=identifier,
                p256dh=_base64url(cells.get("web_p256", "")), auth=_base64url(cells.get("web_auth", "")),
                device_id=onesignal_id, status=status.value,
            )
        else:
            yield ImportRecord(
                line=number, type=device_type.value, user_id=user_id, token=identifier,
                device_id=onesignal_id, status=status.value,
            )
