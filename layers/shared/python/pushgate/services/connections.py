"""WebSocket connections (docs/api.md §1): opened with the app's public key, authenticated with a
session id or user JWT, at connect or later with the `auth` command."""

from __future__ import annotations

import time
from collections.abc import Callable

from pushgate.credentials import Authenticator
from pushgate.errors import Unauthenticated
from pushgate.models import App, Caller, Connection
from pushgate.repository import Repository

# API Gateway closes WebSocket connections after 2 hours; the row outlives that a little so a
# late $disconnect still finds it, then TTL sweeps rows whose $disconnect never came.
CONNECTION_LIFETIME_SECONDS = 2 * 3600 + 300


class ConnectionService:
    def __init__(self, repository: Repository, authenticator: Authenticator, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._authenticator = authenticator
        self._clock = clock

    def connect(self, connection_id: str, public_key: object, token: object) -> Connection:
        """Refuse (Unauthenticated) without a valid app key; a bad or missing token still connects,
        unauthenticated."""
        app = self._authenticator.app_for_public_key(public_key)
        user_id = None
        if token:
            try:
                user_id = self._authenticator.caller_for_token(app, token).user_id
            except Unauthenticated:
                user_id = None
        now = int(self._clock())
        connection = Connection(connection_id=connection_id, app_id=app.app_id, user_id=user_id, connected_at=now,
                                expires_at=now + CONNECTION_LIFETIME_SECONDS)
        self._repository.put_connection(connection)
        return connection

    def app_of(self, connection_id: str) -> tuple[Connection, App]:
        connection = self._repository.get_connection(connection_id)
        app = self._repository.get_app(connection.app_id) if connection else None
        if connection is None or app is None:
            raise Unauthenticated()
        return connection, app

    def authenticate(self, connection_id: str, token: object) -> Caller:
        _, app = self.app_of(connection_id)
        caller = self._authenticator.caller_for_token(app, token)
        if not self._repository.set_connection_user(connection_id, caller.user_id):
            raise Unauthenticated()
        return caller

    def caller(self, connection_id: str) -> Caller:
        """The authenticated user of the connection, or Unauthenticated."""
        connection, app = self.app_of(connection_id)
        if connection.user_id is None:
            raise Unauthenticated()
        return Caller(app=self._authenticator.admit(app), user_id=connection.user_id)

    def disconnect(self, connection_id: str) -> None:
        self._repository.delete_connection(connection_id)
