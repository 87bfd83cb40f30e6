"""`POST /push` with `skip_online` (docs/api.md §4): fan-out leaves out the devices of users with an
authenticated WebSocket open, asking presence once per user of a page, never per device."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from pushgate.errors import InvalidValue
from pushgate.identifiers import token_hash
from pushgate.models import Connection, Device, DeviceType, SubscriptionStatus
from pushgate.pushes import FanoutMessage, Push, Target, TargetKind, parse_push_request
from pushgate.services.fanout import FanoutService

NOW = 1_795_449_600


def push(skip_online: bool) -> Push:
    return Push(push_id="p1", app_id="app_1", created_at=NOW, time_to_live=60, urgency="normal", payload="{}", fanout_pending=1, skip_online=skip_online)


def device(token_hash: str, user: str, status: SubscriptionStatus = SubscriptionStatus.ACTIVE) -> Device:
    return Device(app_id="app_1", token_hash=token_hash, token=f"https://fcm.googleapis.com/fcm/send/{token_hash}", type=DeviceType.WEB,
                  user_id=user, status=status, subscription_id=1, created_at=NOW, updated_at=NOW)


def edge(token_hash: str, user: str | None) -> dict[str, Any]:
    """A topic edge as topic_page returns it; edges made before they carried their user have none."""
    row = {"GSI1SK": f"DEVICE#{token_hash}", "token": f"https://fcm.googleapis.com/fcm/send/{token_hash}", "type": "web"}
    return row | ({"user_id": user} if user else {})


class Table:
    """The repository calls fan-out makes, recorded: which devices are read, whose presence is asked."""

    def __init__(self, devices: list[Device], edges: list[dict[str, Any]], online: set[str], skip_online: bool = True) -> None:
        self.devices = {d.token_hash: d for d in devices}
        self.edges, self.online, self.push = edges, online, push(skip_online)
        self.device_reads: list[list[str]] = []
        self.presence_asked: list[list[str]] = []
        self.counts: Counter[str] = Counter()

    def get_push(self, push_id: str) -> Push:
        return self.push

    def devices_by_hash(self, app_id: str, token_hashes: list[str]) -> list[Device]:
        self.device_reads.append(list(token_hashes))
        return [self.devices[th] for th in token_hashes if th in self.devices]

    def user_devices(self, app_id: str, user_id: str) -> list[Device]:
        return [d for d in self.devices.values() if d.user_id == user_id]

    def topic_subscriber_count(self, app_id: str, topic: str) -> int:
        return len(self.edges)

    def topic_page(self, app_id: str, topic: str, limit: int, start: Any, between: Any = None) -> tuple[list[dict[str, Any]], None]:
        return self.edges, None

    def users_online(self, app_id: str, user_ids: Any, now: int) -> set[str]:
        asked = list(user_ids)
        self.presence_asked.append(asked)
        return self.online & set(asked)

    def add_push_counts(self, push_id: str, deltas: dict[str, int]) -> None:
        self.counts.update(deltas)


class Recorded:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, messages: list[Any], delay_seconds: int = 0) -> None:
        self.sent.extend(messages)

    def tokens(self) -> set[str]:
        return {d.token_hash for message in self.sent for d in message.devices}


def fan_out(table: Table, target: Target) -> Recorded:
    deliveries = Recorded()
    FanoutService(table, deliveries, Recorded(), clock=lambda: NOW).expand(FanoutMessage(push_id="p1", app_id="app_1", target=target))  # type: ignore[arg-type]
    return deliveries


def test_a_topic_page_skips_the_online_users_devices_asking_once_per_user() -> None:
    # alice (online) has two devices, bob (offline) one; carol (online) and dave (offline) have
    # edges from before edges carried their user, so only their devices are read.
    edges = [edge("a1", "alice"), edge("a2", "alice"), edge("b1", "bob"), edge("c1", None), edge("d1", None)]
    table = Table([device("c1", "carol"), device("d1", "dave")], edges, online={"alice", "carol"})
    deliveries = fan_out(table, Target(kind=TargetKind.TOPIC, topic="news"))
    assert deliveries.tokens() == {"b1", "d1"}
    assert table.device_reads == [["c1", "d1"]]
    assert len(table.presence_asked) == 1 and sorted(table.presence_asked[0]) == ["alice", "bob", "carol", "dave"]
    assert (table.counts["targeted"], table.counts["skipped_online"]) == (2, 3)


def test_tokens_and_users_take_their_owner_from_the_devices_read() -> None:
    def by_token(name: str, user: str, status: SubscriptionStatus = SubscriptionStatus.ACTIVE) -> Device:
        return device(token_hash(f"https://fcm.googleapis.com/fcm/send/{name}"), user, status).model_copy(
            update={"token": f"https://fcm.googleapis.com/fcm/send/{name}"})

    devices = [by_token("a1", "alice"), by_token("b1", "bob"), by_token("b2", "bob", SubscriptionStatus.REMOVED)]
    table = Table(devices, [], online={"alice"})
    tokens = tuple(d.token for d in devices) + ("https://fcm.googleapis.com/fcm/send/unknown",)
    deliveries = fan_out(table, Target(kind=TargetKind.TOKENS, tokens=tokens))
    assert deliveries.tokens() == {devices[1].token_hash}
    assert len(table.device_reads) == 1  # the tokens' own read, nothing more
    # The removed and the unknown token are unreachable, as without skip_online; alice's is skipped.
    assert (table.counts["targeted"], table.counts["failed"], table.counts["skipped_online"]) == (3, 2, 1)

    alice = Table(devices, [], online={"alice"})
    assert fan_out(alice, Target(kind=TargetKind.USER, user_id="alice")).sent == []
    assert alice.presence_asked == [["alice"]] and alice.counts["skipped_online"] == 1


def test_without_skip_online_presence_is_never_asked() -> None:
    table = Table([], [edge("a1", "alice"), edge("c1", None)], online={"alice"}, skip_online=False)
    assert fan_out(table, Target(kind=TargetKind.TOPIC, topic="news")).tokens() == {"a1", "c1"}
    assert table.presence_asked == [] and table.device_reads == [] and table.counts["skipped_online"] == 0


def test_skip_online_is_a_boolean_defaulting_to_false() -> None:
    assert parse_push_request({"to": "/topics/news", "data": {}}).skip_online is False
    assert parse_push_request({"to": "/topics/news", "data": {}, "skip_online": True}).skip_online is True
    for wrong in ("true", 1, None, {}):
        with pytest.raises(InvalidValue) as refused:
            parse_push_request({"to": "/topics/news", "data": {}, "skip_online": wrong} if wrong is not None else {"to": "/topics/news", "skip_online": None})
        assert refused.value.field == "skip_online"


def test_presence_counts_only_authenticated_connections_not_yet_expired(pushgate, demo_app) -> None:  # noqa: ANN001
    repository, app_id = pushgate.repository, demo_app.app.app_id
    repository.put_connection(Connection(connection_id="open", app_id=app_id, user_id="alice", connected_at=NOW, expires_at=NOW + 100))
    repository.put_connection(Connection(connection_id="stale", app_id=app_id, user_id="bob", connected_at=NOW - 9000, expires_at=NOW - 1))
    repository.put_connection(Connection(connection_id="anonymous", app_id=app_id, connected_at=NOW, expires_at=NOW + 100))
    repository.put_connection(Connection(connection_id="later", app_id=app_id, connected_at=NOW, expires_at=NOW + 100))
    assert repository.set_connection_user("later", "carol")
    assert repository.users_online(app_id, ["alice", "bob", "carol", "dave"], NOW) == {"alice", "carol"}
    assert repository.users_online("app_other", ["alice", "carol"], NOW) == set()  # tenancy is in the key
    repository.delete_connection("open")
    assert repository.users_online(app_id, ["alice"], NOW) == set()
