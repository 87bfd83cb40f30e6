"""Sessions: opaque ids bound to (app, user) with an expiry, stored only as a hash."""

from __future__ import annotations

import time
from collections.abc import Callable

from pushgate import identifiers
from pushgate.errors import InvalidValue
from pushgate.models import App, Session
from pushgate.repository import Repository
from pushgate.validation import check_user_id

DEFAULT_SESSION_TTL = 86_400
MIN_SESSION_TTL = 60
MAX_SESSION_TTL = 30 * 86_400


def check_ttl(value: object) -> int:
    if value is None:
        return DEFAULT_SESSION_TTL
    if isinstance(value, bool) or not isinstance(value, int) or not MIN_SESSION_TTL <= value <= MAX_SESSION_TTL:
        raise InvalidValue("ttl", f"an integer from {MIN_SESSION_TTL} to {MAX_SESSION_TTL}")
    return value


class SessionService:
    def __init__(self, repository: Repository, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._clock = clock

    def create(self, app: App, user_id: object, ttl: object = None) -> tuple[str, Session]:
        session = Session(
            app_id=app.app_id,
            user_id=check_user_id(user_id),
            account_id=app.account_id,
            expires_at=int(self._clock()) + check_ttl(ttl),
        )
        session_id = identifiers.new_session_id()
        self._repository.put_session(identifiers.credential_hash(session_id), session)
        return session_id, session
