"""The import file formats (pushgate_cli/transfer_formats.py): what each row becomes, and the line
number every refused row is reported with. The checks of the values themselves are the APIs' and
are exercised through the import (tests/cli/test_cli_transfer.py)."""

from __future__ import annotations

import json

import pytest

from pushgate.services.transfer import ImportRecord, RowError
from pushgate_cli.transfer_formats import count_records, read_records

ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc"


def test_jsonl_rows_become_records_and_bad_lines_errors_with_their_numbers():
    text = "\n".join([
        json.dumps({"type": "web", "user_id": "alice", "endpoint": ENDPOINT, "keys": {"p256dh": "P", "auth": "A"},
                    "topics": ["news"], "status": "ACTIVE", "device_id": "d1", "created_at": "2026-01-01T00:00:00Z"}),
        "",
        "[1, 2]",
        "{oops",
        json.dumps({"user_id": "bob", "token": "t", "type": "ios", "topics": "news"}),
        json.dumps({"user_id": "carol", "endpoint": ENDPOINT, "status": "REMOVED"}),
    ])
    assert list(read_records(text, "jsonl")) == [
        ImportRecord(line=1, type="web", user_id="alice", endpoint=ENDPOINT, p256dh="P", auth="A", device_id="d1", topics=("news",)),
        RowError(3, "not a JSON object"),
        RowError(4, "not valid JSON"),
        RowError(5, "topics: must be an array of topic names"),
        ImportRecord(line=6, type=None, user_id="carol", endpoint=ENDPOINT, status="REMOVED"),
    ]


@pytest.mark.parametrize("header", ["endpoint,p256dh,auth,user_id\n", "Endpoint, P256DH ,auth,user_id\n", ""])
def test_plain_csv_with_or_without_its_header(header):
    text = header + f"{ENDPOINT}, P ,A,alice\n\n{ENDPOINT},P,A\n"
    offset = 1 if header else 0
    assert list(read_records(text, "csv")) == [
        ImportRecord(line=1 + offset, type="web", user_id="alice", endpoint=ENDPOINT, p256dh="P", auth="A"),
        RowError(3 + offset, "expected 4 columns (endpoint,p256dh,auth,user_id), found 3"),
    ]
    assert count_records(text, "csv") == 2


def test_onesignal_rows_by_device_type_and_subscription_state():
    text = (
        "id,identifier,device_type,external_user_id,web_auth,web_p256,invalid_identifier,language\n"
        f"p1,{ENDPOINT},5,alice,a+b/,c+d/,f,en\n"
        "p2,ios-token,0,,,,f,fr\n"
        "p3,fcm-token,1,bob,,,true,de\n"
        "p4,x,11,erin,,,f,en\n"
        f"p5,{ENDPOINT}2,8,frank,A,B,,en\n"
    )
    assert list(read_records(text, "onesignal-csv")) == [
        ImportRecord(line=2, type="web", user_id="alice", endpoint=ENDPOINT, p256dh="c-d_", auth="a-b_", device_id="p1"),
        ImportRecord(line=3, type="ios", user_id="onesignal:p2", token="ios-token", device_id="p2"),
        ImportRecord(line=4, type="android", user_id="bob", token="fcm-token", device_id="p3", status="REMOVED"),
        RowError(5, "device_type '11': only 0 (iOS), 1 (Android), 5 and 8 (web push) can be imported"),
        ImportRecord(line=6, type="web", user_id="frank", endpoint=f"{ENDPOINT}2", p256dh="B", auth="A", device_id="p5"),
    ]
    assert count_records(text, "onesignal-csv") == 5


def test_a_csv_that_is_not_a_onesignal_export_is_one_error():
    assert list(read_records("endpoint,p256dh\nx,y\n", "onesignal-csv")) == [
        RowError(1, "not a OneSignal subscriptions export: no column identifier, device_type")
    ]
