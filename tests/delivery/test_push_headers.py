"""RFC 8030 request headers: checklist C1-C3 of the Web Push notes. Invalid values fail when the
Delivery is built, so no request can carry them."""

from __future__ import annotations

import re

import pytest

from pushgate.delivery.webpush.push_headers import MAX_TTL, collapse_topic
from pushgate.delivery.webpush.client import Delivery
from pushgate.errors import InvalidValue
from tests.delivery.push_fakes import ENDPOINT, Browser, FakeSession, make_client


def sent_headers(**options: object) -> dict[str, str]:
    session = FakeSession()
    make_client(session).send(Browser().delivery(**options))
    assert len(session.posts) == 1
    return session.posts[0].headers


@pytest.mark.parametrize(
    ("ttl", "header"), [(86400, "86400"), (0, "0"), (1, "1"), (MAX_TTL, "2419200"), (MAX_TTL + 1, "2419200"), (10**12, "2419200")]
)
def test_c1_ttl_is_a_clamped_decimal_string_on_every_request(ttl: int, header: str) -> None:
    assert sent_headers(ttl=ttl)["TTL"] == header


@pytest.mark.parametrize("ttl", [-1, "abc", "60", 1.5, None, True])
def test_c1_negative_or_non_integer_ttl_is_a_validation_error(ttl: object) -> None:
    with pytest.raises(InvalidValue) as error:
        Browser().delivery(ttl=ttl)
    assert error.value.field == "ttl"


def test_c1_there_is_no_silent_default_ttl() -> None:
    # pywebpush defaults to TTL 0 ("drop if offline"); here the caller must say what remains.
    browser = Browser()
    with pytest.raises(TypeError):
        Delivery(endpoint=ENDPOINT, p256dh=browser.p256dh, auth=browser.auth_b64, payload=b"x")  # type: ignore[call-arg]


@pytest.mark.parametrize("urgency", ["very-low", "low", "normal", "high"])
def test_c2_urgency_values_pass_through(urgency: str) -> None:
    assert sent_headers(urgency=urgency)["Urgency"] == urgency


def test_c2_urgency_defaults_to_normal() -> None:
    assert sent_headers()["Urgency"] == "normal"


@pytest.mark.parametrize("urgency", ["urgent", "HIGH", "", None])
def test_c2_unknown_urgency_fails_before_any_request(urgency: object) -> None:
    session = FakeSession()
    make_client(session)
    with pytest.raises(InvalidValue):
        Browser().delivery(urgency=urgency)
    assert session.posts == []


def test_c3_valid_topic_passes_and_none_is_omitted() -> None:
    assert sent_headers(topic="abc_-123")["Topic"] == "abc_-123"
    assert "Topic" not in sent_headers()


@pytest.mark.parametrize("topic", ["a" * 33, "a b", "\u00e4", "", "a=b", "a/b"])
def test_c3_invalid_topic_fails_before_any_request(topic: str) -> None:
    with pytest.raises(InvalidValue):
        Browser().delivery(topic=topic)


def test_c3_topic_from_user_data_is_a_hash() -> None:
    # Given arbitrary, possibly personal, collapse keys
    for key in ["chat:alice@example.com", "a b ä", "x" * 500, ""]:
        topic = collapse_topic(key)
        # Then the Topic is valid, stable, and does not reveal the key
        assert re.fullmatch(r"[A-Za-z0-9_-]{32}", topic)
        assert collapse_topic(key) == topic
        assert key[:8] not in topic or not key
        assert sent_headers(topic=topic)["Topic"] == topic
    assert collapse_topic("a") != collapse_topic("b")
    # With a secret key, the push service cannot confirm a guessed collapse key
    assert collapse_topic("chat:1", key=b"app-secret") != collapse_topic("chat:1")
