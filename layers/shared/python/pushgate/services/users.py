"""A user's data across every surface (docs/api.md §3 `GET /me/devices`, §4 `/users/{user_id}`):
listing their subscriptions and devices, and erasing them (GDPR).

Erasure deletes rows, it does not soft-delete them: every device (a web subscription from any
surface, or a native device), its topic edges (each with its topic's count, in one transaction),
its device-id pointer, and every authenticated WebSocket connection record. Push records hold no
user and no token, only counts, so they stay. A user with many devices is erased over several
calls: each works for at most ERASE_BUDGET_SECONDS, then answers `complete: false`; every step is
conditional on the row still being that user's, so calling again (or retrying a call that failed
halfway) continues where the last one stopped and counts nothing twice."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pushgate.errors import InvalidCursor
from pushgate.models import App, Caller, Device, DeviceType
from pushgate.observability import app_metrics
from pushgate.pagination import decode_cursor, encode_cursor
from pushgate.repository import Repository
from pushgate.services.subscriptions import REMOVED_METRIC, device_pointer_hash
from pushgate.validation import check_user_id

SUBSCRIPTIONS_PAGE_SIZE = 100  # each listed device costs one more Query (its topics)
ERASE_PAGE_SIZE = 100
# The delete function's timeout is 30 s (template.yaml): a call stops starting new devices after
# this long, which leaves room for the one in progress (a handful of writes per topic it has).
ERASE_BUDGET_SECONDS = 20.0
ERASED_KINDS = ("subscriptions", "devices", "topics", "connections")


@dataclass(frozen=True)
class SubscriptionPage:
    subscriptions: list[tuple[Device, list[str]]]  # each device with its topics
    next_cursor: str | None


@dataclass(frozen=True)
class Erasure:
    removed: dict[str, int]  # subscriptions (web), devices (native), topics (edges), connections
    complete: bool  # False: the budget ran out first; call again


class UserService:
    def __init__(self, repository: Repository, clock: Callable[[], float] = time.time, erase_budget: float = ERASE_BUDGET_SECONDS) -> None:
        self._repository = repository
        self._clock = clock
        self._erase_budget = erase_budget

    # -- reading -------------------------------------------------------------------------------

    def subscriptions(self, app: App, user_id: object, cursor: object = None) -> SubscriptionPage:
        """The user's subscriptions of every surface and status, SUBSCRIPTIONS_PAGE_SIZE a page."""
        user = check_user_id(user_id)
        try:
            devices, last = self._repository.user_devices_page(app.app_id, user, SUBSCRIPTIONS_PAGE_SIZE, decode_cursor(cursor))
        except ValueError as error:
            raise InvalidCursor() from error
        # Only an active device has topic edges: removing or expiring one drops them.
        listed = [(d, self._repository.device_topics(app.app_id, d.token_hash) if d.active else []) for d in devices]
        return SubscriptionPage(listed, encode_cursor(last) if last else None)

    def my_devices(self, caller: Caller) -> list[Device]:
        """The caller's active devices (docs/api.md §3), oldest first."""
        devices = self._repository.user_devices(caller.app.app_id, caller.user_id)
        return sorted((d for d in devices if d.active), key=lambda d: (d.created_at, d.token_hash))

    # -- erasing -------------------------------------------------------------------------------

    def erase(self, app: App, user_id: object) -> Erasure:
        user = check_user_id(user_id)
        deadline = self._clock() + self._erase_budget
        removed: Counter[str] = Counter({kind: 0 for kind in ERASED_KINDS})
        for connection_id in self._repository.user_connection_ids(app.app_id, user):
            removed["connections"] += self._repository.delete_user_connection(app.app_id, user, connection_id)
        start = None
        while True:
            devices, last = self._repository.user_devices_page(app.app_id, user, ERASE_PAGE_SIZE, start)
            for device in devices:
                if self._clock() >= deadline:
                    return Erasure(dict(removed), complete=False)
                self._erase_device(app.app_id, user, device, removed)
            if last is None:
                return Erasure(dict(removed), complete=True)
            start = last

    def _erase_device(self, app_id: str, user: str, device: Device, removed: Counter[str]) -> None:
        """Retire, then the edges and the pointer, then the row: a call cut short anywhere leaves
        the device row in place, so the next call finds it and finishes."""
        if not self._repository.retire_user_device(app_id, device.token_hash, user, int(self._clock())):
            return  # gone already, or now another user's: not ours to erase
        if device.active:  # as read before the retirement: a call that goes on after a cut counts it once
            app_metrics.add(app_id, REMOVED_METRIC)
        for topic in self._repository.device_topics(app_id, device.token_hash):
            removed["topics"] += self._repository.remove_topic(app_id, device.token_hash, topic)
        if device.device_id is not None:
            pointer = device_pointer_hash(user, device.type, device.device_id)
            self._repository.delete_device_pointer(app_id, pointer, expected=device.token_hash)
        if self._repository.delete_user_device(app_id, device.token_hash, user):
            removed["subscriptions" if device.type is DeviceType.WEB else "devices"] += 1
