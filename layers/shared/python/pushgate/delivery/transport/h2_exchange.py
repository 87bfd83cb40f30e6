"""One request's life on an HTTP/2 connection (`Exchange`) and every way it can end other than
with an answer. The exception texts never quote a URL or a header: the URL's path holds an APNs
device token and the headers a bearer JWT. The caller classifies all of them as retryable."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from pushgate.delivery.transport.http2 import MAX_RESPONSE_BYTES, Response

if TYPE_CHECKING:
    from pushgate.delivery.transport.h2_connection import Connection

HTTP_VERSION = "HTTP/2"


class ConnectError(ConnectionError):
    """TCP or TLS could not be set up (refused, unreachable, certificate not trusted)."""


class ConnectTimeout(ConnectError, TimeoutError):
    """TCP, TLS and the server's first SETTINGS took longer than the connect timeout."""


class Http2NotNegotiated(ConnectError):
    """The server did not choose h2 in ALPN: it does not speak HTTP/2 on this port."""


class ConnectionLost(ConnectionError):
    """The connection ended (reset, EOF, TLS or HTTP/2 protocol error) before the answer came."""


class ConnectionGoingAway(ConnectionError):
    """The server sent GOAWAY before processing this stream: it was not handled, send it again."""


class StreamReset(ConnectionError):
    """The server reset the stream (RST_STREAM) before answering it."""


class ReadTimeout(TimeoutError):
    """The stream's answer did not come within the read timeout."""


class Exchange:
    """One request and, once it ends, its Response or exception. `on_done` is called exactly once,
    on the loop thread, by whichever of answer, error or deadline comes first."""

    __slots__ = ("headers", "body", "sent", "started", "owner", "stream_id", "status", "response_headers", "chunks", "received", "result", "on_done")

    def __init__(self, headers: list[tuple[bytes, bytes]], body: bytes, on_done: Callable[[Exchange], None]) -> None:
        self.headers = headers
        self.body = body
        self.sent = 0  # bytes of the body handed to h2 so far
        self.started = 0.0
        self.owner: Connection | None = None  # the connection its stream is on, once started
        self.stream_id = 0
        self.status = 0
        self.response_headers: dict[str, str] = {}
        self.chunks: list[bytes] = []
        self.received = 0
        self.result: Response | BaseException | None = None
        self.on_done = on_done

    @property
    def done(self) -> bool:
        return self.result is not None

    def finish(self, result: Response | BaseException) -> None:
        if self.result is None:
            self.result = result
            self.on_done(self)

    def response(self) -> Response:
        body = b"".join(self.chunks)
        return Response(self.status, self.response_headers, body[:MAX_RESPONSE_BYTES], HTTP_VERSION)
