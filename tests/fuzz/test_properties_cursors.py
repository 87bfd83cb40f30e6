"""Pagination cursors (pushgate.pagination and the listings that take them): any client string
decodes to a key or is refused with InvalidCursor (docs/errors.md INVALID_PARAM), never another
exception; encoded keys round-trip; and by design a cursor continues only the listing that handed
it out: a cursor of one topic or one app, or a forged key, is refused in another listing instead of
reaching DynamoDB (checked against moto, the tables built from template.yaml)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushgate.errors import InvalidCursor
from pushgate.models import Caller, DeviceType
from pushgate.pagination import decode_cursor, encode_cursor
from pushgate.services import topics as topic_service
from pushgate.services.subscriptions import Registration
from tests.fuzz.budget import property_settings

KEY_NAMES = ("PK", "SK", "GSI1PK", "GSI1SK")
keys = st.dictionaries(st.text(max_size=30), st.text(max_size=60), max_size=5)
cursor_texts = st.one_of(
    st.text(max_size=200),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/", max_size=300),
    st.builds(encode_cursor, keys),
    st.text(min_size=2040, max_size=2060, alphabet="A"),
)


@property_settings(2000)
@given(cursor_texts)
def test_any_cursor_decodes_to_a_key_of_strings_or_is_refused(cursor: str) -> None:
    try:
        key = decode_cursor(cursor)
    except InvalidCursor:
        return
    assert key is None and cursor == "" or isinstance(key, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in key.items())


@property_settings(500)
@given(st.one_of(st.integers(), st.lists(st.text()), st.dictionaries(st.text(), st.text()), st.binary()))
def test_a_cursor_that_is_not_a_string_is_refused(cursor: object) -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor(cursor)


@property_settings(1000)
@given(keys)
def test_keys_round_trip(key: dict[str, str]) -> None:
    assert decode_cursor(encode_cursor(key)) == key


@pytest.fixture
def listings(pushgate, demo_app, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN001, ANN201
    """Two apps; in the first, topics "a" and "b" of three subscribers each, listed two a page."""
    monkeypatch.setattr(topic_service, "SUBSCRIBERS_PAGE_SIZE", 2)
    app, other_app = demo_app.app, pushgate.apps().create_app("other").app
    for tenant in (app, other_app):
        for index in range(3):
            token = f"fuzz-token-{index}"
            pushgate.subscriptions.register(Caller(app=tenant, user_id=f"user-{index}"), Registration(type=DeviceType.FCM, token=token))
            pushgate.topics.subscribe(tenant, token, ["a", "b"])
    return pushgate.topics, app, other_app


def test_a_cursor_continues_only_its_own_listing(listings) -> None:  # noqa: ANN001
    topics, app, other_app = listings
    first = topics.subscribers(app, "a")
    assert len(first.tokens) == 2 and first.next_cursor
    assert len(topics.subscribers(app, "a", first.next_cursor).tokens) == 1
    with pytest.raises(InvalidCursor):
        topics.subscribers(app, "b", first.next_cursor)  # another topic
    with pytest.raises(InvalidCursor):
        topics.subscribers(other_app, "a", first.next_cursor)  # the same topic of another app


@property_settings(150)
@given(st.fixed_dictionaries({name: st.text(max_size=40) for name in KEY_NAMES}), st.sets(st.sampled_from(KEY_NAMES)), st.booleans())
def test_a_forged_cursor_is_refused_or_continues_the_listing(listings, forged: dict[str, str], kept: set[str], own_partition: bool) -> None:  # noqa: ANN001
    """Whatever key a client forges, the listing answers a page or INVALID_PARAM: DynamoDB never
    sees a start key of another partition (nor one it would refuse, which would be a 500)."""
    topics, app, _ = listings
    genuine = decode_cursor(topics.subscribers(app, "a").next_cursor)
    key = {**forged, **{name: genuine[name] for name in kept}}
    if own_partition:
        key["GSI1PK"] = genuine["GSI1PK"]
    try:
        page = topics.subscribers(app, "a", encode_cursor(key))
    except InvalidCursor:
        return
    assert set(page.tokens) <= {f"fuzz-token-{index}" for index in range(3)}
