"""The stale sweep's week arithmetic, and the sweep on an in-memory index with the repository's
conditional semantics (docs/lifecycle.md)."""

from __future__ import annotations

from typing import Any

import pytest

from pushgate import keys
from pushgate.models import Device, DeviceType, SubscriptionStatus
from pushgate.repository.stale import (
    SEEN_BUCKET_SECONDS,
    bucket_start,
    buckets_wholly_before,
    device_of_pk,
    last_seen,
    seen_bucket,
    seen_index_keys,
)
from pushgate.services.stale_sweep import DAY_SECONDS, StaleSweepService
from tests.fakes import FakeClock

NOW = 1_795_449_600  # 2026-11-24
STALE_DAYS = 270
T = NOW - STALE_DAYS * DAY_SECONDS


# -- the week arithmetic --------------------------------------------------------------------------


def test_a_week_bucket_holds_exactly_its_seven_days() -> None:
    bucket = seen_bucket(NOW)
    assert bucket_start(bucket) <= NOW < bucket_start(bucket + 1)
    assert bucket_start(bucket + 1) - bucket_start(bucket) == SEEN_BUCKET_SECONDS == 7 * DAY_SECONDS
    assert seen_bucket(bucket_start(bucket)) == bucket and seen_bucket(bucket_start(bucket) - 1) == bucket - 1


@pytest.mark.parametrize("offset", [0, 1, SEEN_BUCKET_SECONDS - 1])
def test_the_buckets_below_the_cut_hold_only_stamps_before_the_instant(offset: int) -> None:
    instant = bucket_start(seen_bucket(T)) + offset
    end = buckets_wholly_before(instant)
    assert bucket_start(end) <= instant  # every stamp of a bucket below `end` is before the instant
    assert bucket_start(end + 1) > instant  # and `end` itself is not wholly before it


def test_the_index_keys_name_the_week_and_the_device_row() -> None:
    index = seen_index_keys("app_1", "abc-_Z", NOW)
    assert index == {"GSI2PK": f"SEEN#{seen_bucket(NOW)}", "GSI2SK": keys.device_pk("app_1", "abc-_Z")}
    assert device_of_pk(index["GSI2SK"]) == ("app_1", "abc-_Z")


def test_last_seen_is_the_latest_of_the_registration_and_the_success_stamps() -> None:
    device = make_device("a", stamp=T - 100)
    assert last_seen(device, []) == T - 100
    assert last_seen(device, [{"topic": "x", "last_success_at": T + 5}, {"topic": "y"}]) == T + 5
    never_delivered = make_device("b", stamp=None).model_copy(update={"updated_at": T - 7})
    assert last_seen(never_delivered, []) == T - 7  # an active row's updated_at is its last registration
    assert last_seen(never_delivered.model_copy(update={"updated_at": T + 9}), [{"topic": "x", "last_success_at": T}]) == T + 9


# -- the sweep ------------------------------------------------------------------------------------


def make_device(name: str, stamp: int | None, status: SubscriptionStatus = SubscriptionStatus.ACTIVE) -> Device:
    return Device(
        app_id="app_1", token_hash=f"hash-{name}", token=f"https://push.example/{name}", type=DeviceType.WEB,
        user_id="u", status=status, subscription_id=1, created_at=T - 400 * DAY_SECONDS, updated_at=T - 400 * DAY_SECONDS,
        version=3, last_success_at=stamp,
    )


class IndexedDevices:
    """Device rows, topic edges and the week index, with the repository's conditions: writes
    that find the device changed since it was read do nothing and say so. Offers no way to list
    every device: the sweep can only ask for a week's page."""

    def __init__(self) -> None:
        self.devices: dict[str, Device] = {}
        self.edges: dict[str, dict[str, dict[str, Any]]] = {}
        self.index: dict[str, int] = {}  # token hash -> week
        self.pages_read: list[int] = []
        self.removed_edges: list[tuple[str, str]] = []

    def add(self, device: Device, indexed_at: int | None = None, edges: dict[str, int | None] | None = None) -> None:
        self.devices[device.token_hash] = device
        self.index[device.token_hash] = seen_bucket(indexed_at if indexed_at is not None else device.last_success_at or 0)
        self.edges[device.token_hash] = {topic: {"topic": topic, "last_success_at": stamp} for topic, stamp in (edges or {}).items()}

    def seen_bucket_page(self, bucket: int, start: dict | None, limit: int = 500) -> tuple[list[tuple[str, str]], dict | None]:
        self.pages_read.append(bucket)
        # As DynamoDB pages: from after the last key returned, whatever left the index meanwhile.
        hashes = sorted(th for th, week in self.index.items() if week == bucket and (start is None or th > start["after"]))
        page = hashes[:limit]
        more = {"after": page[-1]} if len(hashes) > limit else None
        return [(self.devices[th].app_id, th) for th in page], more

    def device_with_edges(self, app_id: str, token_hash: str) -> tuple[Device | None, list[dict[str, Any]]]:
        return self.devices.get(token_hash), list(self.edges.get(token_hash, {}).values())

    def _unchanged(self, device: Device) -> bool:
        current = self.devices.get(device.token_hash)
        return current is not None and current.active and current.version == device.version

    def restamp_seen(self, device: Device, stamp: int) -> bool:
        if not self._unchanged(device):
            return False
        self.devices[device.token_hash] = device.model_copy(update={"last_success_at": stamp})
        self.index[device.token_hash] = seen_bucket(stamp)
        return True

    def expire_stale_device(self, device: Device, now: int) -> bool:
        if not self._unchanged(device):
            return False
        self.devices[device.token_hash] = device.model_copy(update={"status": SubscriptionStatus.EXPIRED, "updated_at": now, "version": device.version + 1})
        del self.index[device.token_hash]
        return True

    def unindex_inactive(self, app_id: str, token_hash: str) -> bool:
        if self.devices[token_hash].active or token_hash not in self.index:
            return False
        del self.index[token_hash]
        return True

    def remove_topic(self, app_id: str, token_hash: str, topic: str) -> bool:
        self.removed_edges.append((token_hash, topic))
        return self.edges[token_hash].pop(topic, None) is not None


@pytest.fixture
def world() -> IndexedDevices:
    return IndexedDevices()


def sweep(world: IndexedDevices, **options: Any) -> Any:
    return StaleSweepService(world, STALE_DAYS, FakeClock(NOW), **options).sweep()  # type: ignore[arg-type]


def test_a_device_not_seen_for_the_stale_period_is_expired_with_its_topic_edges(world: IndexedDevices) -> None:
    world.add(make_device("old", stamp=T - 30 * DAY_SECONDS), edges={"news": T - 40 * DAY_SECONDS, "sport": None})
    report = sweep(world)
    assert world.devices["hash-old"].status is SubscriptionStatus.EXPIRED and "hash-old" not in world.index
    assert world.edges["hash-old"] == {} and sorted(world.removed_edges) == [("hash-old", "news"), ("hash-old", "sport")]
    assert (report.reviewed, report.expired, report.edges_removed, report.kept, report.complete) == (1, 1, 2, 0, True)


def test_a_fresh_device_is_not_even_read(world: IndexedDevices) -> None:
    world.add(make_device("fresh", stamp=NOW - DAY_SECONDS))
    report = sweep(world)
    assert report.reviewed == 0 and world.devices["hash-fresh"].active
    assert max(world.pages_read) < seen_bucket(T)  # only weeks wholly before T were queried


def test_a_device_seen_through_a_topic_edge_is_kept_and_moved_to_that_week(world: IndexedDevices) -> None:
    world.add(make_device("via-topic", stamp=T - 50 * DAY_SECONDS), edges={"news": NOW - 3 * DAY_SECONDS})
    report = sweep(world)
    assert world.devices["hash-via-topic"].active and world.devices["hash-via-topic"].last_success_at == NOW - 3 * DAY_SECONDS
    assert world.index["hash-via-topic"] == seen_bucket(NOW - 3 * DAY_SECONDS)
    assert (report.kept, report.expired) == (1, 0)
    assert sweep(world).reviewed == 0  # out of the old weeks: the next run does not read it again


def test_a_device_whose_row_was_stamped_by_a_delivery_is_kept(world: IndexedDevices) -> None:
    """A delivery by token or user stamps the row without moving its index week."""
    world.add(make_device("by-token", stamp=NOW - DAY_SECONDS), indexed_at=T - 60 * DAY_SECONDS)
    report = sweep(world)
    assert (report.reviewed, report.kept, report.expired) == (1, 1, 0)
    assert world.index["hash-by-token"] == seen_bucket(NOW - DAY_SECONDS)


def test_an_inactive_device_is_taken_out_of_the_index_not_expired(world: IndexedDevices) -> None:
    world.add(make_device("removed", stamp=T - 90 * DAY_SECONDS, status=SubscriptionStatus.REMOVED))
    report = sweep(world)
    assert world.devices["hash-removed"].status is SubscriptionStatus.REMOVED and "hash-removed" not in world.index
    assert (report.unindexed, report.expired) == (1, 0)


def test_a_device_re_subscribed_while_it_was_reviewed_stays_active(world: IndexedDevices) -> None:
    world.add(make_device("racing", stamp=T - 10 * DAY_SECONDS))
    read = world.device_with_edges

    def read_then_re_subscribe(app_id: str, token_hash: str) -> tuple[Device | None, list]:
        seen = read(app_id, token_hash)
        current = world.devices[token_hash]  # a registration: a new version, updated now
        world.devices[token_hash] = current.model_copy(update={"version": current.version + 1, "updated_at": NOW})
        return seen

    world.device_with_edges = read_then_re_subscribe  # type: ignore[method-assign]
    report = sweep(world)
    assert world.devices["hash-racing"].active and report.expired == 0


def test_a_stamp_in_the_week_of_the_cut_waits_for_that_week_to_be_wholly_stale(world: IndexedDevices) -> None:
    """Weeks are reviewed once wholly before T: a device expires between StaleAfterDays and a week later."""
    in_cut_week = bucket_start(seen_bucket(T))
    world.add(make_device("edge-week", stamp=in_cut_week))
    assert sweep(world).expired == 0
    later = StaleSweepService(world, STALE_DAYS, FakeClock(NOW + SEEN_BUCKET_SECONDS)).sweep()  # type: ignore[arg-type]
    assert later.expired == 1


def test_every_page_of_a_week_is_read(world: IndexedDevices) -> None:
    for i in range(7):
        world.add(make_device(f"d{i}", stamp=T - 20 * DAY_SECONDS))
    report = sweep(world, page_size=3)
    assert report.expired == 7 and world.pages_read.count(seen_bucket(T - 20 * DAY_SECONDS)) == 3


def test_a_run_told_to_stop_reports_incomplete_and_the_next_run_finishes(world: IndexedDevices) -> None:
    for i in range(5):
        world.add(make_device(f"d{i}", stamp=T - (i + 1) * SEEN_BUCKET_SECONDS))
    calls = iter(range(1000))
    report = StaleSweepService(world, STALE_DAYS, FakeClock(NOW)).sweep(should_stop=lambda: next(calls) >= 100)  # type: ignore[arg-type]
    assert not report.complete and report.expired < 5
    assert sweep(world).expired == 5 - report.expired


def test_the_lookback_bounds_the_weeks_queried(world: IndexedDevices) -> None:
    report = sweep(world, lookback_buckets=10)
    assert world.pages_read == list(range(seen_bucket(T) - 10, seen_bucket(T)))
    assert (report.first_bucket, report.end_bucket) == (seen_bucket(T) - 10, seen_bucket(T))


def test_stale_after_days_must_be_positive(world: IndexedDevices) -> None:
    with pytest.raises(ValueError):
        StaleSweepService(world, 0)  # type: ignore[arg-type]
