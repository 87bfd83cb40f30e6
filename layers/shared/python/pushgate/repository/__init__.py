"""The one package that speaks DynamoDB: every key, condition and update expression lives here.

Writes that could race are conditional: creations use attribute_not_exists, and changes to a
subscription are guarded by its `version` (optimistic concurrency), so two clients registering
the same endpoint at once can never both win on stale reads.

Each aggregate has its own module, which alone holds its keys, conditions and expressions: apps
(with their keys, accounts and channels), sessions, devices (with their device-id pointers and
delivery state), topics, connections, pushes, the stale-subscription index (`stale`), the
per-user device cap (`device_cap`) and a user's rows across aggregates (`users`); `base` holds what
they share. `Repository` puts them together, so callers keep one object.

`ConditionFailed` and `subscribed_ms` are re-exported: import them from here."""

from __future__ import annotations

from pushgate.repository.apps import AppsMixin
from pushgate.repository.base import ConditionFailed
from pushgate.repository.connections import ConnectionsMixin
from pushgate.repository.device_cap import DeviceCapMixin
from pushgate.repository.devices import DevicesMixin
from pushgate.repository.exports import ExportsMixin
from pushgate.repository.limits import LimitsMixin
from pushgate.repository.pushes import PushesMixin
from pushgate.repository.sessions import SessionsMixin
from pushgate.repository.stale import StaleMixin
from pushgate.repository.topics import TopicsMixin, subscribed_ms
from pushgate.repository.users import UsersMixin

__all__ = ["ConditionFailed", "Repository", "subscribed_ms"]


class Repository(AppsMixin, SessionsMixin, DevicesMixin, TopicsMixin, ConnectionsMixin, PushesMixin, StaleMixin, UsersMixin, ExportsMixin, LimitsMixin, DeviceCapMixin):
    """Every aggregate's reads and writes on the one table; `Repository(client, table_name)`."""
