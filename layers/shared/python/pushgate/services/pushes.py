"""POST /push, GET /pushes/{id}, DELETE /pushes/{id} (docs/api.md §4): validate, record, enqueue."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from pushgate.errors import NotFound
from pushgate.models import App
from pushgate.observability import app_metrics
from pushgate.pushes import PUSH_ID_LENGTH, FanoutMessage, Push, parse_push_request
from pushgate.queues import Queue
from pushgate.repository import Repository

# Push records outlive their longest possible delivery by a week, then TTL removes them.
RECORD_RETENTION_SECONDS = 7 * 86_400
CREATED_METRIC = "PushesCreated"  # per app (observability.AppMetrics): pushes accepted and queued


def new_push_id() -> str:
    return secrets.token_hex(PUSH_ID_LENGTH // 2)


class PushService:
    def __init__(self, repository: Repository, fanout_queue: Queue | None, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._fanout = fanout_queue
        self._clock = clock

    def create(self, app: App, body: dict[str, Any], counts_as_seen: bool = True) -> str:
        """Checks everything (payload size included) before anything is queued. A push that does
        not `count_as_seen` (the expiry warning) leaves the devices' last-seen stamps alone."""
        if self._fanout is None:
            raise RuntimeError("this function has no fan-out queue to send to")
        request = parse_push_request(body)
        push_id, clock = new_push_id(), self._clock()
        now = int(clock)
        push = Push(
            push_id=push_id,
            app_id=app.app_id,
            created_at=now,
            created_at_ms=int(clock * 1000),
            time_to_live=request.time_to_live,
            urgency=request.urgency,
            collapse_key=request.collapse_key,
            skip_online=request.skip_online,
            counts_as_seen=counts_as_seen,
            payload=request.payload(push_id),
            fanout_pending=len(request.targets),
        )
        self._repository.create_push(push, expires_at=now + request.time_to_live + RECORD_RETENTION_SECONDS)
        self._fanout.send([FanoutMessage(push_id=push_id, app_id=app.app_id, target=target) for target in request.targets])
        app_metrics.add(app.app_id, CREATED_METRIC)
        return push_id

    def get(self, app: App, push_id: str) -> Push:
        push = self._repository.get_push(push_id) if push_id.isalnum() and len(push_id) <= 64 else None
        if push is None or push.app_id != app.app_id:
            raise NotFound("push")
        return push

    def cancel(self, app: App, push_id: str) -> None:
        """Whatever is not yet sent will not be: the fan-out and the sender check before each batch."""
        if not (push_id.isalnum() and len(push_id) <= 64 and self._repository.cancel_push(app.app_id, push_id)):
            raise NotFound("push")
