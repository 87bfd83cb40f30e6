"""A minimal HTTP/1.1 client for push services: persistent connections per origin, one write per
request, and no redirect handling at all.

Why not requests: measured on the project box, one `requests.Session.post` costs 5-6x the CPU of
the RFC 8291 encryption of the message it carries (request preparation, cookie, hook and adapter
machinery a push sender never uses); a POST through this transport costs well under half of it.
With requests the sender misses its throughput and CPU targets (bench/sender_*.py). It has the
`post(url, data=, headers=, timeout=, allow_redirects=)` surface of a requests session, so the
client can use either (see requests_session.py).

Security: certificates and host names are verified (certifi's CA bundle, like requests); a 3xx
is returned as is, never followed; request and response are checked and bounded (http1.py);
timeouts are mandatory. Not supported, on purpose: HTTP/2, request retries, and proxies
(HTTPS_PROXY is ignored; a deployment that needs one must pass a requests session).
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from urllib.parse import urlsplit

from pushgate.delivery.http1 import PushResponse, read_response, request_bytes

MAX_IDLE_SECONDS = 30.0  # drop pooled connections idle longer than this: servers and NATs time them out silently

_DEFAULT_PORTS = {"https": 443, "http": 80}

Origin = tuple[str, str, int]  # scheme, host, port


def _default_tls_context() -> ssl.SSLContext:
    try:
        import certifi  # requests' CA bundle; Lambda images also have a system store
    except ImportError:  # pragma: no cover - certifi ships with requests
        return ssl.create_default_context()
    return ssl.create_default_context(cafile=certifi.where())


class _Connection:
    __slots__ = ("sock", "idle_since", "_timeout")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.idle_since = 0.0
        self._timeout: float | None = None

    def set_timeout(self, seconds: float) -> None:
        if seconds != self._timeout:  # settimeout is a system call; skip it when nothing changes
            self.sock.settimeout(seconds)
            self._timeout = seconds

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


class KeepAliveTransport:
    """Thread-safe: a connection carries one request at a time; at most `pool_size` idle
    connections are kept per origin (size it to the sender's concurrency)."""

    def __init__(self, pool_size: int = 16, tls_context: ssl.SSLContext | None = None) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self.pool_size = pool_size
        self._tls = tls_context or _default_tls_context()
        self._idle: dict[Origin, list[_Connection]] = {}
        self._lock = threading.Lock()
        self.connections_opened = 0

    def post(
        self,
        url: str,
        data: bytes = b"",
        headers: dict[str, str] | None = None,
        timeout: tuple[float, float] | float | None = None,
        allow_redirects: bool = False,
    ) -> PushResponse:
        if allow_redirects:
            raise ValueError("KeepAliveTransport never follows redirects")
        if timeout is None:
            raise ValueError("a (connect, read) timeout is required")
        connect_timeout, read_timeout = (timeout, timeout) if isinstance(timeout, (int, float)) else timeout
        parts = urlsplit(url)
        scheme, hostname, explicit_port = parts.scheme.lower(), parts.hostname, parts.port
        if scheme not in _DEFAULT_PORTS or not hostname:
            raise ValueError("only absolute http(s) URLs can be posted to")
        host_header = f"[{hostname}]" if ":" in hostname else hostname
        if explicit_port:
            host_header += f":{explicit_port}"
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        request = request_bytes(target, host_header, headers or {}, data)
        origin = (scheme, hostname, explicit_port or _DEFAULT_PORTS[scheme])

        connection = self._checkout(origin) or self._open(origin, connect_timeout)
        try:
            connection.set_timeout(read_timeout)
            connection.sock.sendall(request)
            response = read_response(connection.sock)
        except BaseException:
            connection.close()  # state unknown: never reuse a connection an error left mid-exchange
            raise
        if response.reusable:
            self._checkin(origin, connection)
        else:
            connection.close()
        return response

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection in connections:
                connection.close()

    def _open(self, origin: Origin, connect_timeout: float) -> _Connection:
        scheme, host, port = origin
        sock = socket.create_connection((host, port), timeout=connect_timeout)
        try:
            # The request goes out in one write; NODELAY keeps a short one from waiting for an ACK.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                sock = self._tls.wrap_socket(sock, server_hostname=host)  # handshake under the connect timeout
        except BaseException:
            sock.close()
            raise
        with self._lock:
            self.connections_opened += 1
        return _Connection(sock)

    def _checkout(self, origin: Origin) -> _Connection | None:
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

    def _checkin(self, origin: Origin, connection: _Connection) -> None:
        connection.idle_since = time.monotonic()
        with self._lock:
            idle = self._idle.setdefault(origin, [])
            if len(idle) < self.pool_size:
                idle.append(connection)
                return
        connection.close()
