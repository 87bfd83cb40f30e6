"""The per-user device cap (services.device_cap, docs/limits.md "Devices per user"): who is evicted,
what does not count, and what an eviction removes. Each case runs on the DynamoDB repository (moto)
and on the in-memory fake, extended here with the cap's three repository methods."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pushgate import events
from pushgate.identifiers import token_hash
from pushgate.models import Caller, DeviceType, SubscriptionStatus
from pushgate.observability import metrics
from pushgate.repository import Repository
from pushgate.services.apps import AppService
from pushgate.services.device_cap import EVICTED_METRIC, NOT_ENFORCED_METRIC, OVERRIDE_CACHE_SECONDS, DeviceCap
from pushgate.services.subscriptions import Registration, SubscriptionService, WebSubscription
from pushgate.validation import EndpointPolicy
from tests.conftest import TABLE_NAME
from tests.fakes import FakeClock, InMemoryRepository, InMemorySecretStore
from tests.keys import browser_keys

POLICY = EndpointPolicy()
SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"


class CapRepository(InMemoryRepository):
    """The fake with the cap's own methods (pushgate.repository.device_cap), same conditions."""

    def __init__(self) -> None:
        super().__init__()
        self.caps: dict[str, int] = {}
        self.user_queries = 0

    def user_devices(self, app_id: str, user_id: str):  # noqa: ANN201
        self.user_queries += 1
        return super().user_devices(app_id, user_id)

    def device_cap_override(self, app_id: str) -> int | None:
        return self.caps.get(app_id)

    def set_device_cap(self, app_id: str, cap: int | None) -> bool:
        if app_id not in self.apps:
            return False
        if cap is None:
            self.caps.pop(app_id, None)
        else:
            self.caps[app_id] = cap
        return True

    def evict_device(self, app_id: str, token_hash: str, user_id: str, version: int, now: int) -> bool:
        current = self.devices.get((app_id, token_hash))
        if current is None or current.user_id != user_id or not current.active or current.version != version:
            return False
        self.devices[(app_id, token_hash)] = current.model_copy(update={"status": SubscriptionStatus.REMOVED, "updated_at": now, "version": version + 1})
        return True


class CountingRepository(Repository):
    """The DynamoDB repository, counting the cap's Query of a user's devices."""

    user_queries = 0

    def user_devices(self, app_id: str, user_id: str):  # noqa: ANN201
        self.user_queries += 1
        return super().user_devices(app_id, user_id)


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[events.Event] = []

    def publish(self, batch: list[events.Event]) -> int:
        self.published.extend(batch)
        return len(batch)


class World:
    def __init__(self, repository: Any, cap: int) -> None:
        self.repository, self.clock, self.publisher = repository, FakeClock(), RecordingPublisher()
        self.app = AppService(repository, InMemorySecretStore(), "/p", self.clock).create_app("demo").app
        self.cap = DeviceCap(repository, cap, events=lambda: self.publisher, clock=self.clock)
        self.service = SubscriptionService(repository, POLICY, self.clock, device_cap=self.cap)

    def caller(self, user: str = "alice") -> Caller:
        return Caller(app=self.app, user_id=user)

    def subscribe(self, name: str, user: str = "alice", keys: tuple[str, str] | None = None, advance: float = 1) -> str:
        """A browser registering, `advance` seconds after the last registration; its endpoint."""
        self.clock.advance(advance)
        endpoint = f"https://fcm.googleapis.com/fcm/send/{name}"
        self.service.subscribe_web(self.caller(user), WebSubscription.parse(POLICY, endpoint, *(keys or browser_keys())))
        return endpoint

    def status(self, endpoint: str) -> SubscriptionStatus:
        return self.repository.get_device(self.app.app_id, token_hash(endpoint)).status

    def active(self, user: str = "alice") -> set[str]:
        return {d.token for d in self.repository.user_devices(self.app.app_id, user) if d.active}


@pytest.fixture(params=["dynamodb", "fake"])
def make_world(request: pytest.FixtureRequest):  # noqa: ANN201
    def make(cap: int = 3) -> World:
        if request.param == "fake":
            return World(CapRepository(), cap)
        return World(CountingRepository(request.getfixturevalue("aws")["dynamodb"], TABLE_NAME), cap)

    return make


@pytest.fixture(autouse=True)
def clean_metrics():  # noqa: ANN201
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def metric(name: str) -> int:
    values = metrics.metric_set.get(name, {}).get("Value", [])
    return sum(values) if isinstance(values, list) else int(values)


def test_one_more_than_the_cap_evicts_the_least_recently_registered_with_its_topics(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=3)
    first, *rest = [world.subscribe(f"d{i}") for i in range(3)]
    device = world.repository.get_device(world.app.app_id, token_hash(first))
    world.repository.add_topic(device, "news", world.clock())
    newest = world.subscribe("d3")
    assert world.status(first) is SubscriptionStatus.REMOVED
    assert world.active() == {*rest, newest}
    assert world.repository.device_topics(world.app.app_id, token_hash(first)) == []
    assert dict(world.repository.list_topics(world.app.app_id)).get("news", 0) == 0
    assert [(e.detail_type, e.detail["token_hash"], e.detail["registered_token_hash"]) for e in world.publisher.published] == [
        (events.DEVICE_EVICTED, token_hash(first), token_hash(newest))
    ]
    assert metric(EVICTED_METRIC) == 1


def test_the_order_is_the_last_registration_not_the_first(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=3)
    a, b, c = (world.subscribe(name) for name in "abc")
    world.subscribe("a", keys=None)  # a registers again (new keys, as a browser's refresh): now the newest
    d = world.subscribe("d")
    assert world.status(b) is SubscriptionStatus.REMOVED
    assert world.active() == {a, c, d}


def test_within_one_second_the_first_created_goes_first(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=2)
    endpoints = [world.subscribe(f"same-second-{i}", advance=0) for i in range(4)]
    assert world.active() == set(endpoints[2:])
    assert [world.status(e) for e in endpoints[:2]] == [SubscriptionStatus.REMOVED] * 2


def test_re_registering_a_held_device_is_not_counted_and_reads_nothing(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=3)
    endpoints = [world.subscribe(f"d{i}") for i in range(3)]
    queries = world.repository.user_queries
    for name in ("d0", "d1", "d2", "d0"):
        world.subscribe(name)
    assert world.repository.user_queries == queries  # no Query of the user's devices at all
    assert world.active() == set(endpoints)
    assert world.publisher.published == []


def test_a_reactivated_device_counts_as_a_new_one(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=2)
    old, kept = world.subscribe("old"), world.subscribe("kept")
    world.service.unsubscribe_web(world.caller(), old)
    newest = world.subscribe("newest")
    world.subscribe("old")  # back from REMOVED: the user now has three active, one too many
    assert world.active() == {newest, old}
    assert world.status(kept) is SubscriptionStatus.REMOVED


def test_a_browser_moving_to_a_user_counts_for_them_and_other_users_are_untouched(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=2)
    keys = browser_keys()
    shared = world.subscribe("shared", user="bob", keys=keys)
    bobs = world.subscribe("bobs-other", user="bob")
    alices = [world.subscribe(f"alice-{i}") for i in range(2)]
    world.subscribe("shared", user="alice", keys=keys)  # same browser, signed in as alice
    assert world.active("alice") == {alices[1], shared}
    assert world.active("bob") == {bobs}


def test_an_anonymous_subscription_is_not_capped(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=1)
    endpoints = {world.subscribe(f"anonymous-{i}", user="") for i in range(3)}
    assert world.active("") == endpoints
    assert world.publisher.published == []


def test_every_device_over_the_cap_goes_at_once(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=5)
    endpoints = [world.subscribe(f"d{i}") for i in range(5)]
    world.repository.set_device_cap(world.app.app_id, 2)  # the app lowers its cap
    world.clock.advance(OVERRIDE_CACHE_SECONDS)
    newest = world.subscribe("d5")
    assert world.active() == {endpoints[-1], newest}
    assert len(world.publisher.published) == 4
    assert {e.detail["max_devices_per_user"] for e in world.publisher.published} == {2}


def test_the_apps_own_cap_wins_and_is_read_again_after_the_cache_time(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=2)
    assert world.repository.set_device_cap(world.app.app_id, 4) is True
    endpoints = [world.subscribe(f"d{i}") for i in range(4)]
    assert world.active() == set(endpoints)
    world.repository.set_device_cap(world.app.app_id, None)  # back to the deployment's 2 ...
    world.subscribe("d4", advance=1)  # ... but this container still holds 4 for a while
    assert len(world.active()) == 4
    world.clock.advance(OVERRIDE_CACHE_SECONDS)
    world.subscribe("d5")
    assert len(world.active()) == 2
    assert world.repository.set_device_cap("app_missing", 3) is False


def test_a_device_api_token_replacing_its_old_one_is_not_one_more(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=2)
    caller = world.caller()
    world.clock.advance(1)
    world.service.subscribe_device(caller, Registration(DeviceType.IOS, "ios-token-1", device_id="iphone"))
    other = world.subscribe("browser")
    world.clock.advance(1)
    world.service.subscribe_device(caller, Registration(DeviceType.IOS, "ios-token-2", device_id="iphone"))
    assert world.active() == {other, "ios-token-2"}
    assert world.publisher.published == []
    world.clock.advance(1)
    world.service.subscribe_device(caller, Registration(DeviceType.ANDROID, "android-token", device_id="pixel"))
    assert world.active() == {"ios-token-2", "android-token"}


def test_a_device_changed_since_it_was_read_is_not_evicted(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=3)
    endpoint = world.subscribe("d0")
    read = world.repository.get_device(world.app.app_id, token_hash(endpoint))
    world.subscribe("d0")  # registered again: a new version
    assert world.repository.evict_device(world.app.app_id, read.token_hash, "alice", read.version, 9) is False
    assert world.repository.evict_device(world.app.app_id, read.token_hash, "bob", read.version + 1, 9) is False
    assert world.repository.evict_device(world.app.app_id, read.token_hash, "alice", read.version + 1, 9) is True
    assert world.status(endpoint) is SubscriptionStatus.REMOVED


def test_a_failed_eviction_leaves_the_registration_done_and_is_counted(make_world) -> None:  # noqa: ANN001
    world = make_world(cap=1)
    first = world.subscribe("d0")

    def broken(*_: object) -> bool:
        raise RuntimeError("table unavailable")

    world.repository.evict_device = broken
    second = world.subscribe("d1")
    assert world.active() == {first, second}
    assert metric(NOT_ENFORCED_METRIC) == 1
    del world.repository.evict_device  # the next new device evicts everything over the cap
    third = world.subscribe("d2")
    assert world.active() == {third}


def test_the_evicted_event_matches_its_documented_schema() -> None:
    event = events.device_evicted("app1", "ios", token_hash("t1"), "alice", 20, token_hash("t2"), 5)
    envelope = {"version": "0", "id": "x", "detail-type": event.detail_type, "source": events.SOURCE, "account": "1",
                "time": "2026-12-03T10:00:00Z", "region": "us-east-1", "resources": [], "detail": event.detail}
    schema = json.loads((SCHEMAS / f"{events.DEVICE_EVICTED}.json").read_text())
    jsonschema.validate(envelope, schema)
    envelope["detail"]["token"] = "t1"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(envelope, schema)


def test_a_cap_below_one_is_refused() -> None:
    with pytest.raises(ValueError):
        DeviceCap(CapRepository(), 0)


@pytest.mark.parametrize("value", ["0", "-1", "1001", "two", "2.5"])
def test_the_cli_takes_a_cap_from_1_to_1000(value: str) -> None:
    from pushgate_cli.errors import UsageError
    from pushgate_cli.parser import parse_args

    with pytest.raises(UsageError):
        parse_args(["app", "limits", "--app", "app_x", "--devices", value])
    assert parse_args(["app", "limits", "--app", "app_x", "--devices", "1000"]).devices == 1000
    assert parse_args(["app", "limits", "--app", "app_x"]).devices is None
