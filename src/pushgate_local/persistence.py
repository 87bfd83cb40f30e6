"""Local data survives a restart (docs/api.md §8) although moto keeps everything in memory.

The stack snapshots every table item and SSM parameter into one JSON file in the data dir: shortly
after each DynamoDB or SSM write (debounced, so a burst of writes costs one snapshot), and once more
on shutdown. The next start restores the snapshot before it serves anything. Files are written
atomically (temp file + rename), so a crash mid-write leaves the previous snapshot intact."""

from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

SNAPSHOT_FILE = "snapshot.json"
SNAPSHOT_FORMAT = 1
DEBOUNCE_SECONDS = 0.3
# A snapshot scans the whole table: under a steady stream of writes, the pause before the next one
# is at least this many times the last one's duration, so snapshots take a bounded share of the
# stack's time however large the table grows (at 0.3 s flat, 20,000 items halved its write rate).
SNAPSHOT_PAUSE_FACTOR = 10
_BATCH_WRITE_LIMIT = 25  # DynamoDB BatchWriteItem's maximum

# Only DynamoDB and SSM hold data worth keeping; queues are recreated from the template.
_PERSISTED_SERVICES = ("DynamoDB_", "AmazonSSM.")
_READ_ONLY_PREFIXES = ("Get", "BatchGet", "TransactGet", "Describe", "List", "Query", "Scan")


def is_persisted_write(environ: dict[str, Any]) -> bool:
    """Whether a request to the endpoint may change persisted data. Both DynamoDB and SSM speak
    JSON-RPC, so the operation is in the X-Amz-Target header and the body need not be read."""
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if not target.startswith(_PERSISTED_SERVICES):
        return False
    operation = target.partition(".")[2]
    return not operation.startswith(_READ_ONLY_PREFIXES)


# -- DynamoDB items <-> JSON: binary attributes are the only values JSON cannot hold ------------


def _map_binary(value: dict[str, Any], convert: Callable[[Any], Any]) -> dict[str, Any]:
    (kind, inner), = value.items()
    if kind == "B":
        return {"B": convert(inner)}
    if kind == "BS":
        return {"BS": [convert(item) for item in inner]}
    if kind == "M":
        return {"M": {name: _map_binary(item, convert) for name, item in inner.items()}}
    if kind == "L":
        return {"L": [_map_binary(item, convert) for item in inner]}
    return value


def item_to_json(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _map_binary(value, lambda raw: base64.b64encode(raw).decode("ascii")) for name, value in item.items()}


def item_from_json(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _map_binary(value, base64.b64decode) for name, value in item.items()}


# -- capture and restore ---------------------------------------------------------------------


class LocalData:
    """The persisted part of the endpoint's state: the given tables' items and all SSM parameters."""

    def __init__(self, dynamodb: Any, ssm: Any, table_names: list[str]) -> None:
        self._dynamodb = dynamodb
        self._ssm = ssm
        self._tables = table_names

    def capture(self) -> dict[str, Any]:
        # A full Scan is fine here: this is the emulator's own bookkeeping, never product code.
        tables = {}
        for name in self._tables:
            pages = self._dynamodb.get_paginator("scan").paginate(TableName=name, ConsistentRead=True)
            tables[name] = [item_to_json(item) for page in pages for item in page.get("Items", [])]
        paginator = self._ssm.get_paginator("get_parameters_by_path")
        parameters = [
            {"Name": p["Name"], "Type": p["Type"], "Value": p["Value"]}
            for page in paginator.paginate(Path="/", Recursive=True, WithDecryption=True)
            for p in page.get("Parameters", [])
        ]
        return {"format": SNAPSHOT_FORMAT, "written_at": int(time.time()), "tables": tables, "parameters": parameters}

    def restore(self, snapshot: dict[str, Any]) -> dict[str, int]:
        """Load a snapshot into the (freshly created) tables; returns how many of what it restored."""
        restored = {"items": 0, "parameters": 0}
        for name, items in snapshot.get("tables", {}).items():
            if name not in self._tables:
                print(f"pushgate-local: snapshot table {name} is not in the template: skipped", file=sys.stderr)
                continue
            for start in range(0, len(items), _BATCH_WRITE_LIMIT):
                chunk = items[start : start + _BATCH_WRITE_LIMIT]
                self._batch_write(name, [{"PutRequest": {"Item": item_from_json(item)}} for item in chunk])
            restored["items"] += len(items)
        for parameter in snapshot.get("parameters", []):
            self._ssm.put_parameter(
                Name=parameter["Name"], Value=parameter["Value"], Type=parameter["Type"], Overwrite=True
            )
            restored["parameters"] += 1
        return restored

    def _batch_write(self, table: str, requests: list[dict[str, Any]]) -> None:
        pending = {table: requests}
        while pending:
            pending = self._dynamodb.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def read_snapshot(path: Path) -> dict[str, Any] | None:
    """The snapshot at `path`, or None if there is none. An unreadable one is moved aside (never
    silently overwritten by the next snapshot of an empty stack)."""
    if not path.exists():
        return None
    try:
        snapshot = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ValueError(f"not a snapshot of format {SNAPSHOT_FORMAT}")
        return snapshot
    except ValueError as error:
        aside = path.with_name(f"{path.name}.unreadable-{int(time.time())}")
        path.rename(aside)
        print(f"pushgate-local: cannot read {path} ({error}); moved it to {aside} and started empty", file=sys.stderr)
        return None


def write_atomically(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # Private keys and API secrets are in here: readable by the owner only.
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(data, file, separators=(",", ":"))
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class Snapshotter:
    """Writes `capture()` to `path` at most once per `interval` while there are unsaved writes."""

    def __init__(self, path: Path, capture: Callable[[], dict[str, Any]], interval: float = DEBOUNCE_SECONDS) -> None:
        self._path = path
        self._capture = capture
        self._interval = interval
        self._pause = interval
        self._dirty = threading.Event()
        self._stopping = threading.Event()
        self._write_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="snapshotter", daemon=True)

    def mark_dirty(self) -> None:
        self._dirty.set()

    def start(self) -> None:
        self._thread.start()

    def flush(self) -> None:
        """Write a snapshot now (the dirty flag is cleared first, so writes made while the snapshot
        is being captured are picked up by the next one)."""
        with self._write_lock:
            self._dirty.clear()
            write_atomically(self._path, self._capture())

    def stop(self) -> None:
        """Stop the background writer and write the final snapshot."""
        self._stopping.set()
        self._dirty.set()  # wake the writer up
        if self._thread.is_alive():
            self._thread.join(timeout=10)
        self.flush()

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._dirty.wait()
            if self._stopping.is_set():
                return
            time.sleep(self._pause)  # let a burst of writes settle into one snapshot
            started = time.monotonic()
            try:
                self.flush()
                self._pause = max(self._interval, SNAPSHOT_PAUSE_FACTOR * (time.monotonic() - started))
            except Exception as error:  # keep snapshotting later writes even if this one failed
                print(f"pushgate-local: snapshot failed: {error!r}", file=sys.stderr)
