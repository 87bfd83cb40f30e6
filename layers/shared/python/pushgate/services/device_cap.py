"""The cap on a user's devices (docs/limits.md "Devices per user"): when a user registers one
device more than their app allows, the least recently registered ones are evicted, so the user
keeps at most the cap.

It runs only when a registration makes a device active for its user (new, reactivated, or moved
to them): a re-registration of a device the user already holds changes no count and costs
nothing. Then it reads the user's devices once (pattern 11: one Query on GSI1, paged) and evicts
every one beyond the cap, oldest first, not just one: a user left over the cap by a race, or by a
registration whose eviction failed, is brought back to the cap by their next new device.

"Oldest" is the least recently registered: an active row's `updated_at` is its last registration
(to the second), and within one second the one created first (its `subscription_id`, a counter)
goes first. An eviction is an unsubscribe (status REMOVED, topic edges removed), conditional on the
version read, so a device re-registered meanwhile is not evicted. Each eviction is announced on the
event bus as `pushgate.device.evicted` (docs/events.md) when the function has one."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pushgate.events import EventPublisher, device_evicted
from pushgate.models import Device
from pushgate.observability import logger, metrics, metrics_lock

OVERRIDE_CACHE_SECONDS = 30  # as long as the authenticator caches the app record
EVICTED_METRIC = "DevicesEvicted"
NOT_ENFORCED_METRIC = "DeviceCapNotEnforced"


def eviction_order(device: Device) -> tuple[int, int]:
    """Least recently registered first."""
    return device.updated_at, device.subscription_id


class DeviceCap:
    """`repository` offers user_devices, device_cap_override, evict_device, device_topics and
    remove_topic (pushgate.repository); `events` is called only when there is an eviction to
    announce, so a function that never evicts never builds an EventBridge client."""

    def __init__(
        self,
        repository: Any,
        default_cap: int,
        events: Callable[[], EventPublisher | None] = lambda: None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if default_cap < 1:
            raise ValueError("a device cap is at least 1")
        self._repository = repository
        self._default_cap = default_cap
        self._events = events
        self._clock = clock
        self._overrides: dict[str, tuple[int | None, float]] = {}

    def cap_for(self, app_id: str) -> int:
        """The app's own cap (cached OVERRIDE_CACHE_SECONDS per container), else the deployment's."""
        now = self._clock()
        cached = self._overrides.get(app_id)
        if cached is None or now - cached[1] >= OVERRIDE_CACHE_SECONDS:
            cached = (self._repository.device_cap_override(app_id), now)
            self._overrides[app_id] = cached
        return cached[0] if cached[0] is not None else self._default_cap

    def enforce(self, registered: Device, gone: Collection[str] = ()) -> list[Device]:
        """After `registered` became active for its user: evict what is over the cap. `gone`: token
        hashes the caller has just removed, which the index may still show active. Returns the
        devices evicted. Never raises: the registration is done, and the next one evicts again."""
        if not registered.user_id:
            return []  # an anonymous subscription belongs to nobody's count
        try:
            return self._evict_over_cap(registered, set(gone))
        except Exception:  # noqa: BLE001 - the registration stands; the next new device retries the cap
            logger.exception("device cap not enforced", extra={"app_id": registered.app_id, "token_hash": registered.token_hash})
            with metrics_lock:
                metrics.add_metric(name=NOT_ENFORCED_METRIC, unit=MetricUnit.Count, value=1)
            return []

    def _evict_over_cap(self, registered: Device, gone: set[str]) -> list[Device]:
        app_id, user_id = registered.app_id, registered.user_id
        cap = self.cap_for(app_id)
        # The index is eventually consistent: the device just registered counts whatever it shows.
        others = [
            device
            for device in self._repository.user_devices(app_id, user_id)
            if device.active and device.user_id == user_id and device.token_hash != registered.token_hash and device.token_hash not in gone
        ]
        excess = len(others) + 1 - cap
        if excess <= 0:
            return []
        now = int(self._clock())
        evicted = [device for device in sorted(others, key=eviction_order)[:excess] if self._evict(device, now)]
        if evicted:
            with metrics_lock:
                metrics.add_metric(name=EVICTED_METRIC, unit=MetricUnit.Count, value=len(evicted))
            logger.info("devices evicted over the per-user cap", extra={"app_id": app_id, "evicted": len(evicted), "cap": cap})
            publisher = self._events()
            if publisher is not None:
                publisher.publish(
                    [device_evicted(app_id, d.type.value, d.token_hash, user_id, cap, registered.token_hash, now) for d in evicted]
                )
        return evicted

    def _evict(self, device: Device, now: int) -> bool:
        if not self._repository.evict_device(device.app_id, device.token_hash, device.user_id, device.version, now):
            return False  # re-registered, removed or moved since it was read: not ours to evict
        for topic in self._repository.device_topics(device.app_id, device.token_hash):
            self._repository.remove_topic(device.app_id, device.token_hash, topic)
        return True
