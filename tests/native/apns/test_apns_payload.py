"""How a push becomes an APNs request: payload and headers per kind of push, with no network."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

import pytest

from pushgate.delivery.apns import payload
from pushgate.delivery.apns.payload import MAX_PAYLOAD_BYTES, MAX_VOIP_PAYLOAD_BYTES, build_request_parts, check_fits
from pushgate.errors import PayloadTooLarge
from pushgate.pushes import PUSH_ID_LENGTH

NOW = 1_800_000_000
NOTIFICATION = {"title": "Order shipped", "body": "Arrives Tuesday", "icon": "https://cdn.example/i.png", "url": "https://shop.example/o/1"}


def parts(fields: dict, device_type: str = "ios", urgency: str = "normal", ttl: int = 3600, collapse_key: str | None = None,
          push_id: str = "push-1", token_hash: str = "device-1") -> tuple[dict[str, str], dict]:
    headers, body = build_request_parts(fields, push_id, device_type, token_hash, "com.example.app", ttl, NOW, urgency, collapse_key)
    return headers, json.loads(body)


def test_a_notification_is_an_alert_push_at_priority_ten() -> None:
    headers, body = parts({"notification": NOTIFICATION, "data": {"order": 1}})

    assert body == {
        "aps": {"alert": {"title": "Order shipped", "body": "Arrives Tuesday"}, "sound": "default"},
        "id": "push-1",
        "data": {"order": 1},
        "url": "https://shop.example/o/1",
    }
    assert headers["apns-topic"] == "com.example.app"
    assert headers["apns-push-type"] == "alert"
    assert headers["apns-priority"] == "10"
    assert headers["apns-expiration"] == str(NOW + 3600)
    assert "apns-collapse-id" not in headers
    assert "authorization" not in headers  # the transport adds the provider token


def test_an_alert_without_data_or_url_carries_neither() -> None:
    _, body = parts({"notification": {"title": "t", "body": "b"}})

    assert body == {"aps": {"alert": {"title": "t", "body": "b"}, "sound": "default"}, "id": "push-1"}


@pytest.mark.parametrize(("urgency", "priority"), [("very-low", "5"), ("low", "5"), ("normal", "10"), ("high", "10")])
def test_low_urgency_alerts_go_power_considerate(urgency: str, priority: str) -> None:
    headers, _ = parts({"notification": NOTIFICATION}, urgency=urgency)

    assert headers["apns-priority"] == priority


@pytest.mark.parametrize("urgency", ["very-low", "normal", "high"])
def test_a_data_only_push_is_a_background_push_at_priority_five_whatever_the_urgency(urgency: str) -> None:
    headers, body = parts({"data": {"sync": True}}, urgency=urgency)

    assert body == {"aps": {"content-available": 1}, "id": "push-1", "data": {"sync": True}}
    assert headers["apns-push-type"] == "background"
    assert headers["apns-priority"] == "5"
    assert headers["apns-topic"] == "com.example.app"


def test_a_voip_device_gets_a_voip_push_on_the_voip_topic_with_the_whole_notification() -> None:
    headers, body = parts({"notification": NOTIFICATION, "data": {"call": "c-1"}}, device_type="ios-voip", urgency="low")

    assert body == {"aps": {}, "id": "push-1", "notification": NOTIFICATION, "data": {"call": "c-1"}}
    assert headers["apns-topic"] == "com.example.app.voip"
    assert headers["apns-push-type"] == "voip"
    assert headers["apns-priority"] == "10"


def test_a_data_only_voip_push_has_no_notification() -> None:
    _, body = parts({"data": [1, 2]}, device_type="ios-voip")

    assert body == {"aps": {}, "id": "push-1", "data": [1, 2]}


def test_ttl_zero_asks_apns_to_try_once_and_store_nothing() -> None:
    headers, _ = parts({"notification": NOTIFICATION}, ttl=0)

    assert headers["apns-expiration"] == "0"


def test_a_collapse_key_that_fits_is_sent_as_it_is() -> None:
    key = "é" * 32  # 64 bytes in UTF-8: the most APNs takes

    headers, _ = parts({"notification": NOTIFICATION}, collapse_key=key)

    assert headers["apns-collapse-id"] == key


def test_a_collapse_key_over_64_bytes_becomes_a_stable_digest_that_fits() -> None:
    long_key = "é" * 33  # 33 characters, 66 bytes

    first, _ = parts({"notification": NOTIFICATION}, collapse_key=long_key)
    again, _ = parts({"data": 1}, collapse_key=long_key, push_id="push-2")
    other, _ = parts({"notification": NOTIFICATION}, collapse_key=long_key + "x")

    assert len(first["apns-collapse-id"].encode()) <= 64
    assert first["apns-collapse-id"].startswith("sha256-")
    assert again["apns-collapse-id"] == first["apns-collapse-id"]  # later pushes still replace earlier ones
    assert other["apns-collapse-id"] != first["apns-collapse-id"]


def test_the_apns_id_is_a_uuid_fixed_by_push_and_device() -> None:
    first, _ = parts({"notification": NOTIFICATION})
    retried, _ = parts({"notification": NOTIFICATION}, urgency="low", ttl=10)
    other_device, _ = parts({"notification": NOTIFICATION}, token_hash="device-2")
    other_push, _ = parts({"notification": NOTIFICATION}, push_id="push-2")

    assert str(uuid.UUID(first["apns-id"])) == first["apns-id"]
    assert retried["apns-id"] == first["apns-id"]
    assert len({first["apns-id"], other_device["apns-id"], other_push["apns-id"]}) == 3


def test_non_ascii_text_is_sent_as_utf8_not_escaped() -> None:
    _, raw = build_request_parts({"notification": {"title": "日本", "body": "ü"}}, "p", "ios", "d", "com.example.app", 1, NOW, "normal", None)

    assert "日本".encode() in raw and b"\\u" not in raw


def test_an_alert_payload_over_4096_bytes_is_refused_before_any_request() -> None:
    fits = _data_of_size(MAX_PAYLOAD_BYTES, {"notification": {"title": "t", "body": "b"}}, "ios")

    build_request_parts(fits, "push-1", "ios", "d", "com.example.app", 60, NOW, "normal", None)
    with pytest.raises(PayloadTooLarge):
        build_request_parts({**fits, "data": fits["data"] + "x"}, "push-1", "ios", "d", "com.example.app", 60, NOW, "normal", None)


def test_a_voip_payload_may_take_5120_bytes() -> None:
    fits = _data_of_size(MAX_VOIP_PAYLOAD_BYTES, {}, "ios-voip")

    build_request_parts(fits, "push-1", "ios-voip", "d", "com.example.app", 60, NOW, "normal", None)
    with pytest.raises(PayloadTooLarge):
        build_request_parts({**fits, "data": fits["data"] + "x"}, "push-1", "ios-voip", "d", "com.example.app", 60, NOW, "normal", None)


def test_check_fits_measures_with_the_longest_push_id() -> None:
    # Fits with a one-character id, one byte too many with the 26 characters pushgate issues.
    fields = _data_of_size(MAX_PAYLOAD_BYTES - (PUSH_ID_LENGTH - 1) + 1, {"notification": {"title": "t", "body": "b"}}, "ios", push_id="p")

    check_fits(fields, 1)
    with pytest.raises(PayloadTooLarge):
        check_fits(fields, PUSH_ID_LENGTH)


def test_check_fits_takes_a_data_only_push_at_the_background_size() -> None:
    check_fits(_data_of_size(MAX_PAYLOAD_BYTES, {}, "ios", push_id="p" * PUSH_ID_LENGTH), PUSH_ID_LENGTH)
    with pytest.raises(PayloadTooLarge):
        check_fits(_data_of_size(MAX_PAYLOAD_BYTES + 1, {}, "ios", push_id="p" * PUSH_ID_LENGTH), PUSH_ID_LENGTH)


def test_payload_module_imports_no_http_client() -> None:
    # POST /push imports check_fits: the API functions must not pay httpx's import at cold start.
    code = "import sys, pushgate.delivery.apns.payload; assert 'httpx' not in sys.modules and 'h2' not in sys.modules"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env={"PYTHONPATH": payload.__file__.rsplit("/pushgate/", 1)[0]})

    assert result.returncode == 0, result.stderr


def _data_of_size(size: int, fields: dict, device_type: str, push_id: str = "push-1") -> dict:
    """`fields` with a string `data` that makes the encoded payload exactly `size` bytes."""
    push_type = payload.push_type_for({**fields, "data": ""}, device_type)
    empty = len(payload.encode(payload.build_payload({**fields, "data": ""}, push_id, push_type)))
    return {**fields, "data": "x" * (size - empty)}
