"""The fake APNs is honest: a request built right is accepted, and each way of building one wrong
is refused with APNs's status and reason. Requests are built by hand here, over real TLS."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest

from pushgate_local.fakes.apns_tokens import TOKEN_UPDATE_INTERVAL_SECONDS
from tests.native.apns.conftest import BUNDLE_ID, KEY_ID, TEAM_ID, Apns, new_device_token, new_provider_key

Change = Callable[[dict[str, Any], Apns], None]


def headers(**changes: str | None) -> Change:
    def change(request: dict[str, Any], _: Apns) -> None:
        for name, value in changes.items():
            name = name.replace("_", "-")
            if value is None:
                request["headers"].pop(name, None)
            else:
                request["headers"][name] = value

    return change


def provider_token(**overrides: Any) -> Change:
    def change(request: dict[str, Any], apns: Apns) -> None:
        request["headers"]["authorization"] = f"bearer {apns.provider_token(**overrides)}"

    return change


def body(value: Any) -> Change:
    def change(request: dict[str, Any], _: Apns) -> None:
        request["body"] = value

    return change


def path(value: str) -> Change:
    def change(request: dict[str, Any], _: Apns) -> None:
        request["path"] = value

    return change


def both(*changes: Change) -> Change:
    def change(request: dict[str, Any], apns: Apns) -> None:
        for each in changes:
            each(request, apns)

    return change


def sized(payload: dict[str, Any], size: int) -> bytes:
    """`payload` padded with a custom key to exactly `size` bytes of JSON."""
    empty = len(json.dumps({**payload, "pad": ""}).encode())
    return json.dumps({**payload, "pad": "x" * (size - empty)}).encode()


def signed_with_other_key(request: dict[str, Any], apns: Apns) -> None:
    request["headers"]["authorization"] = f"bearer {apns.provider_token(private_pem=new_provider_key().private_pem)}"


def signed_hs256(request: dict[str, Any], apns: Apns) -> None:
    token = jwt.encode({"iss": TEAM_ID, "iat": int(apns.clock())}, "a shared secret of 32 bytes or more!", algorithm="HS256", headers={"kid": KEY_ID})
    request["headers"]["authorization"] = f"bearer {token}"


def unsigned(request: dict[str, Any], apns: Apns) -> None:
    token = jwt.encode({"iss": TEAM_ID, "iat": int(apns.clock())}, None, algorithm="none", headers={"kid": KEY_ID})
    request["headers"]["authorization"] = f"bearer {token}"


def iat_as_text(request: dict[str, Any], apns: Apns) -> None:
    token = jwt.encode({"iss": TEAM_ID, "iat": str(int(apns.clock()))}, apns.key.private_pem, algorithm="ES256", headers={"kid": KEY_ID})
    request["headers"]["authorization"] = f"bearer {token}"


ALERT = {"aps": {"alert": {"title": "Hi", "body": "there"}}}
BACKGROUND = {"aps": {"content-available": 1}}
VOIP = {"aps": {}, "call": "c-1"}
AS_BACKGROUND = headers(apns_push_type="background", apns_priority="5")
AS_VOIP = headers(apns_push_type="voip", apns_topic=f"{BUNDLE_ID}.voip")

REFUSED: list[tuple[str, Change, int, str]] = [
    ("no authorization", headers(authorization=None), 403, "MissingProviderToken"),
    ("not a bearer token", headers(authorization="basic dXNlcjpwYXNz"), 403, "MissingProviderToken"),
    ("not a JWT", headers(authorization="bearer not.a.jwt"), 403, "InvalidProviderToken"),
    ("HS256 token", signed_hs256, 403, "InvalidProviderToken"),
    ("unsigned token", unsigned, 403, "InvalidProviderToken"),
    ("signed with another key", signed_with_other_key, 403, "InvalidProviderToken"),
    ("unknown key id", provider_token(key_id="UNKNOWN123"), 403, "InvalidProviderToken"),
    ("unknown team", provider_token(team_id="OTHERTEAM1"), 403, "InvalidProviderToken"),
    ("iat not a number", iat_as_text, 403, "InvalidProviderToken"),
    ("token over an hour old", provider_token(issued_at=1_800_000_000 - 3601), 403, "ExpiredProviderToken"),
    ("no topic", headers(apns_topic=None), 400, "MissingTopic"),
    ("malformed topic", headers(apns_topic="com example app"), 400, "BadTopic"),
    ("topic not allowed", headers(apns_topic="com.other.app"), 400, "TopicDisallowed"),
    ("voip push on the app's topic", both(headers(apns_push_type="voip"), body(VOIP)), 400, "InvalidPushType"),
    ("alert push on the voip topic", headers(apns_topic=f"{BUNDLE_ID}.voip"), 400, "InvalidPushType"),
    ("no push type", headers(apns_push_type=None), 400, "InvalidPushType"),
    ("unknown push type", headers(apns_push_type="banner"), 400, "InvalidPushType"),
    ("priority 7", headers(apns_priority="7"), 400, "BadPriority"),
    ("background at priority 10", both(AS_BACKGROUND, headers(apns_priority="10"), body(BACKGROUND)), 400, "BadPriority"),
    ("background without content-available", both(AS_BACKGROUND, body({"aps": {}, "x": 1})), 400, "InvalidPushType"),
    ("alert without an alert", body({"aps": {"sound": "default"}}), 400, "InvalidPushType"),
    ("expiration not an integer", headers(apns_expiration="tomorrow"), 400, "BadExpirationDate"),
    ("collapse id of 65 bytes", headers(apns_collapse_id="c" * 65), 400, "BadCollapseId"),
    ("apns-id not a UUID", headers(apns_id="push-1"), 400, "BadMessageId"),
    ("alert payload of 4097 bytes", body(sized(ALERT, 4097)), 413, "PayloadTooLarge"),
    ("voip payload of 5121 bytes", both(AS_VOIP, body(sized(VOIP, 5121))), 413, "PayloadTooLarge"),
    ("empty payload", body(b""), 400, "PayloadEmpty"),
    ("payload not JSON", body(b"{'aps': {}}"), 400, "BadPayload"),
    ("payload without aps", body({"alert": "hi"}), 400, "BadPayload"),
    ("non-hex token", path("/3/device/" + "zz" * 32), 400, "BadDeviceToken"),
    ("token of 62 characters", path("/3/device/" + "ab" * 31), 400, "BadDeviceToken"),
    ("token of odd length", path("/3/device/" + "a" * 65), 400, "BadDeviceToken"),
    ("no token", path("/3/device/"), 400, "MissingDeviceToken"),
    ("wrong path", path("/3/devices/" + "ab" * 32), 404, "BadPath"),
]


def test_the_request_as_built_is_accepted_and_its_apns_id_echoed(apns: Apns) -> None:
    token = new_device_token()

    answer = apns.raw(**apns.good_request(token))

    assert answer.status_code == 200 and answer.http_version == "HTTP/2"
    assert answer.headers["apns-id"] == "6e1f7c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6"
    [received] = apns.fake.received()
    assert (received.token, received.topic, received.push_type, received.priority) == (token, BUNDLE_ID, "alert", 10)


@pytest.mark.parametrize(("change", "status", "reason"), [case[1:] for case in REFUSED], ids=[case[0] for case in REFUSED])
def test_a_request_built_wrong_is_refused_as_apns_refuses_it(apns: Apns, change: Change, status: int, reason: str) -> None:
    request = apns.good_request()
    change(request, apns)

    answer = apns.raw(**request)

    assert (answer.status_code, answer.json()) == (status, {"reason": reason})
    assert apns.fake.received() == [] and apns.fake.refusals == {reason: 1}


@pytest.mark.parametrize(
    "change",
    [
        headers(apns_collapse_id="c" * 64),
        body(sized(ALERT, 4096)),
        both(AS_VOIP, body(sized(VOIP, 5120))),
        both(AS_BACKGROUND, body(BACKGROUND)),
        headers(apns_priority="1"),  # Apple documents 1: the device's power considerations above all
        headers(apns_priority=None, apns_expiration=None, apns_id=None),  # optional: APNs supplies defaults
        path("/3/device/" + "AB" * 100),
    ],
    ids=["collapse id of 64 bytes", "alert of 4096 bytes", "voip of 5120 bytes", "background", "priority 1", "optional headers left out", "200 upper-case hex"],
)
def test_requests_at_the_limits_are_accepted(apns: Apns, change: Change) -> None:
    request = apns.good_request()
    change(request, apns)

    answer = apns.raw(**request)

    assert answer.status_code == 200, answer.text
    assert apns.fake.received_count == 1


def test_a_request_without_apns_id_gets_a_new_one(apns: Apns) -> None:
    request = apns.good_request()
    del request["headers"]["apns-id"]

    answer = apns.raw(**request)

    assert answer.status_code == 200
    assert answer.headers["apns-id"] == apns.fake.received()[0].apns_id


def test_http_1_1_is_refused(apns: Apns) -> None:
    answer = apns.raw(**apns.good_request(), http2=False)

    assert answer.http_version == "HTTP/1.1"
    assert answer.status_code == 505 and apns.fake.received() == []


def test_only_post_is_allowed(apns: Apns) -> None:
    request = apns.good_request()

    answer = apns.raw("GET", request["path"], request["headers"], b"")

    assert (answer.status_code, answer.json()) == (405, {"reason": "MethodNotAllowed"})


def test_a_header_sent_twice_is_refused(apns: Apns) -> None:
    request = apns.good_request()
    repeated = [*request["headers"].items(), ("apns-topic", BUNDLE_ID)]

    answer = apns.raw(request["method"], request["path"], repeated, request["body"])

    assert (answer.status_code, answer.json()) == (400, {"reason": "DuplicateHeaders"})


def test_a_new_provider_token_within_twenty_minutes_of_the_last_is_too_many_updates(apns: Apns) -> None:
    first = apns.good_request()
    assert apns.raw(**first).status_code == 200

    apns.clock.advance(TOKEN_UPDATE_INTERVAL_SECONDS - 60)
    too_soon = apns.raw(**apns.good_request())
    apns.clock.advance(60)
    in_time = apns.raw(**apns.good_request())
    old_token_again = apns.raw(**first)  # still under an hour old: a token already seen is no update

    assert (too_soon.status_code, too_soon.json()) == (429, {"reason": "TooManyProviderTokenUpdates"})
    assert in_time.status_code == 200 and old_token_again.status_code == 200
    assert apns.fake.token_updates == 1 and apns.fake.provider_tokens_seen == 3


def test_another_connection_may_bring_its_own_token(apns: Apns) -> None:
    # Each sender container signs its own token on its own connection: no update at Apple.
    assert apns.raw(**apns.good_request()).status_code == 200
    apns.clock.advance(60)
    other_server = apns.good_request()

    answer = apns.raw(**other_server, new_connection=True)
    same_token_on_the_first_connection = apns.raw(**other_server)

    assert answer.status_code == 200
    assert same_token_on_the_first_connection.json() == {"reason": "TooManyProviderTokenUpdates"}
    assert apns.fake.token_updates == 0 and apns.fake.connections == 2


def test_a_token_is_verified_once_however_often_it_is_used(apns: Apns) -> None:
    for _ in range(25):
        assert apns.raw(**apns.good_request()).status_code == 200

    assert apns.fake.signature_checks == 1 and apns.fake.provider_tokens_seen == 1


def test_the_same_token_expires_an_hour_after_its_iat(apns: Apns) -> None:
    request = apns.good_request()
    assert apns.raw(**request).status_code == 200

    apns.clock.advance(3601)
    answer = apns.raw(**request)

    assert (answer.status_code, answer.json()) == (403, {"reason": "ExpiredProviderToken"})


def test_unregistered_says_since_when(apns: Apns) -> None:
    token = new_device_token()
    apns.fake.set_behaviour(token, "unregistered")

    answer = apns.raw(**apns.good_request(token))

    assert (answer.status_code, answer.json()) == (410, {"reason": "Unregistered", "timestamp": int(apns.clock() * 1000)})


def test_a_forbidden_token_may_name_its_reason(apns: Apns) -> None:
    token = new_device_token()
    apns.fake.set_behaviour(token, "forbidden", reason="Forbidden")

    answer = apns.raw(**apns.good_request(token))

    assert (answer.status_code, answer.json()) == (403, {"reason": "Forbidden"})


def test_behaviours_apply_only_to_requests_built_right(apns: Apns) -> None:
    token = new_device_token()
    apns.fake.set_behaviour(token, "unregistered")
    request = apns.good_request(token)
    request["headers"]["apns-priority"] = "7"

    answer = apns.raw(**request)

    assert answer.json() == {"reason": "BadPriority"}


def test_received_notifications_are_listed_and_cleared_over_http_even_http_1_1(apns: Apns) -> None:
    token = new_device_token()
    apns.raw(**apns.good_request(token))

    listed = apns.raw("GET", "/_fake/received", {}, b"", http2=False)
    cleared = apns.raw("DELETE", "/_fake/received", {}, b"")

    assert listed.status_code == 200
    [notification] = listed.json()
    assert notification["token"] == token and notification["payload"]["aps"] == ALERT["aps"]
    assert cleared.status_code == 204 and apns.fake.received() == []


def test_keys_topics_and_behaviours_can_be_set_up_over_http(apns: Apns) -> None:
    other = new_provider_key()
    token = new_device_token()

    answers = [
        apns.raw("POST", "/_fake/keys", {}, {"team_id": "TEAM777777", "key_id": "KEY7777777", "public_key_pem": other.public_pem}),
        apns.raw("POST", "/_fake/topics", {}, {"bundle_id": "com.other.app"}),
        apns.raw("POST", f"/_fake/tokens/{token}", {}, {"behaviour": "not_for_topic"}),
        apns.raw("POST", f"/_fake/tokens/{token}", {}, {"behaviour": "no-such-behaviour"}),
    ]
    request = apns.good_request(token)
    request["headers"]["authorization"] = f"bearer {apns.provider_token(private_pem=other.private_pem, team_id='TEAM777777', key_id='KEY7777777')}"
    request["headers"]["apns-topic"] = "com.other.app"

    assert [answer.status_code for answer in answers] == [204, 204, 204, 400]
    assert apns.raw(**request).json() == {"reason": "DeviceTokenNotForTopic"}
