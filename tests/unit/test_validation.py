"""Endpoint safety and key validation (docs/api.md §6; checklist F1, F2, F4, F5 of the Web Push notes)."""

from __future__ import annotations

import base64

import pytest

from pushgate.errors import FieldMissing, FieldTooLong, InvalidAuthSecret, InvalidEndpoint, InvalidP256dh, InvalidValue
from pushgate.validation import EndpointPolicy, check_auth_secret, check_p256dh, check_user_id
from tests.keys import b64url, browser_keys

POLICY = EndpointPolicy()

ACCEPTED = [
    "https://fcm.googleapis.com/wp/abc",
    "https://fcm.googleapis.com/fcm/send/abc",
    "https://updates.push.services.mozilla.com/wpush/v2/abc",
    "https://web.push.apple.com/QGuQyavXutnMH4c8T0n8XJ3k",
    "https://wns2-par02p.notify.windows.com/w/?token=abc",
    "https://FCM.googleapis.com:443/wp/abc",
]

REJECTED = [
    "http://fcm.googleapis.com/wp/x",
    "https://fcm.googleapis.com:8443/x",
    "https://u:p@fcm.googleapis.com/x",
    "https://fcm.googleapis.com.evil.example/x",
    "https://evil.example/.google.com/",
    "https://fcm.googleapis.com\\@evil.example/x",
    "https://evil.example#@fcm.googleapis.com/x",
    "https://fcm.googleapis.com/x#frag",
    "https://169.254.169.254/latest/meta-data/",
    "https://[::ffff:169.254.169.254]/x",
    "https://2852039166/x",
    "https://localhost/x",
    "https://127.0.0.1:9001/x",
    "https://permanently-removed.invalid/fcm/send/x",
    "https://fcm.googleapis.com./x",
    "https://notify.windows.com.evil.example/x",
    "https://evilnotify.windows.com/x",
    "https://fcm.googleapis.com/a b",
    "https://fcm.googleapis.com/a\tb",
    "https://fcm.googleapis.com/a\nb",
    "https://fcm.googleapis.com/\u00e4",
    "ftp://fcm.googleapis.com/x",
    "fcm.googleapis.com/wp/x",
    "https:///wp/x",
    "https://fcm.googleapis.com:99999/x",
    "javascript:alert(1)",
]


@pytest.mark.parametrize("endpoint", ACCEPTED)
def test_known_push_services_are_accepted(endpoint: str) -> None:
    assert POLICY.check(endpoint) == endpoint


@pytest.mark.parametrize("endpoint", REJECTED)
def test_unsafe_endpoints_are_rejected(endpoint: str) -> None:
    with pytest.raises(InvalidEndpoint):
        POLICY.check(endpoint)
    assert not POLICY.is_allowed(endpoint)


def test_overlong_endpoint_is_too_long_not_invalid() -> None:
    endpoint = "https://fcm.googleapis.com/wp/" + "a" * 2049
    with pytest.raises(FieldTooLong):
        POLICY.check(endpoint)


def test_endpoint_of_exactly_1024_characters_is_accepted() -> None:
    prefix = "https://fcm.googleapis.com/wp/"
    assert POLICY.check(prefix + "a" * (1024 - len(prefix)))


def test_extra_hosts_allow_http_on_the_named_port_only() -> None:
    policy = EndpointPolicy.from_setting(("127.0.0.1:8090", "push.example.test"))
    assert policy.check("http://127.0.0.1:8090/push/abc")
    assert policy.check("https://push.example.test/x")
    assert policy.check("http://push.example.test/x")
    for endpoint in ("http://127.0.0.1:8091/push/abc", "http://127.0.0.1/push", "https://push.example.test:8443/x"):
        with pytest.raises(InvalidEndpoint):
            policy.check(endpoint)


def test_host_verdicts_are_kept_per_policy_and_the_rest_of_each_url_is_checked_every_time() -> None:
    """The verdict on a scheme and host is cached (the sender re-checks before every request)."""
    loopback = EndpointPolicy.from_setting(("127.0.0.1:8090",))
    assert loopback.is_allowed("http://127.0.0.1:8090/a")
    assert not POLICY.is_allowed("http://127.0.0.1:8090/a")  # same host, another policy
    assert not loopback.is_allowed("http://127.0.0.1:8090/a#fragment")
    assert not loopback.is_allowed("http://127.0.0.1:8090/a b")
    assert loopback.is_allowed("http://127.0.0.1:8090/b")


@pytest.mark.parametrize(
    ("endpoint", "detail"),
    [
        ("https://fcm.googleapis.com:99999/x#f", "unparseable URL"),
        ("https://fcm.googleapis.com/x#f", "missing host, fragment or user-info"),
        ("https://evil.example/x#f", "missing host, fragment or user-info"),
        ("https://evil.example/x", "not a known push service"),
    ],
)
def test_the_first_problem_of_an_endpoint_is_the_one_reported(endpoint: str, detail: str) -> None:
    with pytest.raises(InvalidEndpoint) as raised:
        POLICY.check(endpoint)
    assert raised.value.detail == detail


def test_default_policy_rejects_loopback_push_services() -> None:
    with pytest.raises(InvalidEndpoint):
        POLICY.check("http://127.0.0.1:8090/push/abc")


def test_valid_p256dh_is_accepted_padded_or_not_and_stored_unpadded() -> None:
    p256dh, _ = browser_keys()
    assert check_p256dh(p256dh) == p256dh
    assert check_p256dh(p256dh + "=") == p256dh


@pytest.mark.parametrize(
    "value",
    [
        b64url(b"\x04" + b"\x01" * 63),  # 64 bytes
        b64url(b"\x05" + b"\x01" * 64),  # wrong prefix (pywebpush accepts this one)
        b64url(b"\x04" + b"\x01" * 64),  # off the curve
        "not base64url!",
        base64.b64encode(b"\x04" + b"\xff" * 64).decode().replace("-", "+") + "+/",
        "",
    ],
)
def test_bad_p256dh_is_rejected(value: str) -> None:
    with pytest.raises(InvalidP256dh):
        check_p256dh(value)


def test_auth_secret_must_be_exactly_16_bytes() -> None:
    good = b64url(b"\x01" * 16)
    assert check_auth_secret(good) == good
    assert check_auth_secret(good + "==") == good
    for raw in (b"\x01" * 15, b"\x01" * 17, b""):
        with pytest.raises(InvalidAuthSecret):
            check_auth_secret(b64url(raw))
    with pytest.raises(InvalidAuthSecret):
        check_auth_secret("%%%%")


def test_user_ids_are_1_to_256_printable_characters() -> None:
    assert check_user_id("alice@example.com #1") == "alice@example.com #1"
    assert check_user_id("u" * 256)
    with pytest.raises(FieldMissing):
        check_user_id("")
    with pytest.raises(FieldTooLong):
        check_user_id("u" * 257)
    with pytest.raises(InvalidValue):
        check_user_id("bad\nid")
    with pytest.raises(InvalidValue):
        check_user_id(42)
