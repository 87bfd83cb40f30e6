"""A minimal HTTP/1.1 client for push services: persistent connections per origin, one write per
request, no redirect handling at all, and many requests in flight from a single thread.

Why not requests: measured on the project box, one `requests.Session.post` costs 5-6x the CPU of
the RFC 8291 encryption of the message it carries (request preparation, cookie, hook and adapter
machinery a push sender never uses); a POST through this transport costs well under half of it.
Why not threads: a thread per request in flight cost about 24 context switches and 250-300 us of
system time per delivery (GIL hand-offs), more than the encryption itself. `post_many` instead
drives non-blocking sockets from one `selectors` loop, taking the next requests from its iterable
only when slots are free, so encrypting the next messages overlaps the network waits of the others.

It has the `post(url, data=, headers=, timeout=, allow_redirects=)` surface of a requests session,
so the client can use either (see requests_session.py).

Security: certificates and host names are verified (certifi's CA bundle, like requests); a 3xx
is returned as is, never followed; request and response are checked and bounded (http1.py);
timeouts are mandatory. Not supported, on purpose: HTTP/2, request retries, and proxies
(HTTPS_PROXY is ignored; a deployment that needs one must pass a requests session).
"""

from __future__ import annotations

import errno
import itertools
import os
import select
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pushgate.delivery.transport.http1 import PushResponse, ResponseParser, request_bytes
from pushgate.urls import DEFAULT_PORTS, authority

MAX_IDLE_SECONDS = 30.0  # drop pooled connections idle longer than this: servers and NATs time them out silently

_READ_SIZE = 65536

Origin = tuple[str, str, int]  # scheme, host, port
Timeout = tuple[float, float] | float | None
Result = PushResponse | Exception


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One POST for `post_many`."""

    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


def _default_tls_context() -> ssl.SSLContext:
    try:
        import certifi  # requests' CA bundle; Lambda images also have a system store
    except ImportError:  # pragma: no cover - certifi ships with requests
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


def _new_selector() -> selectors.BaseSelector:
    return selectors.PollSelector() if hasattr(selectors, "PollSelector") else selectors.DefaultSelector()


def _split_timeout(timeout: Timeout) -> tuple[float, float]:
    if timeout is None:
        raise ValueError("a (connect, read) timeout is required")
    return (timeout, timeout) if isinstance(timeout, (int, float)) else timeout


def _prepare(request: OutgoingRequest) -> tuple[Origin, bytes]:
    """The origin to connect to and the bytes to send; ValueError for anything unsafe."""
    parts = urlsplit(request.url)
    url_authority = authority(parts.scheme, parts.netloc)
    scheme, hostname, explicit_port = url_authority.scheme, url_authority.hostname, url_authority.port
    if scheme not in DEFAULT_PORTS or not hostname:
        raise ValueError("only absolute http(s) URLs can be posted to")
    host_header = f"[{hostname}]" if ":" in hostname else hostname
    if explicit_port:
        host_header += f":{explicit_port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    wire = request_bytes(target, host_header, request.headers, request.body)
    return (scheme, hostname, explicit_port or DEFAULT_PORTS[scheme]), wire


class _Connection:
    __slots__ = ("sock", "idle_since")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.idle_since = 0.0

    def still_usable(self, now: float) -> bool:
        if now - self.idle_since > MAX_IDLE_SECONDS:
            return False
        # An idle connection has nothing to read. Readable means the server closed it (EOF) or
        # sent something unasked; either way it must not carry the next request.
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return False
        poller = select.poll()
        poller.register(self.sock, select.POLLIN)
        return not poller.poll(0)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


class _Exchange:
    """One request in flight: connecting, TLS handshake, sending, then reading the answer."""

    __slots__ = ("index", "origin", "wire", "sent", "connection", "addresses", "phase", "deadline", "events", "parser")

    CONNECTING, HANDSHAKE, SENDING, READING = range(4)

    def __init__(self, index: int, origin: Origin, wire: bytes) -> None:
        self.index = index
        self.origin = origin
        self.wire = memoryview(wire)
        self.sent = 0
        self.connection: _Connection | None = None
        self.addresses: list[tuple] = []
        self.phase = _Exchange.SENDING
        self.deadline = 0.0
        self.events = 0  # what the selector waits for on this exchange's socket; 0 = not registered
        self.parser = ResponseParser()


class KeepAliveTransport:
    """Connections are kept per origin (at most `pool_size` idle each) across calls, so one
    transport per container reuses them from batch to batch. `post_many` keeps at most
    `pool_size` requests in flight. The idle pool is guarded by a lock; one call's exchanges
    belong to the thread that made it."""

    def __init__(self, pool_size: int = 16, tls_context: ssl.SSLContext | None = None) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.pool_size = pool_size
        self.tls = tls_context or _default_tls_context()
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()
        self.connections_opened = 0

    def post(
        self,
        url: str,
        data: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: Timeout = None,
        allow_redirects: bool = False,
    ) -> PushResponse:
        """One POST, requests-style: returns the answer or raises OSError, http.client.HTTPException
        (network, TLS, malformed answer) or ValueError (unsafe request)."""
        if allow_redirects:
            raise ValueError("KeepAliveTransport never follows redirects")
        result = self.post_many([OutgoingRequest(url, data, headers or {})], timeout)[0]
        if isinstance(result, Exception):
            raise result
        return result

    def post_many(
        self, requests: Iterable[OutgoingRequest], timeout: Timeout, concurrency: int | None = None
    ) -> list[Result]:
        """Send every request the iterable yields, at most `concurrency` (default `pool_size`) at a
        time, and return, in the iterable's order, each one's PushResponse or the exception that
        ended it (never raised: one bad endpoint must not cost the others their answers). The
        iterable is consumed lazily, one item per free slot.

        The free slots are filled in waves: every item for them is taken from the iterable (where
        the client encrypts) before the first of them is written. Writing each request as soon as
        it was encrypted cost about 0.4x the encryption's CPU more per delivery (bench/sender_cpu.py,
        batches of 50: 1.83x against 1.41x), with sends, wake-ups and encryption interleaved one by
        one. The sender's batches fit in one wave, and a wave's last request leaves when it would
        have anyway. Calls with more requests than `concurrency` refill more slots at once, so
        their first requests wait longer: 45x against 49x the plain pywebpush loop at 50 ms
        (bench/sender_throughput.py with 400 requests a call).
        """
        connect_timeout, read_timeout = _split_timeout(timeout)
        slots = max(1, min(concurrency or self.pool_size, self.pool_size))
        with _Batch(self, connect_timeout, read_timeout) as batch:
            pending = iter(requests)
            exhausted = False
            while True:
                while not exhausted and len(batch.in_flight) < slots:  # again if a wave ended at once
                    free = slots - len(batch.in_flight)
                    wave = list(itertools.islice(pending, free))
                    exhausted = len(wave) < free
                    for request in wave:
                        batch.begin(request)
                if not batch.in_flight:
                    return batch.results  # type: ignore[return-value]  # every slot is filled by now
                batch.wait()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def checkout(self, origin: Origin) -> _Connection | None:
        now = time.monotonic()
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                if not idle:
                    return None
                connection = idle.pop()  # most recently used first: the likeliest still alive
            if connection.still_usable(now):
                return connection
            connection.close()

    def checkin(self, origin: Origin, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.pool_size:
                idle.append(connection)
                return
        connection.close()

    def opened(self) -> None:
        with self._lock:
            self.connections_opened += 1


class _Batch:
    """The exchanges of one post_many call, driven step by step by one selector. Each step method
    returns nothing: an exchange that ends leaves `in_flight` and fills its slot in `results`."""

    def __init__(self, transport: KeepAliveTransport, connect_timeout: float, read_timeout: float) -> None:
        self.transport = transport
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.results: list[Result | None] = []
        self.in_flight: set[_Exchange] = set()
        # poll(2) where there is one (Linux, macOS): registering a socket with it is bookkeeping in
        # this process, while epoll pays a system call to register each request's socket and one
        # to unregister it. A batch waits only a few times, so poll's scan of at most `pool_size`
        # sockets per wait costs less: 2% of the sender's CPU per delivery, measured.
        self.selector = _new_selector()

    def __enter__(self) -> "_Batch":
        return self

    def __exit__(self, *exc: object) -> None:
        for exchange in self.in_flight:  # only when something unexpected escaped post_many's loop
            if exchange.connection is not None:
                exchange.connection.close()
        self.selector.close()

    def begin(self, request: OutgoingRequest) -> None:
        index = len(self.results)
        self.results.append(None)
        try:
            origin, wire = _prepare(request)
        except ValueError as exc:
            self.results[index] = exc
            return
        exchange = _Exchange(index, origin, wire)
        self.in_flight.add(exchange)
        exchange.connection = self.transport.checkout(origin)
        if exchange.connection is not None:
            self._start_sending(exchange)
            return
        exchange.deadline = time.monotonic() + self.connect_timeout
        try:
            # Resolution blocks; it happens once per new connection, and connections are reused.
            exchange.addresses = socket.getaddrinfo(origin[1], origin[2], type=socket.SOCK_STREAM)
        except OSError as exc:
            self._end(exchange, exc)
            return
        self._connect_next(exchange)

    def wait(self) -> None:
        """Wait for the first socket ready or deadline passed, and take the steps that allows."""
        nearest = min(exchange.deadline for exchange in self.in_flight)
        for key, _ in self.selector.select(max(nearest - time.monotonic(), 0.0)):
            self._advance(key.data)
        now = time.monotonic()
        for exchange in [exchange for exchange in self.in_flight if exchange.deadline <= now]:
            connecting = exchange.phase in (_Exchange.CONNECTING, _Exchange.HANDSHAKE)
            self._end(exchange, TimeoutError("connection not established in time" if connecting else "push service did not answer in time"))

    def _advance(self, exchange: _Exchange) -> None:
        if exchange.phase == _Exchange.CONNECTING:
            self._check_connected(exchange)
        elif exchange.phase == _Exchange.HANDSHAKE:
            self._handshake(exchange)
        elif exchange.phase == _Exchange.SENDING:
            self._send(exchange)
        else:
            self._receive(exchange)

    def _connect_next(self, exchange: _Exchange) -> None:
        family, kind, protocol, _, address = exchange.addresses.pop(0)
        try:
            sock = socket.socket(family, kind, protocol)
        except OSError as exc:  # out of file descriptors, or a family this host lacks
            self._end(exchange, exc)
            return
        exchange.connection = _Connection(sock)
        try:
            sock.setblocking(False)
            # The request goes out in one write; NODELAY keeps a short one from waiting for an ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            code = sock.connect_ex(address)
        except OSError as exc:
            self._end(exchange, exc)
            return
        if code not in (0, errno.EINPROGRESS):
            self._next_address_or_end(exchange, code)
            return
        self.transport.opened()
        exchange.phase = _Exchange.CONNECTING
        self._watch(exchange, selectors.EVENT_WRITE)

    def _check_connected(self, exchange: _Exchange) -> None:
        assert exchange.connection is not None
        code = exchange.connection.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if code:
            self._next_address_or_end(exchange, code)
            return
        exchange.addresses = []
        scheme, host, _ = exchange.origin
        if scheme != "https":
            self._start_sending(exchange)
            return
        self._unwatch(exchange)  # wrapping replaces the socket object the selector knows
        try:
            exchange.connection.sock = self.transport.tls.wrap_socket(
                exchange.connection.sock, server_hostname=host, do_handshake_on_connect=False
            )
        except (OSError, ValueError) as exc:
            self._end(exchange, exc)
            return
        exchange.phase = _Exchange.HANDSHAKE
        self._handshake(exchange)

    def _next_address_or_end(self, exchange: _Exchange, code: int) -> None:
        self._unwatch(exchange)
        assert exchange.connection is not None
        exchange.connection.close()
        if exchange.addresses:
            self._connect_next(exchange)
        else:
            self._end(exchange, OSError(code, os.strerror(code)))

    def _handshake(self, exchange: _Exchange) -> None:
        """Certificate and host name are verified here (the context's CERT_REQUIRED, check_hostname),
        still under the connect deadline."""
        assert exchange.connection is not None
        if self._step(exchange, exchange.connection.sock.do_handshake):  # type: ignore[attr-defined]
            self._start_sending(exchange)

    def _start_sending(self, exchange: _Exchange) -> None:
        exchange.phase = _Exchange.SENDING
        exchange.deadline = time.monotonic() + self.read_timeout
        self._send(exchange)

    def _send(self, exchange: _Exchange) -> None:
        assert exchange.connection is not None
        sock = exchange.connection.sock

        def write_all() -> None:
            while exchange.sent < len(exchange.wire):
                exchange.sent += sock.send(exchange.wire[exchange.sent :])

        if self._step(exchange, write_all):
            exchange.phase = _Exchange.READING
            exchange.deadline = time.monotonic() + self.read_timeout
            self._watch(exchange, selectors.EVENT_READ)

    def _receive(self, exchange: _Exchange) -> None:
        assert exchange.connection is not None
        sock = exchange.connection.sock
        answer: list[PushResponse] = []

        def read() -> None:
            while (response := exchange.parser.feed(sock.recv(_READ_SIZE))) is None:
                # A TLS socket may hold decrypted bytes the selector cannot see: drain it now.
                if not isinstance(sock, ssl.SSLSocket) or not sock.pending():
                    raise BlockingIOError  # the rest has not arrived yet
            answer.append(response)

        if not self._step(exchange, read, waiting_for=selectors.EVENT_READ):
            return
        response = answer[0]
        self._unwatch(exchange)
        self.in_flight.discard(exchange)
        self.results[exchange.index] = response
        if response.reusable:
            self.transport.checkin(exchange.origin, exchange.connection)
        else:
            exchange.connection.close()

    def _step(self, exchange: _Exchange, step: Callable[[], None], waiting_for: int = selectors.EVENT_WRITE) -> bool:
        """Run a non-blocking step. True when it completed; False when the socket must become ready
        first (the selector is told which way) or the exchange ended with an error."""
        try:
            step()
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError) as wait:
            if isinstance(wait, ssl.SSLWantReadError):
                self._watch(exchange, selectors.EVENT_READ)
            elif isinstance(wait, ssl.SSLWantWriteError):
                self._watch(exchange, selectors.EVENT_WRITE)
            else:
                self._watch(exchange, waiting_for)
            return False
        except Exception as exc:  # OSError, or http.client.HTTPException for a malformed answer
            self._end(exchange, exc)
            return False
        return True

    def _end(self, exchange: _Exchange, error: Exception) -> None:
        """State unknown: a connection an error left mid-exchange is never reused."""
        self._unwatch(exchange)
        if exchange.connection is not None:
            exchange.connection.close()
        self.in_flight.discard(exchange)
        self.results[exchange.index] = error

    def _watch(self, exchange: _Exchange, events: int) -> None:
        assert exchange.connection is not None
        if exchange.events == events:
            return
        if exchange.events:
            self.selector.modify(exchange.connection.sock, events, exchange)
        else:
            self.selector.register(exchange.connection.sock, events, exchange)
        exchange.events = events

    def _unwatch(self, exchange: _Exchange) -> None:
        if exchange.events and exchange.connection is not None:
            self.selector.unregister(exchange.connection.sock)
        exchange.events = 0
