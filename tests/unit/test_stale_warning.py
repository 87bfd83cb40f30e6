"""StaleWarningPush (docs/lifecycle.md): the sweep warns, once, each device that will expire within
WARNING_DAYS, with a push per app of its tokens; on the in-memory week index of
tests/unit/test_stale_sweep.py, with the mark's conditional semantics added."""

from __future__ import annotations

import pytest

from pushgate.models import Device
from pushgate.repository.stale import bucket_start, seen_bucket
from pushgate.services.stale_sweep import DAY_SECONDS, MAX_TOKENS_PER_PUSH, WARNING_DAYS, StaleSweepService
from tests.fakes import FakeClock
from tests.unit.test_stale_sweep import NOW, STALE_DAYS, T, IndexedDevices, make_device

WARN_BEFORE = T + WARNING_DAYS * DAY_SECONDS
# Last seen after T, in the last week wholly before WARN_BEFORE: the run at NOW warns it (weeks are
# reviewed once wholly before the cut, so a device is warned 7 daily runs before the one expiring it).
EXPIRING = (T + bucket_start(seen_bucket(WARN_BEFORE))) // 2


class WarnedDevices(IndexedDevices):
    """The index, and the row's expiry_warned_for mark, written only if it differs."""

    def __init__(self) -> None:
        super().__init__()
        self.warned_for: dict[str, int] = {}

    def mark_expiry_warned(self, device: Device, seen: int) -> bool:
        current = self.devices.get(device.token_hash)
        if current is None or not current.active or current.version != device.version or self.warned_for.get(device.token_hash) == seen:
            return False
        self.warned_for[device.token_hash] = seen
        return True


class Pushes:
    """The `warn` callable: records each push (app, tokens) it is asked to make."""

    def __init__(self, fail: bool = False) -> None:
        self.made: list[tuple[str, list[str]]] = []
        self._fail = fail

    def __call__(self, app_id: str, tokens: list[str]) -> str:
        if self._fail:
            raise RuntimeError("queue unavailable")
        self.made.append((app_id, list(tokens)))
        return f"push-{len(self.made)}"


def sweep(world: WarnedDevices, pushes: Pushes | None, now: float = NOW):  # noqa: ANN201
    return StaleSweepService(world, STALE_DAYS, FakeClock(now), warn=pushes).sweep()  # type: ignore[arg-type]


@pytest.fixture
def world() -> WarnedDevices:
    return WarnedDevices()


def test_a_device_expiring_within_the_week_is_warned_once_and_the_others_are_not(world: WarnedDevices) -> None:
    world.add(make_device("expiring", stamp=EXPIRING))
    world.add(make_device("fresh", stamp=WARN_BEFORE + DAY_SECONDS))  # seen after the warning's cut
    world.add(make_device("stale", stamp=T - 30 * DAY_SECONDS))  # stale already: expired, not warned
    pushes = Pushes()
    report = sweep(world, pushes)
    assert pushes.made == [("app_1", ["https://push.example/expiring"])]
    assert (report.warned, report.expired) == (1, 1)
    assert world.devices["hash-expiring"].active and world.devices["hash-fresh"].active
    again = sweep(world, pushes, now=NOW + DAY_SECONDS)  # the next day's run
    assert again.warned == 0 and len(pushes.made) == 1


def test_a_warned_device_is_expired_by_the_seventh_daily_run_after_its_warning(world: WarnedDevices) -> None:
    world.add(make_device("counted", stamp=EXPIRING))
    first_run = bucket_start(seen_bucket(EXPIRING) + 1) + (STALE_DAYS - WARNING_DAYS) * DAY_SECONDS
    pushes = Pushes()
    assert sweep(world, pushes, now=first_run - 1).warned == 0  # its week not yet wholly before the cut
    assert sweep(world, pushes, now=first_run).warned == 1
    for day in range(1, WARNING_DAYS):
        report = sweep(world, pushes, now=first_run + day * DAY_SECONDS)
        assert (report.expired, report.warned) == (0, 0) and world.devices["hash-counted"].active
    assert sweep(world, pushes, now=first_run + WARNING_DAYS * DAY_SECONDS).expired == 1
    assert len(pushes.made) == 1


def test_a_device_seen_again_is_warned_again_when_it_nears_expiry_again(world: WarnedDevices) -> None:
    world.add(make_device("returning", stamp=EXPIRING))
    pushes = Pushes()
    sweep(world, pushes)
    later = NOW + 200 * DAY_SECONDS
    seen_again = NOW + 5 * DAY_SECONDS  # a delivery or registration after the warning
    world.devices["hash-returning"] = world.devices["hash-returning"].model_copy(update={"last_success_at": seen_again})
    world.index["hash-returning"] = seen_bucket(seen_again)
    assert sweep(world, pushes, now=later).warned == 0  # seen 195 days ago: not near expiry
    nearly = bucket_start(seen_bucket(seen_again) + 1) + (STALE_DAYS - WARNING_DAYS) * DAY_SECONDS
    assert sweep(world, pushes, now=nearly).warned == 1
    assert [tokens for _, tokens in pushes.made] == [["https://push.example/returning"]] * 2


def test_without_the_setting_nothing_is_warned_and_only_the_stale_weeks_are_read(world: WarnedDevices) -> None:
    world.add(make_device("expiring", stamp=EXPIRING))
    report = sweep(world, None)
    assert report.warned == 0 and world.warned_for == {}
    assert max(world.pages_read) == seen_bucket(T) - 1


def test_the_warning_weeks_are_read_up_to_a_week_past_the_cut(world: WarnedDevices) -> None:
    report = sweep(world, Pushes())
    assert report.end_bucket == seen_bucket(WARN_BEFORE)
    assert world.pages_read[-1] == seen_bucket(WARN_BEFORE) - 1


def test_a_kept_device_indexed_in_an_old_week_is_moved_and_warned(world: WarnedDevices) -> None:
    # Registered long ago, delivered to through a topic 265 days ago: its week says older than it is.
    world.add(make_device("topic-reader", stamp=None), indexed_at=T - 100 * DAY_SECONDS, edges={"news": EXPIRING})
    pushes = Pushes()
    report = sweep(world, pushes)
    assert (report.kept, report.warned) == (1, 1)
    assert world.index["hash-topic-reader"] == seen_bucket(EXPIRING)


def test_a_device_in_the_week_of_the_cut_is_not_moved_to_its_own_week(world: WarnedDevices) -> None:
    assert seen_bucket(EXPIRING) == seen_bucket(T)  # the week of the cut: the warning range's first
    world.add(make_device("in-place", stamp=EXPIRING))
    report = sweep(world, Pushes())
    assert (report.kept, report.warned) == (0, 1)


def test_one_push_per_app_and_per_ten_thousand_tokens(world: WarnedDevices) -> None:
    for i in range(MAX_TOKENS_PER_PUSH + 1):
        world.add(make_device(f"a{i:05d}", stamp=EXPIRING))
    other = make_device("other-app", stamp=EXPIRING).model_copy(update={"app_id": "app_2"})
    world.add(other)
    pushes = Pushes()
    report = sweep(world, pushes)
    assert sorted((app, len(tokens)) for app, tokens in pushes.made) == [("app_1", 1), ("app_1", MAX_TOKENS_PER_PUSH), ("app_2", 1)]
    assert report.warned == MAX_TOKENS_PER_PUSH + 2


def test_a_push_that_cannot_be_made_is_counted_and_not_retried(world: WarnedDevices) -> None:
    world.add(make_device("expiring", stamp=EXPIRING))
    report = sweep(world, Pushes(fail=True))
    assert (report.warned, report.warnings_not_sent) == (0, 1)
    working = Pushes()
    assert sweep(world, working, now=NOW + DAY_SECONDS).warned == 0 and working.made == []  # at most once


def test_a_device_changed_since_it_was_read_is_not_warned(world: WarnedDevices) -> None:
    world.add(make_device("racing", stamp=EXPIRING))
    read = world.device_with_edges

    def read_then_re_subscribe(app_id: str, token_hash: str):  # noqa: ANN202
        seen = read(app_id, token_hash)
        current = world.devices[token_hash]
        world.devices[token_hash] = current.model_copy(update={"version": current.version + 1, "updated_at": NOW})
        return seen

    world.device_with_edges = read_then_re_subscribe  # type: ignore[method-assign]
    assert sweep(world, Pushes()).warned == 0


def test_a_warning_needs_a_stale_period_longer_than_its_week(world: WarnedDevices) -> None:
    with pytest.raises(ValueError):
        StaleSweepService(world, WARNING_DAYS, warn=Pushes())  # type: ignore[arg-type]
