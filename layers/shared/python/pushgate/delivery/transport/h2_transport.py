"""HTTP/2 to the native providers (FCM HTTP v1, APNs) on `h2` alone (http2.Http2Client): a
quarter of the CPU per request of the httpx client it replaced, and no cap of 100 streams
(docs/performance.md; that client is kept as bench/httpx_transport.py).

One event loop runs on a thread of its own. A caller on any thread hands it a list of requests
and waits for one answer or one exception per request, in order. Per origin (host, port) there
is a pool: one TLS connection (h2_connection.Connection), opened on first use and kept for the
container's life, carrying as many streams at once as the server allows (APNs about 1,000); the
requests beyond that wait in the origin's queue and start as streams end. A second connection
opens only when every open one is saturated or going away (GOAWAY), up to max_connections.

Per request there is no Task and no future: an Exchange is resolved from the connection's
reader, and the batch counts them down. Timeouts: connect (TCP, TLS, the server's SETTINGS),
each stream's answer (read timeout), and the whole list (deadline: what is unanswered becomes
DeadlineExceeded and its stream is cancelled). Redirects are never followed: a 3xx is an answer
like any other. Nothing here logs: URLs hold device tokens and headers bearer JWTs."""

from __future__ import annotations

import asyncio
import concurrent.futures
import re
import threading
from collections import deque
from collections.abc import Sequence
from urllib.parse import urlsplit

from pushgate.delivery.transport.h2_connection import Connection, ConnectError, ConnectionLost, Exchange
from pushgate.delivery.transport.http2 import (
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    DeadlineExceeded,
    Request,
    Response,
    tls_context,
)

_AUTHORITY_CACHE_SIZE = 256
_HEADER_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9a-z]+")  # a lower-case token (RFC 9110 5.1, RFC 9113 8.2.1)
_HEADER_VALUE = re.compile(r"(?:[^\x00-\x20\x7f](?:[^\x00-\x1f\x7f]*[^\x00-\x20\x7f])?)?")  # no CTL, no edge whitespace
_CONNECTION_HEADERS = frozenset({"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "host"})
# A connection that has carried nothing for this long is replaced rather than trusted: a Lambda
# container is frozen between invocations, and a provider or a NAT may have dropped the connection
# meanwhile without our knowing; a stream sent on it would fail and its device wait for a retry.
# A new connection costs one TLS handshake per idle spell.
IDLE_RECONNECT_SECONDS = 120.0
# Beyond the deadline, how long a caller waits for the loop before deciding it is gone: the loop
# answers every batch by its deadline, so this only bounds a wait on a broken transport.
_LOOP_GRACE_SECONDS = 5.0


class _Origin:
    """One provider host: its connections (those that can still take streams) and its queue."""

    __slots__ = ("host", "port", "connections", "connecting", "queue")

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.connections: list[Connection] = []
        self.connecting = 0
        self.queue: deque[Exchange] = deque()


class _Batch:
    """The exchanges of one send_all; the caller's future is resolved when the last one ends."""

    __slots__ = ("exchanges", "remaining", "future", "timer")

    def __init__(self) -> None:
        self.exchanges: list[Exchange] = []
        self.remaining = 0
        self.future: concurrent.futures.Future[list[Response | BaseException]] = concurrent.futures.Future()
        self.timer: asyncio.TimerHandle | None = None

    def exchange_done(self, _exchange: Exchange) -> None:
        self.remaining -= 1
        if self.remaining == 0:
            if self.timer is not None:
                self.timer.cancel()
            self.future.set_result([exchange.result for exchange in self.exchanges])  # type: ignore[misc]


class H2Transport:
    """Thread-safe. One per container and provider family; `close()` only in tests."""

    def __init__(
        self,
        ca_file: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_connections: int = 10,
    ) -> None:
        self._context = tls_context(ca_file)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_connections = max_connections
        self._origins: dict[str, _Origin] = {}  # by authority; the loop thread's only
        self._authorities: dict[str, tuple[str, bytes]] = {}  # authority -> (origin key, :authority)
        self._connects: set[asyncio.Task[None]] = set()
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="h2-transport", daemon=True)
        self._thread.start()

    # --- the callers' side ----------------------------------------------------------------------

    def send_all(self, requests: Sequence[Request], deadline_seconds: float) -> list[Response | BaseException]:
        """Every request at once; an answer or the exception that ended it, in the same order."""
        if not requests:
            return []
        if self._closed:
            raise RuntimeError("the transport is closed")
        batch = _Batch()
        work: list[tuple[str, Exchange]] = []
        for request in requests:
            exchange = Exchange([], request.body, batch.exchange_done)
            batch.exchanges.append(exchange)
            try:
                key, exchange.headers = self._request_headers(request)
            except ValueError as error:
                exchange.result = error
                continue
            work.append((key, exchange))
        batch.remaining = len(work)
        if not work:
            return [exchange.result for exchange in batch.exchanges]  # type: ignore[misc]
        self._loop.call_soon_threadsafe(self._begin, batch, work, deadline_seconds)
        return batch.future.result(timeout=max(deadline_seconds, 0) + _LOOP_GRACE_SECONDS)

    def _request_headers(self, request: Request) -> tuple[str, list[tuple[bytes, bytes]]]:
        """The origin's key and the HTTP/2 header block; the URL's authority is parsed once."""
        scheme, separator, rest = request.url.partition("://")
        if scheme != "https" or not separator:
            raise ValueError("only https URLs are sent")
        authority, _, path = rest.partition("/")
        known = self._authorities.get(authority)
        if known is None:
            known = self._learn_authority(authority)
        key, authority_value = known
        headers = [
            (b":method", request.method.encode()),
            (b":scheme", b"https"),
            (b":authority", authority_value),
            (b":path", b"/" + path.partition("#")[0].encode()),
        ]
        for name, value in request.headers.items():
            name = name.lower()  # noqa: PLW2901 - HTTP/2 sends names in lower case
            # h2's own check of every outbound header was a third of the loop's CPU per request;
            # this one pattern per header keeps what it protected: no CR, LF or NUL, no
            # connection-specific header, names as RFC 9113 wants them.
            if not _HEADER_NAME.fullmatch(name) or name in _CONNECTION_HEADERS or not _HEADER_VALUE.fullmatch(value):
                raise ValueError("a header the HTTP/2 layer would refuse")
            headers.append((name.encode(), value.encode()))
        if request.body and "content-length" not in request.headers:
            headers.append((b"content-length", str(len(request.body)).encode()))
        return key, headers

    def _learn_authority(self, authority: str) -> tuple[str, bytes]:
        parts = urlsplit(f"https://{authority}")
        if not parts.hostname or parts.username is not None:
            raise ValueError("the URL has no usable host")
        port = parts.port or 443
        value = parts.hostname if port == 443 else authority
        if len(self._authorities) >= _AUTHORITY_CACHE_SIZE:
            self._authorities.clear()
        known = (f"{parts.hostname}:{port}", value.encode())
        self._authorities[authority] = known
        return known

    def close(self) -> None:
        """Fails what is still waiting, closes the connections and ends the loop's thread."""
        if self._closed:
            return
        self._closed = True
        asyncio.run_coroutine_threadsafe(self._shut_down(), self._loop).result(timeout=_LOOP_GRACE_SECONDS)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=_LOOP_GRACE_SECONDS)
        if not self._thread.is_alive():
            self._loop.close()

    # --- the loop's side ------------------------------------------------------------------------

    def _begin(self, batch: _Batch, work: list[tuple[str, Exchange]], deadline_seconds: float) -> None:
        batch.timer = self._loop.call_later(max(deadline_seconds, 0), self._expire, batch)
        touched: dict[str, _Origin] = {}
        for key, exchange in work:
            origin = touched.get(key) or self._origins.get(key)
            if origin is None:
                host, _, port = key.rpartition(":")
                origin = self._origins[key] = _Origin(host.strip("[]"), int(port))
            touched[key] = origin
            origin.queue.append(exchange)
        for origin in touched.values():
            self._pump(origin)

    def _expire(self, batch: _Batch) -> None:
        cancelled = [exchange for exchange in batch.exchanges if not exchange.done]
        for exchange in cancelled:
            # Every one is marked done first, so that a slot freed by one cancel is not given to
            # another request of this same expired batch.
            exchange.finish(DeadlineExceeded("no answer before the batch's deadline"))
        for exchange in cancelled:
            if exchange.owner is not None:
                exchange.owner.cancel(exchange)

    def _pump(self, origin: _Origin) -> None:
        """Starts queued exchanges on connections with free streams, one write per connection;
        opens a connection when none can take them."""
        queue = origin.queue
        if queue:
            now = self._loop.time()
            for connection in [c for c in origin.connections if c.idle_for(now) > IDLE_RECONNECT_SECONDS]:
                origin.connections.remove(connection)
                connection.retire()
        for connection in origin.connections:
            if not queue:
                return
            free = connection.free_streams
            if free <= 0:
                continue
            wave: list[Exchange] = []
            while queue and len(wave) < free:
                exchange = queue.popleft()
                if not exchange.done:
                    wave.append(exchange)
            if wave:
                connection.start(wave)
        while queue and queue[0].done:
            queue.popleft()
        if queue and not origin.connecting and len(origin.connections) < self._max_connections:
            task = self._loop.create_task(self._connect(origin))
            self._connects.add(task)
            task.add_done_callback(self._connects.discard)

    async def _connect(self, origin: _Origin) -> None:
        origin.connecting += 1
        connection = Connection(self._loop, self._read_timeout, lambda changed: self._changed(origin, changed))
        try:
            await connection.open(origin.host, origin.port, self._context, self._connect_timeout)
        except ConnectError as error:
            origin.connecting -= 1
            if not origin.connections:
                # Nothing else can take the queue: it fails now, not at the deadline.
                self._fail_queue(origin, error)
            return
        origin.connecting -= 1
        if not connection.closed:
            origin.connections.append(connection)
        self._pump(origin)

    def _changed(self, origin: _Origin, connection: Connection) -> None:
        if (connection.closed or connection.going_away) and connection in origin.connections:
            origin.connections.remove(connection)
        self._pump(origin)

    @staticmethod
    def _fail_queue(origin: _Origin, error: BaseException) -> None:
        queue, origin.queue = origin.queue, deque()
        for exchange in queue:
            exchange.finish(error)

    async def _shut_down(self) -> None:
        for task in list(self._connects):
            task.cancel()
        for origin in self._origins.values():
            self._fail_queue(origin, ConnectionLost("the transport was closed"))
            for connection in list(origin.connections):
                connection.abort()
        self._origins.clear()
