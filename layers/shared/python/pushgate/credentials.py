"""Who is calling: API keys, sessions and RS256 user JWTs (docs/api.md §0).

Keys and session ids are looked up by their SHA-256, so nothing usable is stored; user JWTs are
verified with the app's registered public keys, RS256 only.

Each method a handler calls to authenticate its caller ends with `admit(app)`: the request is
counted against the app's rate limit (pushgate.services.limits) once, and only once the caller is
known; the public key alone (app_for_public_key) admits nothing."""

from __future__ import annotations

import time
from collections.abc import Callable

import jwt

from pushgate.errors import Forbidden, PushgateError, Unauthenticated
from pushgate.identifiers import credential_hash
from pushgate.models import App, Caller, Session
from pushgate.repository import Repository
from pushgate.validation import check_user_id

JWT_LEEWAY_SECONDS = 60


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class Authenticator:
    def __init__(self, repository: Repository, clock: Callable[[], float] = time.time, app_cache_seconds: float = 30.0,
                 on_admitted: Callable[[App], None] | None = None) -> None:
        self._repository = repository
        self._clock = clock
        self._cache_seconds = app_cache_seconds
        self._apps: dict[str, tuple[float, App]] = {}
        self._on_admitted = on_admitted

    def admit(self, app: App) -> App:
        """The caller is authenticated as the app or one of its users: count the request (RateLimited
        when the app is over its rate)."""
        if self._on_admitted is not None:
            self._on_admitted(app)
        return app

    def _admitted(self, caller: Caller) -> Caller:
        self.admit(caller.app)
        return caller

    def _app(self, app_id: str) -> App | None:
        cached = self._apps.get(app_id)
        now = self._clock()
        if cached and now - cached[0] < self._cache_seconds:
            return cached[1]
        app = self._repository.get_app(app_id)
        if app is not None:
            self._apps[app_id] = (now, app)
        return app

    def _app_for_key(self, key: object, kind: str) -> App:
        if not isinstance(key, str) or not key:
            raise Unauthenticated()
        found = self._repository.app_id_for_key(credential_hash(key))
        if found is None or found[1] != kind:
            raise Unauthenticated()
        app = self._app(found[0])
        if app is None:
            raise Unauthenticated()
        return app

    def app_for_secret_key(self, key: object) -> App:
        return self.admit(self._app_for_key(key, "secret"))

    def app_for_public_key(self, key: object) -> App:
        return self._app_for_key(key, "public")

    def app_for_account(self, account_id: int) -> App | None:
        app_id = self._repository.app_id_for_account(account_id)
        return self._app(app_id) if app_id else None

    def session(self, session_id: object) -> tuple[Session, App]:
        if not isinstance(session_id, str) or not session_id:
            raise Unauthenticated()
        session = self._repository.get_session(credential_hash(session_id))
        if session is None or session.expires_at <= self._clock():
            raise Unauthenticated()
        app = self._app(session.app_id)
        if app is None:
            raise Unauthenticated()
        return session, app

    def user_from_jwt(self, app: App, token: str) -> str:
        """The `sub` of a user JWT signed by one of the app's keys: RS256 only, `exp` required."""
        for public_key in app.user_token_keys:
            try:
                claims = jwt.decode(
                    token,
                    public_key,
                    algorithms=["RS256"],  # pinned: 'none', HS* and everything else fail here
                    # Time claims are checked below against our clock (testable, one leeway rule).
                    options={"require": ["exp", "sub"], "verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False},
                )
            except jwt.InvalidSignatureError:
                continue  # try the app's next key
            except jwt.PyJWTError as error:
                raise Unauthenticated() from error
            self._check_time_claims(claims)
            try:
                return check_user_id(claims.get("sub"), "sub")
            except PushgateError as error:
                raise Unauthenticated() from error
        raise Unauthenticated()

    def _check_time_claims(self, claims: dict) -> None:
        now = self._clock()
        times = {name: claims.get(name) for name in ("exp", "nbf", "iat")}
        for value in times.values():
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                raise Unauthenticated()
        if times["exp"] is None or times["exp"] <= now - JWT_LEEWAY_SECONDS:
            raise Unauthenticated()
        for not_before in (times["nbf"], times["iat"]):
            if not_before is not None and not_before > now + JWT_LEEWAY_SECONDS:
                raise Unauthenticated()

    def caller_for_token(self, app: App, token: object) -> Caller:
        """A session id or a user JWT of this app (docs/api.md §0: JWTs are accepted wherever a session is)."""
        if not isinstance(token, str) or not token:
            raise Unauthenticated()
        if looks_like_jwt(token):
            return self._admitted(Caller(app=app, user_id=self.user_from_jwt(app, token)))
        session, session_app = self.session(token)
        if session_app.app_id != app.app_id:
            raise Unauthenticated()
        return self._admitted(Caller(app=app, user_id=session.user_id))

    def account_caller(self, account_path: str, session_id: object) -> Caller:
        """docs/api.md §2: the session (or user JWT) must be valid (401), then belong to the account
        named in the path (403)."""
        account_id = int(account_path) if account_path.isascii() and account_path.isdigit() and len(account_path) < 19 else None
        if isinstance(session_id, str) and looks_like_jwt(session_id):
            app = self.app_for_account(account_id) if account_id else None
            if app is None:
                raise Unauthenticated()
            return self._admitted(Caller(app=app, user_id=self.user_from_jwt(app, session_id)))
        session, app = self.session(session_id)
        if account_id != session.account_id or app.account_id != session.account_id:
            raise Forbidden()
        return self._admitted(Caller(app=app, user_id=session.user_id))

    def device_api_caller(self, headers: dict[str, str], client_id: object) -> Caller:
        """docs/api.md §3: IM-CLIENT-KEY + IM-Authorization (session or user JWT), or the server-side
        IM-API-KEY acting for the user named by clientId."""
        if headers.get("im-api-key"):
            app = self.app_for_secret_key(headers["im-api-key"])
            return Caller(app=app, user_id=check_user_id(client_id, "clientId"))
        app = self.app_for_public_key(headers.get("im-client-key"))
        token = headers.get("im-authorization") or ""
        return self.caller_for_token(app, token.removeprefix("Bearer ").strip())

    def channel_api_caller(self, headers: dict[str, str], development_mode: bool) -> Caller:
        """docs/api.md §5: x-notiflows-api-key + an RS256 user JWT in x-notiflows-user-key; the bare
        x-notiflows-user-id header only where development mode was switched on."""
        app = self.app_for_public_key(headers.get("x-notiflows-api-key"))
        user_key = headers.get("x-notiflows-user-key")
        if user_key:
            return self._admitted(Caller(app=app, user_id=self.user_from_jwt(app, user_key)))
        if development_mode and headers.get("x-notiflows-user-id"):
            try:
                caller = Caller(app=app, user_id=check_user_id(headers["x-notiflows-user-id"]))
            except PushgateError as error:
                raise Unauthenticated() from error
            return self._admitted(caller)
        raise Unauthenticated()
