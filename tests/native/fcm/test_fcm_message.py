"""A push as an FCM HTTP v1 message, and POST /push's check that it will fit FCM."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pushgate.delivery.fcm.message import MAX_MESSAGE_BYTES, MessageTemplate, ReservedDataKey, build_message, check_fits, payload_bytes
from pushgate.errors import InvalidValue, PayloadTooLarge
from pushgate.pushes import MAX_PAYLOAD_BYTES as MAX_WEB_PUSH_PAYLOAD_BYTES
from pushgate.pushes import PUSH_ID_LENGTH
from pushgate_local.fakes.fcm_schema import check_send_body


def test_a_notification_push_maps_to_notification_android_and_data() -> None:
    fields = {"notification": {"title": "Hi", "body": "There", "icon": "ic_bell", "url": "https://example.com/x"}, "data": {"a": "1"}}

    body = build_message(fields, "push-1", "device-token", ttl=600, urgency="high", collapse_key="scores")

    assert body == {"message": {
        "token": "device-token",
        "notification": {"title": "Hi", "body": "There"},
        "data": {"a": "1", "id": "push-1"},
        "android": {"ttl": "600s", "priority": "HIGH", "collapse_key": "scores",
                    "notification": {"icon": "ic_bell", "click_action": "https://example.com/x"}},
    }}


def test_a_data_only_push_has_no_notification_and_normal_priority_below_high() -> None:
    for urgency in ("very-low", "low", "normal"):
        message = build_message({"data": {"k": "v"}}, "push-1", "t", ttl=0, urgency=urgency, collapse_key=None)["message"]
        assert "notification" not in message
        assert message["android"] == {"ttl": "0s", "priority": "NORMAL"}
        assert message["data"] == {"k": "v", "id": "push-1"}


def test_a_push_without_data_still_carries_its_id_for_dropping_duplicates() -> None:
    message = build_message({"notification": {"title": "t", "body": "b"}}, "push-9", "t", 60, "normal", None)["message"]
    assert message["data"] == {"id": "push-9"}
    assert "notification" not in message["android"]


def test_object_data_keeps_strings_and_encodes_every_other_value_as_compact_json() -> None:
    data = {"s": "text", "n": 3, "f": 1.5, "b": True, "z": None, "o": {"x": [1, "é"]}, "l": [1, 2]}

    flat = build_message({"data": data}, "p", "t", 60, "normal", None)["message"]["data"]

    assert flat == {"s": "text", "n": "3", "f": "1.5", "b": "true", "z": "null", "o": '{"x":[1,"é"]}', "l": "[1,2]", "id": "p"}
    assert all(isinstance(value, str) for value in flat.values())


@pytest.mark.parametrize("data", [[1, "two"], 42, "just text", False])
def test_data_that_is_not_an_object_goes_json_encoded_under_the_key_data(data: object) -> None:
    flat = build_message({"data": data}, "p", "t", 60, "normal", None)["message"]["data"]
    assert flat == {"data": json.dumps(data, separators=(",", ":")), "id": "p"}
    assert json.loads(flat["data"]) == data


@pytest.mark.parametrize("key", ["from", "notification", "message_type", "id", "google.c.a.e", "gcm.n.e"])
def test_reserved_data_keys_are_refused_by_the_check_and_by_the_builder(key: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        check_fits({"data": {key: "x"}}, PUSH_ID_LENGTH)
    assert refused.value.field == "data" and key in str(refused.value)
    with pytest.raises(ReservedDataKey):
        build_message({"data": {key: "x"}}, "p", "t", 60, "normal", None)


def test_keys_that_only_look_reserved_are_taken() -> None:
    check_fits({"data": {"google": "x", "gcmx": "y", "fromage": "z", "ID": "w"}}, PUSH_ID_LENGTH)


def test_the_size_check_refuses_a_message_over_4096_bytes_and_takes_one_at_the_limit() -> None:
    def fields(length: int) -> dict[str, object]:
        return {"data": {"k": "x" * length}}

    base = payload_bytes(build_message(fields(0), "p" * PUSH_ID_LENGTH, "", 0, "normal", None)["message"])
    fitting = MAX_MESSAGE_BYTES - base

    check_fits(fields(fitting), PUSH_ID_LENGTH)
    with pytest.raises(PayloadTooLarge):
        check_fits(fields(fitting + 1), PUSH_ID_LENGTH)


def test_the_size_check_counts_json_escapes_that_flattening_adds() -> None:
    # Under the Web Push limit as an object, over FCM's once its values become JSON strings.
    nested = {"k": [{"q": '"' * 10} for _ in range(90)]}
    web_payload = json.dumps({"id": "p" * PUSH_ID_LENGTH, "data": nested}, separators=(",", ":"))
    assert len(web_payload) <= MAX_WEB_PUSH_PAYLOAD_BYTES
    with pytest.raises(PayloadTooLarge):
        check_fits({"data": nested}, PUSH_ID_LENGTH)


def test_the_size_check_measures_with_the_longest_push_id() -> None:
    base = payload_bytes(build_message({"data": {"k": ""}}, "p" * 10, "", 0, "normal", None)["message"])
    fields = {"data": {"k": "x" * (MAX_MESSAGE_BYTES - base)}}
    check_fits(fields, 10)
    with pytest.raises(PayloadTooLarge):
        check_fits(fields, 11)


def test_what_the_builder_makes_passes_the_fakes_checks() -> None:
    fields = {"notification": {"title": "t", "body": "b", "icon": "i", "url": "u"}, "data": {"n": 1, "o": {"a": None}}}
    body = build_message(fields, "p" * PUSH_ID_LENGTH, "token", 2_419_200, "high", "c" * 256)
    assert check_send_body(body) == body["message"]


def test_the_message_module_imports_no_http_client() -> None:
    code = ("import sys, pushgate.delivery.fcm.message; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'h2', 'httpcore', 'jwt')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                            env={"PYTHONPATH": "layers/shared/python"})
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("token", ["fcm-token:APA91b", 'odd"token\\with-escapes', "ünïcode-token"])
def test_a_template_body_is_the_message_built_for_that_token(token: str) -> None:
    # The transport encodes a push's message once per batch and sets each device's token in.
    fields = {"notification": {"title": "T", "body": "B", "url": "/x"}, "data": {"k": [1, {"a": "b"}], "s": "v"}}
    template = MessageTemplate(fields, "p" * 26, 60, "high", "score")
    expected = build_message(fields, "p" * 26, token, 60, "high", "score")
    assert json.loads(template.body_for(token)) == expected
    assert template.payload_bytes == payload_bytes(expected["message"])
