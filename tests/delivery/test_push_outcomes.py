"""What each push-service answer means: checklist D1, D3-D6 and D8 of the Web Push notes, and the
outcomes for bad stored keys and blocked endpoints (F3)."""

from __future__ import annotations

import binascii
from email.utils import formatdate

import pytest
import requests
from pywebpush import WebPushException

from pushgate.delivery.outcomes import DeliveryOutcome, OutcomeKind, outcome_for_exception, parse_retry_after
from pushgate.delivery.webpush.client import Delivery
from tests.delivery.push_fakes import (
    SHORT_TIMEOUTS,
    Browser,
    FakeSession,
    b64url,
    canned_response,
    closed_port,
    loopback_policy,
    make_client,
)

NOW = 1_700_000_000.0


def send_answered(status: int, headers: dict[str, str] | None = None) -> DeliveryOutcome:
    session = FakeSession(lambda url: canned_response(status, headers))
    outcome = make_client(session, clock=lambda: NOW).send(Browser().delivery())
    assert len(session.posts) == 1
    return outcome


@pytest.mark.parametrize("status", [200, 201, 202])
def test_d1_2xx_is_sent(status: int) -> None:
    outcome = send_answered(status)
    assert outcome.kind is OutcomeKind.SENT and outcome.status_code == status
    assert not outcome.retryable and not outcome.prune and not outcome.alarm


@pytest.mark.parametrize("status", [404, 410])
def test_d2_404_and_410_prune_without_retry(status: int) -> None:
    outcome = send_answered(status)
    assert outcome.kind is OutcomeKind.GONE and outcome.prune and not outcome.retryable


def test_d3_413_fails_without_retry_keeps_the_subscription_and_alarms() -> None:
    outcome = send_answered(413)
    assert outcome.kind is OutcomeKind.TOO_LARGE
    assert not outcome.retryable and not outcome.prune and outcome.alarm


def test_d4_429_with_delta_seconds() -> None:
    outcome = send_answered(429, {"Retry-After": "120"})
    assert outcome.kind is OutcomeKind.RATE_LIMITED and outcome.retryable
    assert outcome.retry_after == 120


def test_d4_429_with_an_http_date() -> None:
    outcome = send_answered(429, {"Retry-After": formatdate(NOW + 300, usegmt=True)})
    assert outcome.kind is OutcomeKind.RATE_LIMITED and outcome.retry_after == pytest.approx(300)


def test_d4_429_without_retry_after_leaves_backoff_to_the_caller() -> None:
    outcome = send_answered(429)
    assert outcome.kind is OutcomeKind.RATE_LIMITED and outcome.retry_after is None


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        (" 7 ", 7.0),
        ("Sun, 12 Nov 2023 22:13:20 GMT", 0.0),  # in the past
        ("Wed, 15 Nov 2023 03:13:20 GMT", 5 * 3600.0),
        ("soon", None),
        ("-5", None),
        ("1" * 40, None),
        ("", None),
        (None, None),
        ("\u0661\u0662", None),  # Arabic-Indic digits are not delta-seconds
    ],
)
def test_d4_retry_after_parsing(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize("status", [500, 502, 503, 504, 408])
def test_d5_server_errors_are_retried_and_keep_the_subscription(status: int) -> None:
    outcome = send_answered(status)
    assert outcome.kind is OutcomeKind.RETRY and outcome.retryable and not outcome.prune


def test_d5_503_retry_after_is_kept() -> None:
    assert send_answered(503, {"Retry-After": "30"}).retry_after == 30


@pytest.mark.parametrize(
    "error",
    [
        requests.exceptions.ConnectTimeout("x"),
        requests.exceptions.ReadTimeout("x"),
        requests.exceptions.ConnectionError("x"),
        TimeoutError(),
        ConnectionResetError(),
    ],
)
def test_d5_transport_errors_are_retried(error: Exception) -> None:
    outcome = make_client(FakeSession(lambda url: error)).send(Browser().delivery())
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail == type(error).__name__


@pytest.mark.parametrize("transport", ["keepalive", "requests"])
def test_d5_connection_refused_is_retried(transport: str) -> None:
    from pushgate.delivery.transport.keepalive import KeepAliveTransport
    from pushgate.delivery.webpush.requests_session import new_requests_session

    port = closed_port()
    session = KeepAliveTransport(2) if transport == "keepalive" else new_requests_session(2)
    client = make_client(session, policy=loopback_policy(port), timeouts=SHORT_TIMEOUTS)
    outcome = client.send(Browser().delivery(endpoint=f"http://127.0.0.1:{port}/push/x"))
    assert outcome.kind is OutcomeKind.RETRY and outcome.status_code is None


@pytest.mark.parametrize("status", [400, 401, 403])
def test_d6_400_401_403_never_prune_and_alarm(status: int) -> None:
    outcome = send_answered(status)
    assert outcome.kind is OutcomeKind.REJECTED
    assert not outcome.prune and not outcome.retryable and outcome.alarm


def test_d6_fifty_subscriptions_all_answering_403_prune_nothing() -> None:
    session = FakeSession(lambda url: canned_response(403))
    outcomes = make_client(session, concurrency=8).send_many([Browser().delivery() for _ in range(50)])
    assert len(session.posts) == 50
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.REJECTED] * 50
    assert not any(outcome.prune for outcome in outcomes)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_3xx_is_a_redirect_failure_with_alarm(status: int) -> None:
    outcome = send_answered(status, {"Location": "https://fcm.googleapis.com/elsewhere"})
    assert outcome.kind is OutcomeKind.REDIRECTED and outcome.alarm and not outcome.prune


def test_d8_exception_with_a_falsy_410_response_is_gone() -> None:
    # Given pywebpush's exception carrying a 410 response, which is falsy (pywebpush #168)
    response = canned_response(410)
    assert not response
    error = WebPushException("Push failed: 410 Gone", response=response)

    # Then it is classified by the response, not as "no response"
    assert outcome_for_exception(error, "abc").kind is OutcomeKind.GONE


def test_d8_http_error_raised_by_a_session_is_classified_by_its_response() -> None:
    error = requests.HTTPError("410 Client Error", response=canned_response(410))
    outcome = make_client(FakeSession(lambda url: error)).send(Browser().delivery())
    assert outcome.kind is OutcomeKind.GONE and outcome.status_code == 410


def _stored(p256dh: str, auth: str) -> Delivery:
    return Delivery(endpoint="https://fcm.googleapis.com/wp/x", p256dh=p256dh, auth=auth, payload=b"x", ttl=60)


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param(lambda b: (b.p256dh[:-4], b.auth_b64), id="p256dh 62 bytes"),
        pytest.param(lambda b: (b64url(b"\x05" + b.public_bytes[1:]), b.auth_b64), id="p256dh 0x05 prefix"),
        pytest.param(lambda b: (b64url(b"\x04" + b"\x01" * 64), b.auth_b64), id="p256dh off curve"),
        pytest.param(lambda b: ("not base64!", b.auth_b64), id="p256dh not base64url"),
        pytest.param(lambda b: (b.p256dh, b64url(b"\x00" * 15)), id="auth 15 bytes"),
        pytest.param(lambda b: (b.p256dh, b64url(b"\x00" * 17)), id="auth 17 bytes"),
        pytest.param(lambda b: (b.p256dh, "a"), id="auth bad padding"),
    ],
)
def test_bad_stored_keys_are_an_invalid_subscription_and_no_request(keys) -> None:  # noqa: ANN001
    session = FakeSession()
    outcome = make_client(session).send(_stored(*keys(Browser())))
    assert outcome.kind is OutcomeKind.INVALID_SUBSCRIPTION
    assert session.posts == [] and not outcome.retryable


def test_binascii_errors_from_key_decoding_count_as_invalid_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    import pywebpush

    def broken(value: bytes) -> bytes:
        raise binascii.Error("Incorrect padding")

    monkeypatch.setattr(pywebpush.base64, "urlsafe_b64decode", broken)
    session = FakeSession()
    assert make_client(session).send(Browser().delivery()).kind is OutcomeKind.INVALID_SUBSCRIPTION
    assert session.posts == []
