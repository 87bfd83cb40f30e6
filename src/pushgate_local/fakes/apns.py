"""An honest fake of APNs's token-based provider API: it checks what APNs checks and answers as
APNs answers (status and `{"reason": ...}`), so that a request built wrong fails here as it would
at Apple.

Checks, in order: HTTP/2 (APNs speaks nothing else; HTTP/1.1 gets 505, the fake's own answer, as
APNs never gets that far); `POST /3/device/<hex token>`; no header twice; the provider token (an
ES256 JWT of a registered (team, key) whose signature verifies, at most an hour old by the fake's
clock, and not a new token within 20 minutes of the last new one of that team and key on the same
connection: Apple says a connection that updates too often becomes unusable, so the limit is per
connection); the topic (allowed; `.voip` exactly for voip pushes); the push type; priority (1, 5,
10; 5 for background); expiration; collapse id (64 bytes); apns-id (a UUID); the payload (4096
bytes, 5120 for voip; a JSON object with `aps`; `alert` for alert pushes, `content-available: 1`
for background ones). Malformed JSON, and a payload that does not fit its push type, have no
documented reason: the fake answers 400 BadPayload and 400 InvalidPushType.

Serve it with `TlsServer(FakeApns(), ca)`. Per-token behaviours (Python `set_behaviour`, or
`POST /_fake/tokens/<token>` with `{"behaviour": ..., "reason"?, "retry_after"?}`) apply to
requests that pass every check. Accepted notifications are listed by `received()` and
`GET /_fake/received` (`DELETE` clears them)."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


from pushgate_local.fakes.apns_tokens import ProviderTokenVerifier, Refusal
from pushgate_local.fakes.server import HttpRequest, Receive, Scope, Send, read_request, respond

MAX_PAYLOAD_BYTES = 4096
MAX_VOIP_PAYLOAD_BYTES = 5120
MAX_COLLAPSE_ID_BYTES = 64
PUSH_TYPES = frozenset(
    {"alert", "background", "voip", "complication", "fileprovider", "mdm", "liveactivity", "location", "pushtotalk", "widgets", "controls"}
)
PRIORITIES = frozenset({"1", "5", "10"})  # Apple documents 1 too: power considerations above all
_DEVICE_PATH = re.compile(r"/3/device/(?P<token>[^/]*)")
_DEVICE_TOKEN = re.compile(r"(?:[0-9a-fA-F]{2}){32,100}")
_BUNDLE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,254}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SINGLE_HEADERS = frozenset({"authorization", "apns-topic", "apns-push-type", "apns-priority", "apns-expiration", "apns-collapse-id", "apns-id"})


class Behaviour(StrEnum):
    UNREGISTERED = "unregistered"  # 410 Unregistered, with the time it stopped being valid
    BAD_DEVICE_TOKEN = "bad_device_token"  # 400 BadDeviceToken (e.g. a sandbox token sent to production)
    NOT_FOR_TOPIC = "not_for_topic"  # 400 DeviceTokenNotForTopic
    TOO_MANY_REQUESTS = "too_many_requests"  # 429 TooManyRequests; Retry-After only when given (Apple sends none)
    INTERNAL = "internal"  # 500 InternalServerError
    UNAVAILABLE = "unavailable"  # 503 ServiceUnavailable
    STALL = "stall"  # never answers; the stream ends when the client gives up
    FORBIDDEN = "forbidden"  # 403 on every request, reason InvalidProviderToken unless given


_ANSWERS: dict[Behaviour, tuple[int, str]] = {
    Behaviour.UNREGISTERED: (410, "Unregistered"),
    Behaviour.BAD_DEVICE_TOKEN: (400, "BadDeviceToken"),
    Behaviour.NOT_FOR_TOPIC: (400, "DeviceTokenNotForTopic"),
    Behaviour.TOO_MANY_REQUESTS: (429, "TooManyRequests"),
    Behaviour.INTERNAL: (500, "InternalServerError"),
    Behaviour.UNAVAILABLE: (503, "ServiceUnavailable"),
    Behaviour.FORBIDDEN: (403, "InvalidProviderToken"),
}


@dataclass(frozen=True)
class TokenBehaviour:
    behaviour: Behaviour
    since_ms: int  # Unregistered's timestamp: when the token stopped being valid
    reason: str | None = None
    retry_after: int | None = None


@dataclass(frozen=True)
class ReceivedNotification:
    token: str
    topic: str
    push_type: str
    priority: int
    expiration: int | None
    collapse_id: str | None
    apns_id: str
    team_id: str
    key_id: str
    payload: dict[str, Any] = field(repr=False)


class FakeApns:
    """The ASGI app and its state. Thread-safe: set up and read from the test's thread while the
    server's loop answers."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self.tokens = ProviderTokenVerifier(clock)
        self._topics: set[str] = set()
        self._behaviours: dict[str, TokenBehaviour] = {}
        self._received: list[ReceivedNotification] = []
        self._clients: set[tuple[str, int]] = set()
        self.refusals: Counter[str] = Counter()  # reason -> how many times answered
        self.requests = 0  # APNs requests answered or stalled, the fake's own endpoints not counted
        self.in_flight = 0
        self.most_in_flight = 0
        self._meeting_size = 0
        self._meeting_timeout = 0.0
        self._meeting_waiting = 0
        self._meeting: asyncio.Event | None = None
        self.meetings = 0

    # --- set-up, from Python -------------------------------------------------------------------

    def register_key(self, team_id: str, key_id: str, public_key_pem: str) -> None:
        self.tokens.register_key(team_id, key_id, public_key_pem)

    @property
    def key_resolver(self) -> Callable[[str, str], bool] | None:
        return self.tokens.key_resolver

    @key_resolver.setter
    def key_resolver(self, resolver: Callable[[str, str], bool] | None) -> None:
        self.tokens.key_resolver = resolver

    @property
    def signature_checks(self) -> int:
        return self.tokens.signature_checks

    @property
    def token_updates(self) -> int:
        return self.tokens.token_updates

    def allow_topic(self, bundle_id: str) -> None:
        with self._lock:
            self._topics.update({bundle_id, f"{bundle_id}.voip"})

    def set_behaviour(self, token: str, behaviour: Behaviour | str, reason: str | None = None, retry_after: int | None = None) -> None:
        since_ms = int(self._clock() * 1000)
        with self._lock:
            self._behaviours[token.lower()] = TokenBehaviour(Behaviour(behaviour), since_ms, reason, retry_after)

    def clear_behaviour(self, token: str) -> None:
        with self._lock:
            self._behaviours.pop(token.lower(), None)

    def hold_until_in_flight(self, count: int, timeout: float = 5.0) -> None:
        """Accepted requests wait in groups until `count` of them are waiting at once (or `timeout`
        passes); `meetings` counts the groups that met. Only requests truly in flight together can
        meet, so this proves concurrency without timing."""
        self._meeting_size, self._meeting_timeout, self._meeting_waiting, self._meeting = count, timeout, 0, None
        self.meetings = 0

    # --- what happened ---------------------------------------------------------------------------

    def received(self) -> list[ReceivedNotification]:
        with self._lock:
            return list(self._received)

    def clear_received(self) -> None:
        with self._lock:
            self._received.clear()

    @property
    def received_count(self) -> int:
        return len(self._received)

    @property
    def provider_tokens_seen(self) -> int:
        """Distinct provider tokens whose signature verified."""
        return self.tokens.tokens_seen

    @property
    def connections(self) -> int:
        """Distinct client (address, port) pairs: one per TCP connection the clients opened."""
        with self._lock:
            return len(self._clients)

    def stats(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "received": self.received_count,
            "provider_tokens_seen": self.provider_tokens_seen,
            "signature_checks": self.signature_checks,
            "token_updates": self.token_updates,
            "connections": self.connections,
            "most_in_flight": self.most_in_flight,
            "refusals": dict(self.refusals),
        }

    # --- ASGI ------------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        request = await read_request(scope, receive)
        if request.path.startswith("/_fake/"):
            await self._admin(request, send)
            return
        with self._lock:
            self.requests += 1
            if scope.get("client"):
                self._clients.add(tuple(scope["client"]))
        self.in_flight += 1  # the server's loop is one thread: no lock needed between awaits
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await self._answer(scope, request, receive, send)
        finally:
            self.in_flight -= 1

    async def _answer(self, scope: Scope, request: HttpRequest, receive: Receive, send: Send) -> None:
        apns_id = request.headers.get("apns-id") or str(uuid.uuid4())
        try:
            notification = self._check(scope, request, apns_id)
            behaviour = self._behaviours.get(notification.token)
            if behaviour is not None and behaviour.behaviour is Behaviour.STALL:
                while (await receive())["type"] != "http.disconnect":
                    pass
                return
            if behaviour is not None:
                raise self._refusal_for(behaviour)
        except Refusal as refusal:
            with self._lock:
                self.refusals[refusal.reason] += 1
            headers = {"apns-id": apns_id}
            if refusal.retry_after is not None:
                headers["retry-after"] = str(refusal.retry_after)
            await respond(send, refusal.status, {"reason": refusal.reason, **refusal.extra}, headers)
            return
        await self._meet()
        with self._lock:
            self._received.append(notification)
        await respond(send, 200, None, {"apns-id": notification.apns_id})

    def _refusal_for(self, behaviour: TokenBehaviour) -> Refusal:
        status, reason = _ANSWERS[behaviour.behaviour]
        if behaviour.behaviour is Behaviour.UNREGISTERED:
            return Refusal(status, reason, timestamp=behaviour.since_ms)
        if behaviour.behaviour is Behaviour.TOO_MANY_REQUESTS and behaviour.retry_after is not None:
            return Refusal(status, reason, retry_after=behaviour.retry_after)
        return Refusal(status, behaviour.reason or reason)

    async def _meet(self) -> None:
        if self._meeting_size <= 0:
            return
        if self._meeting is None:
            self._meeting = asyncio.Event()
        meeting = self._meeting
        self._meeting_waiting += 1
        if self._meeting_waiting >= self._meeting_size:
            meeting.set()  # this group met; the next requests form the next group
            self._meeting, self._meeting_waiting = None, 0
            self.meetings += 1
            return
        try:
            await asyncio.wait_for(meeting.wait(), self._meeting_timeout)
        except TimeoutError:
            pass  # the test's assertion on `meetings` or `most_in_flight` says what went wrong

    # --- the checks APNs makes -------------------------------------------------------------------

    def _check(self, scope: Scope, request: HttpRequest, apns_id: str) -> ReceivedNotification:
        if request.http_version != "2":
            raise Refusal(505, "HTTP2Required")
        path = _DEVICE_PATH.fullmatch(request.path)
        if path is None:
            raise Refusal(404, "BadPath")
        if request.method != "POST":
            raise Refusal(405, "MethodNotAllowed")
        token = path.group("token")
        if not token:
            raise Refusal(400, "MissingDeviceToken")
        if not _DEVICE_TOKEN.fullmatch(token):
            raise Refusal(400, "BadDeviceToken")
        names = Counter(name.decode("latin-1").lower() for name, _ in scope["headers"])
        if any(names[name] > 1 for name in _SINGLE_HEADERS):
            raise Refusal(400, "DuplicateHeaders")
        headers = request.headers
        provider = self.tokens.authenticate(headers.get("authorization"), tuple(scope.get("client") or ()))
        topic, push_type = headers.get("apns-topic"), headers.get("apns-push-type")
        if not topic:
            raise Refusal(400, "MissingTopic")
        if not _BUNDLE_ID.fullmatch(topic):
            raise Refusal(400, "BadTopic")
        if topic not in self._topics:
            raise Refusal(400, "TopicDisallowed")
        if push_type not in PUSH_TYPES or (push_type == "voip") != topic.endswith(".voip"):
            raise Refusal(400, "InvalidPushType")
        priority = headers.get("apns-priority", "10")
        if priority not in PRIORITIES or (push_type == "background" and priority != "5"):
            raise Refusal(400, "BadPriority")
        expiration = headers.get("apns-expiration")
        if expiration is not None and not (expiration.isascii() and expiration.isdigit()):
            raise Refusal(400, "BadExpirationDate")
        collapse_id = headers.get("apns-collapse-id")
        if collapse_id is not None and len(collapse_id.encode("latin-1")) > MAX_COLLAPSE_ID_BYTES:
            raise Refusal(400, "BadCollapseId")
        if "apns-id" in headers and not _UUID.fullmatch(headers["apns-id"]):
            raise Refusal(400, "BadMessageId")
        payload = _check_payload(request.body, push_type)
        return ReceivedNotification(
            token=token.lower(),
            topic=topic,
            push_type=push_type,
            priority=int(priority),
            expiration=int(expiration) if expiration is not None else None,
            collapse_id=collapse_id,
            apns_id=apns_id.lower(),
            team_id=provider.team_id,
            key_id=provider.key_id,
            payload=payload,
        )

    # --- the fake's own endpoints ----------------------------------------------------------------

    async def _admin(self, request: HttpRequest, send: Send) -> None:
        try:
            body = request.json() if request.body else {}
            if request.path == "/_fake/received" and request.method == "GET":
                await respond(send, 200, [asdict(notification) for notification in self.received()])
            elif request.path == "/_fake/received" and request.method == "DELETE":
                self.clear_received()
                await respond(send, 204)
            elif request.path == "/_fake/stats" and request.method == "GET":
                await respond(send, 200, self.stats())
            elif request.path.startswith("/_fake/tokens/") and request.method in ("POST", "DELETE"):
                token = request.path.removeprefix("/_fake/tokens/")
                if request.method == "DELETE":
                    self.clear_behaviour(token)
                else:
                    self.set_behaviour(token, body["behaviour"], body.get("reason"), body.get("retry_after"))
                await respond(send, 204)
            elif request.path == "/_fake/keys" and request.method == "POST":
                self.register_key(body["team_id"], body["key_id"], body["public_key_pem"])
                await respond(send, 204)
            elif request.path == "/_fake/topics" and request.method == "POST":
                self.allow_topic(body["bundle_id"])
                await respond(send, 204)
            else:
                await respond(send, 404, {"reason": "BadPath"})
        except (ValueError, KeyError, TypeError) as error:
            await respond(send, 400, {"error": type(error).__name__})


def _check_payload(body: bytes, push_type: str) -> dict[str, Any]:
    limit = MAX_VOIP_PAYLOAD_BYTES if push_type == "voip" else MAX_PAYLOAD_BYTES
    if len(body) > limit:
        raise Refusal(413, "PayloadTooLarge")
    if not body.strip():
        raise Refusal(400, "PayloadEmpty")
    try:
        payload = json.loads(body)
    except ValueError:
        raise Refusal(400, "BadPayload") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("aps"), dict):
        raise Refusal(400, "BadPayload")
    aps = payload["aps"]
    if push_type == "alert" and not aps.get("alert"):
        raise Refusal(400, "InvalidPushType")
    if push_type == "background" and aps.get("content-available") != 1:
        raise Refusal(400, "InvalidPushType")
    return payload


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
