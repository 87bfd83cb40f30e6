"""Send-time endpoint re-check and secrets hygiene: checklist F3, G1 and G2 of the Web Push notes."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from pushgate.delivery.webpush.encryption import ReceiverKeys
from pushgate.delivery.errors import ConfigurationError, PayloadTooLarge
from pushgate.delivery.transport.keepalive import KeepAliveTransport
from pushgate.delivery.outcomes import OutcomeKind
from pushgate.delivery.webpush.vapid import VapidSigner
from pushgate.identifiers import log_id
from pushgate.validation import EndpointPolicy
from tests.delivery.push_fakes import (
    SHORT_TIMEOUTS,
    SUBJECT,
    Browser,
    FakeSession,
    canned_response,
    closed_port,
    loopback_policy,
    make_client,
    split_vapid,
    vapid_pem,
)

SECRET_PATH = "wp/cRkZ3Xz-secret-subscription-capability"


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://169.254.169.254/x",
        "https://169.254.169.254/.google.com/",
        "http://fcm.googleapis.com/wp/x",
        "https://fcm.googleapis.com:8443/x",
        "https://fcm.googleapis.com.evil.example/x",
        "https://localhost/x",
        "https://fcm.googleapis.com/" + "a" * 2049,
    ],
)
def test_f3_a_stored_row_failing_the_policy_causes_no_request(endpoint: str) -> None:
    # Given a row inserted around validation
    session = FakeSession()
    outcome = make_client(session).send(Browser().delivery(endpoint=endpoint))

    # Then nothing is sent and the caller is told to flag the row
    assert session.posts == []
    assert outcome.kind is OutcomeKind.BLOCKED and not outcome.retryable and not outcome.prune


def test_f3_loopback_is_only_reachable_when_the_deployment_adds_it() -> None:
    session = FakeSession()
    endpoint = "http://127.0.0.1:8090/push/x"
    assert make_client(session).send(Browser().delivery(endpoint=endpoint)).kind is OutcomeKind.BLOCKED
    allowing = make_client(session, policy=EndpointPolicy.from_setting(("127.0.0.1:8090",)))
    assert allowing.send(Browser().delivery(endpoint=endpoint)).kind is OutcomeKind.SENT
    assert len(session.posts) == 1


@pytest.fixture
def delivery_logs() -> Iterator[list[logging.LogRecord]]:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("pushgate.delivery")
    handler, level = Keep(logging.DEBUG), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def _rendered(records: list[logging.LogRecord]) -> str:
    return "\n".join(f"{record.getMessage()} {record.__dict__}" for record in records)


def test_g1_logs_of_sends_and_failures_hold_no_secret(delivery_logs: list[logging.LogRecord]) -> None:
    # Given a success, a rejection, a rate limit, and a refused connection whose library error quotes the URL
    pem = vapid_pem()
    browser = Browser()
    answers = iter([canned_response(201), canned_response(403), canned_response(429, {"Retry-After": "5"})])
    session = FakeSession(lambda url: next(answers))
    client = make_client(session, pem=pem)
    endpoint = f"https://fcm.googleapis.com/{SECRET_PATH}?token=query-secret"
    for _ in range(3):
        client.send(browser.delivery(endpoint=endpoint))
    port = closed_port()
    refused_endpoint = f"http://127.0.0.1:{port}/{SECRET_PATH}"
    from pushgate.delivery.webpush.requests_session import new_requests_session

    refused = make_client(new_requests_session(1), pem=pem, policy=loopback_policy(port), timeouts=SHORT_TIMEOUTS)
    assert refused.send(browser.delivery(endpoint=refused_endpoint)).kind is OutcomeKind.RETRY
    jwt = split_vapid(session.posts[0].headers["Authorization"])[0]

    # Then the logs name hosts and hashed endpoints only
    logs = _rendered(delivery_logs)
    assert len(delivery_logs) == 4
    for secret in [SECRET_PATH, "query-secret", endpoint, browser.auth_b64, browser.p256dh, jwt, jwt.split(".")[2], *pem.splitlines()[1:-1]]:
        assert secret not in logs
    assert "fcm.googleapis.com" in logs and log_id(endpoint) in logs and log_id(refused_endpoint) in logs


def test_g2_reprs_and_errors_hold_no_secret() -> None:
    browser = Browser()
    endpoint = f"https://fcm.googleapis.com/{SECRET_PATH}?token=query-secret"
    delivery = browser.delivery(endpoint=endpoint, topic="abc")
    outcome = make_client(FakeSession(lambda url: canned_response(410))).send(delivery)
    signer = VapidSigner(vapid_pem(), SUBJECT)
    token = signer.header("https://fcm.googleapis.com")
    texts = [
        repr(delivery),
        str(delivery),
        repr(outcome),
        repr(ReceiverKeys.from_subscription(browser.p256dh, browser.auth_b64)),
        repr(signer),
        str(PayloadTooLarge(4000, 3993)),
    ]
    with pytest.raises(ConfigurationError) as bad_key:
        VapidSigner("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LWtleS1ieXRlcw==\n-----END PRIVATE KEY-----\n", SUBJECT)
    texts.append(str(bad_key.value))

    rendered = "\n".join(texts)
    for secret in [SECRET_PATH, "query-secret", browser.auth_b64, browser.p256dh, split_vapid(token)[0], "c2VjcmV0LWtleS1ieXRlcw", "secret-key-bytes"]:
        assert secret not in rendered
    assert "fcm.googleapis.com" in repr(delivery) and log_id(endpoint) in repr(delivery)


def test_g1_keepalive_transport_errors_are_logged_by_class_only(delivery_logs: list[logging.LogRecord]) -> None:
    port = closed_port()
    endpoint = f"http://127.0.0.1:{port}/{SECRET_PATH}"
    client = make_client(KeepAliveTransport(1), policy=loopback_policy(port), timeouts=SHORT_TIMEOUTS)
    outcome = client.send(Browser().delivery(endpoint=endpoint))
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail == "ConnectionRefusedError"
    assert SECRET_PATH not in _rendered(delivery_logs)
