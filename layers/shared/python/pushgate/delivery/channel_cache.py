"""The senders' view of an app's channels: channels change only when a key is rotated or a
channel added or removed, so each is read once per container and CACHE_SECONDS, not once per batch.
A missing channel is not remembered: one added again is used at the next batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pushgate.models import Channel
from pushgate.repository import Repository

CACHE_SECONDS = 300  # as long as the private key's own cache (Powertools parameters)


class ChannelCache:
    """Thread-safe: the messages of an invocation are processed side by side."""

    def __init__(self, repository: Repository, seconds: float = CACHE_SECONDS, clock: Callable[[], float] = time.monotonic) -> None:
        self._repository = repository
        self._seconds = seconds
        self._clock = clock
        self._channels: dict[tuple[str, str], tuple[float, Channel]] = {}
        self._lock = threading.Lock()

    def get(self, app_id: str, channel_id: str) -> Channel | None:
        with self._lock:
            cached = self._channels.get((app_id, channel_id))
        if cached is not None and self._clock() - cached[0] < self._seconds:
            return cached[1]
        channel = self._repository.get_channel(app_id, channel_id)
        if channel is not None:
            with self._lock:
                self._channels[(app_id, channel_id)] = (self._clock(), channel)
        return channel
