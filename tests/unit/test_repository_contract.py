"""The same cases against the DynamoDB repository (on moto) and the in-memory fake, so the fake the
unit tests rely on behaves like the real thing."""

from __future__ import annotations

import pytest

from pushgate.models import Device, DeviceType, Session, SubscriptionStatus, WebPushKeys
from pushgate.repository import ConditionFailed, Repository, subscribed_ms
from tests.conftest import TABLE_NAME
from tests.fakes import InMemoryRepository
from tests.keys import browser_keys


@pytest.fixture(params=["dynamodb", "fake"])
def repository(request: pytest.FixtureRequest):  # noqa: ANN201
    if request.param == "fake":
        return InMemoryRepository()
    aws = request.getfixturevalue("aws")
    return Repository(aws["dynamodb"], TABLE_NAME)


def device(version: int = 1, user: str = "alice", **changes: object) -> Device:
    p256dh, auth = browser_keys()
    base = Device(
        app_id="app_1",
        token_hash="th1",
        token="https://fcm.googleapis.com/wp/x",
        type=DeviceType.WEB,
        user_id=user,
        status=SubscriptionStatus.ACTIVE,
        subscription_id=7,
        keys=WebPushKeys(p256dh=p256dh, auth=auth),
        channel_id="ch",
        created_at=1,
        updated_at=1,
        version=version,
    )
    return base.model_copy(update=changes)


def test_create_is_conditional_on_absence(repository) -> None:  # noqa: ANN001
    repository.save_device(device(), expected_version=None)
    with pytest.raises(ConditionFailed):
        repository.save_device(device(), expected_version=None)
    assert repository.get_device("app_1", "th1") == device().model_copy(update={"keys": repository.get_device("app_1", "th1").keys})


def test_update_is_conditional_on_the_version_read(repository) -> None:  # noqa: ANN001
    repository.save_device(device(), expected_version=None)
    repository.save_device(device(version=2, user="bob", device_id="d1"), expected_version=1)
    stored = repository.get_device("app_1", "th1")
    assert (stored.user_id, stored.version, stored.device_id) == ("bob", 2, "d1")
    with pytest.raises(ConditionFailed):
        repository.save_device(device(version=2), expected_version=1)
    repository.save_device(device(version=3), expected_version=2)
    assert repository.get_device("app_1", "th1").device_id is None  # cleared optional field


def test_status_change_only_for_the_owner_while_active(repository) -> None:  # noqa: ANN001
    repository.save_device(device(), expected_version=None)
    assert repository.set_device_status("app_1", "th1", "mallory", SubscriptionStatus.REMOVED, 5) is False
    assert repository.set_device_status("app_1", "absent", "alice", SubscriptionStatus.REMOVED, 5) is False
    assert repository.set_device_status("app_1", "th1", "alice", SubscriptionStatus.REMOVED, 5) is True
    stored = repository.get_device("app_1", "th1")
    assert (stored.status, stored.updated_at, stored.version) == (SubscriptionStatus.REMOVED, 5, 2)
    assert repository.set_device_status("app_1", "th1", "alice", SubscriptionStatus.REMOVED, 6) is False


def test_counters_increase(repository) -> None:  # noqa: ANN001
    assert [repository.next_account_id() for _ in range(3)] == [1, 2, 3]
    assert [repository.next_subscription_id("app_1") for _ in range(2)] == [1, 2]
    assert repository.next_subscription_id("app_2") == 1


def test_sessions_round_trip_and_never_overwrite(repository) -> None:  # noqa: ANN001
    session = Session(app_id="app_1", user_id="alice", account_id=1, expires_at=99)
    repository.put_session("h1", session)
    assert repository.get_session("h1") == session
    assert repository.get_session("h2") is None
    with pytest.raises(ConditionFailed):
        repository.put_session("h1", session)


def test_subscribed_before_orders_subscriptions_against_a_moment_in_milliseconds(repository) -> None:  # noqa: ANN001
    # Given a device subscribed to `news` at t = 1000.250 s and to `sports` at t = 1000.750 s
    repository.save_device(device(), expected_version=None)
    repository.add_topic(device(), "news", 1000.250)
    repository.add_topic(device(), "sports", 1000.750)

    def asked(topics: list[str], before_ms: int) -> set[str]:
        return repository.subscribed_before("app_1", ["th1", "unknown"], topics, before_ms)

    # Then only a subscription strictly before the moment counts, to a topic that was asked about
    assert asked(["news"], 1_000_251) == {"th1"}
    assert asked(["news"], 1_000_250) == set()  # the same millisecond is not "before"
    assert asked(["sports"], 1_000_500) == set()
    assert asked(["sports", "news"], 1_000_500) == {"th1"}
    assert asked(["other"], 9_999_999) == set()
    assert asked([], 9_999_999) == set()


def test_an_edge_without_milliseconds_counts_as_made_at_the_end_of_its_second() -> None:
    # Later rather than sooner: a doubt about order makes a second delivery, never a missed one.
    assert subscribed_ms({"topic": "news", "created_at": 1000}) == 1_000_999
    assert subscribed_ms({"topic": "news", "created_at": 1000, "subscribed_at_ms": 1_000_250}) == 1_000_250


def test_a_part_of_a_topic_holds_exactly_its_devices_and_pages_within_itself(repository) -> None:  # noqa: ANN001
    from pushgate import keyspace
    from pushgate.identifiers import token_hash

    hashes = sorted(token_hash(f"https://fcm.googleapis.com/wp/{i}") for i in range(12))
    for th in hashes:
        repository.save_device(device(token_hash=th, token=f"https://fcm.googleapis.com/wp/{th}"), expected_version=None)
        repository.add_topic(device(token_hash=th, token=f"https://fcm.googleapis.com/wp/{th}"), "big", 1000.0)
    assert repository.topic_subscriber_count("app_1", "big") == 12
    assert repository.topic_subscriber_count("app_1", "none") == 0

    seen = []
    for part in keyspace.split(keyspace.WHOLE, 3):
        inside = [th for th in hashes if part[0] <= keyspace.position(th) < part[1]]
        between, start, read = keyspace.sort_key_bounds(part), None, []
        while True:
            edges, start = repository.topic_page("app_1", "big", 2, start, between)
            read += [edge["GSI1SK"].removeprefix("DEVICE#") for edge in edges]
            if start is None:
                break
        assert read == inside
        seen += read
    assert seen == hashes
    with pytest.raises(ValueError):  # a cursor from one part does not continue another
        first, second = keyspace.split(keyspace.WHOLE, 2)
        _, cursor = repository.topic_page("app_1", "big", 1, None, keyspace.sort_key_bounds(first))
        repository.topic_page("app_1", "big", 1, cursor, keyspace.sort_key_bounds(second))
