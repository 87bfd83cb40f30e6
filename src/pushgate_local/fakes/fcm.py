"""A fake of FCM HTTP v1 and of Google's OAuth token endpoint, in one ASGI app for one TlsServer:
`POST /token` and `POST /v1/projects/{project}/messages:send`.

It is strict where Google is, so that a request our sender builds wrong fails here and not in
production: the token endpoint verifies the RS256 assertion against the service account's
registered public key and checks its claims; FCM takes only HTTP/2 (real FCM also speaks
HTTP/1.1: refusing it here proves the sender multiplexes), only its own live access tokens for
the project in the URL, and only a message of known fields, string data, a valid ttl and
priority, at most 4096 bytes of payload. Its errors have Google's shape (google.rpc status, and
an FcmError errorCode or a BadRequest field violation in `details`); the token endpoint's are
RFC 6749's (`invalid_grant` for any fault of the assertion, `invalid_scope`,
`unsupported_grant_type`, `invalid_request`).

Per-token behaviours (unregistered, invalid, quota, ...) and a per-project `auth_error` are set
from Python or over HTTP (`POST /_fake/tokens/{token}`, `POST /_fake/projects/{project}` with
{"behaviour": ...}); `GET`/`DELETE /_fake/received` list and clear the accepted messages."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from pushgate_local.fakes.fcm_schema import Refused as _Refused
from pushgate_local.fakes.fcm_schema import check_send_body, google_error, invalid as _invalid
from pushgate_local.fakes.server import HttpRequest, Receive, Scope, Send, read_request, respond

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_LIFETIME = 3600
CLOCK_SKEW = 60  # seconds of iat in the future that Google tolerates, give or take
STALL_LIMIT_SECONDS = 300.0  # a stalled request is dropped by then even if its client never gives up

_SEND_PATH = re.compile(r"^/v1/projects/([^/]+)/messages:send$")
_BEHAVIOUR_PATH = re.compile(r"^/_fake/(tokens|projects)/(.+)$")

class Behaviour(StrEnum):
    UNREGISTERED = "unregistered"  # 404 UNREGISTERED: the app was uninstalled
    INVALID = "invalid"  # 400 INVALID_ARGUMENT: not a registration token
    SENDER_ID_MISMATCH = "sender_id_mismatch"  # 403: the token belongs to another project
    QUOTA = "quota"  # 429 QUOTA_EXCEEDED with Retry-After
    UNAVAILABLE = "unavailable"  # 503
    INTERNAL = "internal"  # 500
    THIRD_PARTY_AUTH_ERROR = "third_party_auth_error"  # 401: the APNs/web credentials in Firebase are wrong
    STALL = "stall"  # no answer until the client gives up
    AUTH_ERROR = "auth_error"  # per project: 401 on every request


# What FCM answers for each per-token behaviour: google.rpc status, message, FcmError errorCode.
_ANSWERS = {
    Behaviour.UNREGISTERED: ("NOT_FOUND", "Requested entity was not found.", "UNREGISTERED"),
    Behaviour.INVALID: ("INVALID_ARGUMENT", "The registration token is not a valid FCM registration token", "INVALID_ARGUMENT"),
    Behaviour.SENDER_ID_MISMATCH: ("PERMISSION_DENIED", "SenderId mismatch", "SENDER_ID_MISMATCH"),
    Behaviour.QUOTA: ("RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'.", "QUOTA_EXCEEDED"),
    Behaviour.UNAVAILABLE: ("UNAVAILABLE", "The service is currently unavailable.", "UNAVAILABLE"),
    Behaviour.INTERNAL: ("INTERNAL", "Internal error encountered.", "INTERNAL"),
    Behaviour.THIRD_PARTY_AUTH_ERROR: ("UNAUTHENTICATED", "Auth error from APNS or Web Push Service", "THIRD_PARTY_AUTH_ERROR"),
}


def _oauth_error(error: str, description: str) -> _Refused:
    return _Refused(400, {"error": error, "error_description": description})


@dataclass
class _Account:
    project_id: str
    public_key: Any
    private_key_id: str | None


@dataclass
class _Issued:
    project_id: str
    expires_at: float


class FakeFcm:
    """The ASGI app and its state. Python accessors are safe from any thread."""

    def __init__(self, clock: Callable[[], float] = time.time, token_lifetime: int = 3600, retry_after: int = 30) -> None:
        self.clock = clock
        self.token_lifetime = token_lifetime  # expires_in of the tokens issued from now on
        self.retry_after = retry_after  # the Retry-After of "quota"
        self.token_url: str | None = None  # the aud required; by default this server's https://host/token
        self._lock = threading.Lock()
        self._accounts: dict[str, _Account] = {}
        # Asked about a service account (client_email) the fake does not know; it registers the
        # account and returns True if it found one. The local stack uses it for channels added later.
        self.account_resolver: Callable[[str], bool] | None = None
        self._issued: dict[str, _Issued] = {}
        self._token_behaviours: dict[str, Behaviour] = {}
        self._project_behaviours: dict[str, Behaviour] = {}
        self._received: list[dict[str, Any]] = []
        self.tokens_issued = 0
        self.requests_seen = 0
        self.max_in_flight = 0
        self._in_flight = 0
        self._clients: set[tuple[str, int]] = set()
        self._hold: tuple[int, float] | None = None
        self._gate: asyncio.Event | None = None

    # -- set up and inspect from Python ---------------------------------------------------------

    def register_service_account(
        self, project_id: str, client_email: str, public_key_pem: str, private_key_id: str | None = None
    ) -> None:
        """`private_key_id` given: the assertion's kid must name it, as Google picks the key by it."""
        account = _Account(project_id, load_pem_public_key(public_key_pem.encode()), private_key_id)
        with self._lock:
            self._accounts[client_email] = account

    def set_token_behaviour(self, token: str, behaviour: Behaviour | str | None) -> None:
        self._set_behaviour(self._token_behaviours, token, behaviour)

    def set_project_behaviour(self, project_id: str, behaviour: Behaviour | str | None) -> None:
        """Only `auth_error` applies to a whole project."""
        self._set_behaviour(self._project_behaviours, project_id, behaviour)

    def _set_behaviour(self, table: dict[str, Behaviour], key: str, behaviour: Behaviour | str | None) -> None:
        checked = None if behaviour is None else Behaviour(behaviour)  # ValueError for an unknown one
        with self._lock:
            if checked is None:
                table.pop(key, None)
            else:
                table[key] = checked

    def expire_all_tokens(self) -> None:
        with self._lock:
            for issued in self._issued.values():
                issued.expires_at = self.clock() - 1

    def hold_until_in_flight(self, count: int, timeout: float = 10.0) -> None:
        """Answer no send until `count` are in flight at once (or `timeout` passes): a client that
        sends one request after the other can then never get its answers in time."""
        with self._lock:
            self._hold, self._gate = (count, timeout), None

    def received(self) -> list[dict[str, Any]]:
        """Accepted messages: {"project", "name", "message"}, in the order accepted."""
        with self._lock:
            return list(self._received)

    def clear_received(self) -> None:
        with self._lock:
            self._received.clear()

    @property
    def connections_seen(self) -> int:
        """Distinct client connections (address and port) that sent to the FCM endpoint."""
        with self._lock:
            return len(self._clients)

    # -- ASGI -------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        try:
            if request.path == "/token":
                status, body, headers = 200, self._token(request, scope), {}
            elif (match := _SEND_PATH.match(request.path)) is not None:
                status, body, headers = 200, await self._send(request, scope, receive, unquote(match.group(1))), {}
            elif request.path.startswith("/_fake/"):
                status, body, headers = 200, self._control(request), {}
            else:
                raise google_error("NOT_FOUND", f"The requested URL {request.path} was not found on this server.")
        except _Refused as refused:
            status, body, headers = refused.status, refused.body, refused.headers
        except _Stalled:
            return  # the client gave up: nothing to answer
        await respond(send, status, body, headers)

    # -- the token endpoint ---------------------------------------------------------------------

    def _aud(self, request: HttpRequest, scope: Scope) -> str:
        if self.token_url:
            return self.token_url
        host = request.headers.get("host") or "{}:{}".format(*scope["server"])
        return f"https://{host}/token"

    def _token(self, request: HttpRequest, scope: Scope) -> dict[str, Any]:
        if request.method != "POST":
            raise _oauth_error("invalid_request", "the token endpoint takes POST")
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
            raise _oauth_error("invalid_request", "the body must be application/x-www-form-urlencoded")
        form = parse_qs(request.body.decode("utf-8", "replace"))
        if form.get("grant_type") != [GRANT_TYPE]:
            raise _oauth_error("unsupported_grant_type", "Invalid grant_type: expected the jwt-bearer grant")
        assertions = form.get("assertion", [])
        if len(assertions) != 1:
            raise _oauth_error("invalid_request", "Missing required parameter: assertion")
        claims = self._verified_claims(assertions[0], self._aud(request, scope))
        token = "ya29.fake-" + secrets.token_urlsafe(32)
        with self._lock:
            self._issued[token] = _Issued(self._accounts[claims["iss"]].project_id, self.clock() + self.token_lifetime)
            self.tokens_issued += 1
        return {"access_token": token, "expires_in": self.token_lifetime, "token_type": "Bearer"}

    def _verified_claims(self, assertion: str, aud: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(assertion)
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _oauth_error("invalid_grant", "Invalid JWT: not a signed JWT") from None
        if header.get("alg") != "RS256":
            raise _oauth_error("invalid_grant", f"Invalid JWT: alg must be RS256, not {header.get('alg')!r}")
        issuer = unverified.get("iss") if isinstance(unverified.get("iss"), str) else None
        with self._lock:
            account = self._accounts.get(issuer) if issuer else None
        if account is None and issuer and self.account_resolver is not None and self.account_resolver(issuer):
            with self._lock:
                account = self._accounts.get(issuer)
        if account is None:
            raise _oauth_error("invalid_grant", "Invalid grant: account not found")
        if account.private_key_id is not None and header.get("kid") != account.private_key_id:
            raise _oauth_error("invalid_grant", "Invalid JWT Signature: kid names no key of this account")
        try:
            claims = jwt.decode(assertion, account.public_key, algorithms=["RS256"],
                                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False, "verify_aud": False})
        except jwt.PyJWTError:
            raise _oauth_error("invalid_grant", "Invalid JWT Signature.") from None
        if claims.get("aud") != aud:
            raise _oauth_error("invalid_grant", f"Invalid JWT: aud must be {aud}")
        iat, exp = claims.get("iat"), claims.get("exp")
        if not all(isinstance(value, (int, float)) and not isinstance(value, bool) for value in (iat, exp)):
            raise _oauth_error("invalid_grant", "Invalid JWT: iat and exp are required numbers")
        now = self.clock()
        if exp <= iat or exp - iat > MAX_ASSERTION_LIFETIME or iat > now + CLOCK_SKEW or exp <= now:
            raise _oauth_error("invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a "
                                                "reasonable timeframe. Check your iat and exp values in the JWT claim.")
        scope = claims.get("scope")
        if not isinstance(scope, str) or SCOPE not in scope.split():
            raise _oauth_error("invalid_scope", "Invalid OAuth scope: firebase.messaging is required")
        return claims

    # -- the FCM endpoint -----------------------------------------------------------------------

    async def _send(self, request: HttpRequest, scope: Scope, receive: Receive, project: str) -> dict[str, Any]:
        with self._lock:
            self.requests_seen += 1
            self._clients.add(tuple(scope.get("client") or ("", 0)))
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            await self._wait_for_gate()
            return await self._accept(request, receive, project)
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _wait_for_gate(self) -> None:
        with self._lock:
            hold = self._hold
            if hold is None:
                return
            if self._gate is None:
                self._gate = asyncio.Event()  # made on the server's loop, the only one that awaits it
            if self._in_flight >= hold[0]:
                self._gate.set()
            gate = self._gate
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(gate.wait(), hold[1])

    async def _accept(self, request: HttpRequest, receive: Receive, project: str) -> dict[str, Any]:
        if request.http_version != "2":
            refusal = f"this fake FCM takes only HTTP/2, not HTTP/{request.http_version}"
            raise google_error("FAILED_PRECONDITION", refusal, http_status=505)
        if request.method != "POST":
            raise google_error("NOT_FOUND", "messages:send takes POST")
        self._check_bearer(request, project)
        with self._lock:
            project_behaviour = self._project_behaviours.get(project)
        if project_behaviour is Behaviour.AUTH_ERROR:
            raise _unauthenticated()
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise _invalid("", "Invalid JSON payload received: the content type must be application/json")
        try:
            body = json.loads(request.body)
        except ValueError:
            raise _invalid("", "Invalid JSON payload received. Unexpected token.") from None
        message = check_send_body(body)
        if message.get("token"):
            with self._lock:
                behaviour = self._token_behaviours.get(message["token"])
            if behaviour is not None:
                await self._misbehave(behaviour, receive)
        name = f"projects/{project}/messages/{secrets.token_hex(8)}"
        if not body.get("validate_only"):
            with self._lock:
                self._received.append({"project": project, "name": name, "message": message})
        return {"name": name}

    def _check_bearer(self, request: HttpRequest, project: str) -> None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise _unauthenticated()
        with self._lock:
            issued = self._issued.get(token.strip())
        if issued is None or issued.expires_at <= self.clock():
            raise _unauthenticated()
        if issued.project_id != project:
            raise google_error("PERMISSION_DENIED", "Permission 'cloudmessaging.messages.create' denied on resource "
                                                    f"'//cloudresourcemanager.googleapis.com/projects/{project}' (or it may not exist).")

    async def _misbehave(self, behaviour: Behaviour, receive: Receive) -> None:
        if behaviour is Behaviour.STALL:
            await _wait_for_disconnect(receive)
            raise _Stalled()
        if behaviour in _ANSWERS:
            status, message, code = _ANSWERS[behaviour]
            headers = {"retry-after": str(self.retry_after)} if behaviour is Behaviour.QUOTA else None
            field = "message.token" if behaviour is Behaviour.INVALID else None
            raise google_error(status, message, code, field=field, headers=headers)

    # -- control --------------------------------------------------------------------------------

    def _control(self, request: HttpRequest) -> Any:
        if request.path == "/_fake/received":
            if request.method == "DELETE":
                self.clear_received()
                return {"cleared": True}
            return self.received()
        match = _BEHAVIOUR_PATH.match(request.path)
        if match is None or request.method != "POST":
            raise google_error("NOT_FOUND", f"no fake control at {request.method} {request.path}")
        try:
            behaviour = request.json().get("behaviour")
            setter = self.set_token_behaviour if match.group(1) == "tokens" else self.set_project_behaviour
            setter(unquote(match.group(2)), behaviour)
        except (ValueError, AttributeError):
            raise _invalid("behaviour", f"behaviour must be one of {', '.join(Behaviour)} or null") from None
        return {"behaviour": behaviour}


class _Stalled(Exception):
    """The stalled request's client went away."""


def _unauthenticated() -> _Refused:
    return google_error("UNAUTHENTICATED", "Request had invalid authentication credentials. Expected OAuth 2 access token, "
                                           "login cookie or other valid authentication credential.")


async def _wait_for_disconnect(receive: Receive) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(STALL_LIMIT_SECONDS):
            while (await receive())["type"] != "http.disconnect":
                pass
