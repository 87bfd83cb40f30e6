"""Snapshots of the endpoint's data: what counts as a write, the round trip, atomic and debounced
writing, and an unreadable snapshot never being overwritten."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import pytest

from pushgate_local.aws_endpoint import AwsEndpoint
from pushgate_local.intrinsics import StackContext, stack_parameters
from pushgate_local.persistence import (
    LocalData,
    Snapshotter,
    is_persisted_write,
    item_from_json,
    item_to_json,
    read_snapshot,
    write_atomically,
)
from pushgate_local.provisioning import create_tables
from pushgate_local.template import load_template


@pytest.mark.parametrize(
    ("target", "persisted"),
    [
        ("DynamoDB_20120810.PutItem", True),
        ("DynamoDB_20120810.UpdateItem", True),
        ("DynamoDB_20120810.TransactWriteItems", True),
        ("DynamoDB_20120810.BatchWriteItem", True),
        ("DynamoDB_20120810.GetItem", False),
        ("DynamoDB_20120810.Query", False),
        ("DynamoDB_20120810.Scan", False),
        ("DynamoDB_20120810.TransactGetItems", False),
        ("AmazonSSM.PutParameter", True),
        ("AmazonSSM.DeleteParameter", True),
        ("AmazonSSM.GetParametersByPath", False),
        ("AmazonSQS.SendMessage", False),  # queues are not persisted
        ("", False),
    ],
)
def test_what_counts_as_a_persisted_write(target: str, persisted: bool) -> None:
    assert is_persisted_write({"HTTP_X_AMZ_TARGET": target} if target else {}) is persisted


def test_binary_attributes_survive_json() -> None:
    item = {
        "PK": {"S": "x"},
        "blob": {"B": b"\x00\xff"},
        "blobs": {"BS": [b"\x01", b"\x02"]},
        "nested": {"M": {"inner": {"L": [{"B": b"\x03"}, {"N": "1"}]}}},
    }
    encoded = item_to_json(item)
    assert item_from_json(json.loads(json.dumps(encoded))) == item


@pytest.fixture
def local_data(aws_endpoint: AwsEndpoint) -> LocalData:
    template = load_template()
    context = StackContext(template, stack_parameters(template, {"Stage": "local"}), aws_endpoint.url)
    tables = create_tables(context, aws_endpoint.client("dynamodb"))
    return LocalData(aws_endpoint.client("dynamodb"), aws_endpoint.client("ssm"), tables)


def test_capture_and_restore_round_trip(aws_endpoint: AwsEndpoint, local_data: LocalData) -> None:
    # Given items (more than one Scan page and one BatchWriteItem) and a SecureString
    dynamodb, ssm = aws_endpoint.client("dynamodb"), aws_endpoint.client("ssm")
    table = dynamodb.list_tables()["TableNames"][0]
    big = "x" * 30_000
    for n in range(60):
        item = {"PK": {"S": f"K#{n}"}, "SK": {"S": "V"}, "big": {"S": big}, "bin": {"B": bytes([n])}}
        dynamodb.put_item(TableName=table, Item=item)
    ssm.put_parameter(Name="/pushgate/local/apps/a/key", Value="-----BEGIN PRIVATE KEY-----", Type="SecureString")
    snapshot = json.loads(json.dumps(local_data.capture()))
    assert len(snapshot["tables"][table]) == 60

    # When the endpoint forgets everything and the snapshot is restored into fresh tables
    aws_endpoint.client("dynamodb").delete_table(TableName=table)
    ssm.delete_parameter(Name="/pushgate/local/apps/a/key")
    template = load_template()
    create_tables(StackContext(template, stack_parameters(template, {"Stage": "local"}), aws_endpoint.url), dynamodb)
    restored = local_data.restore(snapshot)

    # Then it is all back, SecureString included
    assert restored == {"items": 60, "parameters": 1}
    item = dynamodb.get_item(TableName=table, Key={"PK": {"S": "K#7"}, "SK": {"S": "V"}})["Item"]
    assert item["bin"] == {"B": bytes([7])} and item["big"] == {"S": big}
    parameter = ssm.get_parameter(Name="/pushgate/local/apps/a/key", WithDecryption=True)["Parameter"]
    assert (parameter["Type"], parameter["Value"]) == ("SecureString", "-----BEGIN PRIVATE KEY-----")


def test_snapshots_are_written_atomically_and_privately(tmp_path: Path) -> None:
    path = tmp_path / "data" / "snapshot.json"
    write_atomically(path, {"format": 1, "n": 1})
    write_atomically(path, {"format": 1, "n": 2})
    assert json.loads(path.read_text()) == {"format": 1, "n": 2}
    assert os.stat(path).st_mode & 0o077 == 0
    assert [p.name for p in path.parent.iterdir()] == ["snapshot.json"]  # no temp file left


def test_an_unreadable_snapshot_is_moved_aside_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.json"
    path.write_text("{ truncated")
    assert read_snapshot(path) is None
    assert not path.exists()
    assert [p.read_text() for p in tmp_path.glob("snapshot.json.unreadable-*")] == ["{ truncated"]


def test_a_burst_of_writes_costs_one_snapshot_and_stop_writes_the_last(tmp_path: Path) -> None:
    captures: list[int] = []
    counter = iter(range(1000))
    lock = threading.Lock()

    def capture() -> dict:
        with lock:
            captures.append(next(counter))
        return {"format": 1, "n": captures[-1]}

    snapshotter = Snapshotter(tmp_path / "snapshot.json", capture, interval=0.2)
    snapshotter.start()
    for _ in range(50):
        snapshotter.mark_dirty()
    time.sleep(0.6)
    assert len(captures) == 1
    snapshotter.stop()
    assert len(captures) == 2  # the final one, on shutdown
    assert json.loads((tmp_path / "snapshot.json").read_text())["n"] == 1
