"""The senders' channel cache: one read per channel per window, a missing channel never remembered."""

from __future__ import annotations

from pushgate.delivery.channel_cache import ChannelCache
from pushgate.models import Channel, ChannelType


class CountingRepository:
    def __init__(self) -> None:
        self.channels: dict[tuple[str, str], Channel] = {}
        self.reads = 0

    def get_channel(self, app_id: str, channel_id: str) -> Channel | None:
        self.reads += 1
        return self.channels.get((app_id, channel_id))


def test_a_channel_is_read_once_per_window_and_again_after_it() -> None:
    repository, now = CountingRepository(), [0.0]
    channel = Channel(channel_id="c1", app_id="a", type=ChannelType.FCM, created_at=1, fcm_project_id="p")
    repository.channels[("a", "c1")] = channel
    cache = ChannelCache(repository, seconds=300, clock=lambda: now[0])  # type: ignore[arg-type]
    assert [cache.get("a", "c1") for _ in range(3)] == [channel] * 3 and repository.reads == 1
    now[0] = 299.0
    cache.get("a", "c1")
    assert repository.reads == 1
    now[0] = 300.0
    cache.get("a", "c1")
    assert repository.reads == 2


def test_a_missing_channel_is_read_again_so_one_added_is_used_at_once() -> None:
    repository = CountingRepository()
    cache = ChannelCache(repository, clock=lambda: 0.0)  # type: ignore[arg-type]
    assert cache.get("a", "c1") is None and cache.get("a", "c1") is None and repository.reads == 2
    channel = Channel(channel_id="c1", app_id="a", type=ChannelType.APNS, created_at=1)
    repository.channels[("a", "c1")] = channel
    assert cache.get("a", "c1") == channel
