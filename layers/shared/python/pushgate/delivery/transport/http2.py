"""HTTP/2 to the native providers (FCM HTTP v1, APNs): many streams on one TLS connection per
provider host, kept for the container's life.

One event loop runs on a thread of its own and owns one `httpx.AsyncClient` (HTTP/2 only, h2
underneath). A caller on any thread hands it a list of requests and gets one answer or one
exception per request, in order: the requests of a batch are all in flight at once, and the
messages processed side by side (sqs_entry's side_by_side) share the same connections.

What the providers' hosts get is fixed by the caller; this module adds only the rules that hold
for every provider: TLS verified (the system's CAs, plus one CA file when the deployment names
one for its loopback fakes), timeouts on connect and read, redirects never followed, and a
deadline for the whole list so that a stalled provider cannot hold a batch past its time."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import certifi
import httpx

DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 10.0
MAX_RESPONSE_BYTES = 64 * 1024  # provider answers are small JSON; more is not read


@dataclass(frozen=True)
class Request:
    method: str
    url: str
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)  # bearer tokens live here
    body: bytes = field(default=b"", repr=False)


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]  # names in lower case
    body: bytes
    http_version: str


class DeadlineExceeded(TimeoutError):
    """The request had not been answered when the list's deadline came."""


def tls_context(ca_file: str | None = None) -> ssl.SSLContext:
    """The public CAs; a deployment's own CA file only when it names one (the local stack's fakes)."""
    context = ssl.create_default_context(cafile=certifi.where())
    if ca_file:
        context.load_verify_locations(cafile=ca_file)
    context.set_alpn_protocols(["h2"])
    return context


class Http2Transport:
    """Thread-safe. One per container and provider family; `close()` only in tests."""

    def __init__(
        self,
        ca_file: str | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        max_connections: int = 10,
    ) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="http2-transport", daemon=True)
        self._thread.start()
        timeout = httpx.Timeout(read_timeout, connect=connect_timeout)
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        context = tls_context(ca_file)

        async def make_client() -> httpx.AsyncClient:
            # Built on the loop's own thread: the client's pool belongs to this loop.
            return httpx.AsyncClient(
                http1=False, http2=True, verify=context, timeout=timeout, limits=limits, follow_redirects=False, trust_env=False
            )

        self._client = asyncio.run_coroutine_threadsafe(make_client(), self._loop).result()

    def send_all(self, requests: Sequence[Request], deadline_seconds: float) -> list[Response | BaseException]:
        """Every request at once; an answer or the exception that ended it, in the same order."""
        if not requests:
            return []
        future = asyncio.run_coroutine_threadsafe(self._send_all(requests, deadline_seconds), self._loop)
        return future.result()

    async def _send_all(self, requests: Sequence[Request], deadline_seconds: float) -> list[Response | BaseException]:
        tasks = [asyncio.ensure_future(self._send(request)) for request in requests]
        done, pending = await asyncio.wait(tasks, timeout=deadline_seconds)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        results: list[Response | BaseException] = []
        for task in tasks:
            if task in pending:
                results.append(DeadlineExceeded("no answer before the batch's deadline"))
            elif (error := task.exception()) is not None:
                results.append(error)
            else:
                results.append(task.result())
        return results

    async def _send(self, request: Request) -> Response:
        async with self._client.stream(request.method, request.url, headers=dict(request.headers), content=request.body) as answer:
            body = bytearray()
            async for chunk in answer.aiter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    break
            return Response(
                status=answer.status_code,
                headers={name.lower(): value for name, value in answer.headers.items()},
                body=bytes(body[:MAX_RESPONSE_BYTES]),
                http_version=answer.http_version,
            )

    def close(self) -> None:
        asyncio.run_coroutine_threadsafe(self._client.aclose(), self._loop).result()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
