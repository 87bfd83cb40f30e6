"""Sessions, stored under the hash of their id."""

from __future__ import annotations

from pushgate import keys
from pushgate.models import Session
from pushgate.repository.base import RepositoryBase


class SessionsMixin(RepositoryBase):
    # -- sessions ----------------------------------------------------------------------------

    def put_session(self, session_hash: str, session: Session) -> None:
        item = {"PK": keys.session_pk(session_hash), "SK": "SESSION", "entity": "Session", **session.model_dump(mode="json")}
        # expires_at is also the table's TTL attribute: DynamoDB sweeps expired sessions.
        self._put_if_absent(item)

    def get_session(self, session_hash: str) -> Session | None:
        item = self._get(keys.session_pk(session_hash), "SESSION", consistent=False)
        return Session.model_validate(item) if item else None
