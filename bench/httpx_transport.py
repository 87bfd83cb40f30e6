"""The httpx transport the native senders used before `H2Transport`, kept as a benchmark variant
(`--transport httpx` in bench/native_*.py, and bench/webpush_http2.py): one event loop thread
owning one `httpx.AsyncClient(http1=False, http2=True)`. It costs 4-5x the CPU per request of
H2Transport, and httpcore runs at most 100 streams on a connection (docs/performance-native.md)."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "shared" / "python"))

import httpx  # noqa: E402

from pushgate.delivery.transport.http2 import (  # noqa: E402
    DEFAULT_CONNECT_TIMEOUT,
    DEFAULT_READ_TIMEOUT,
    MAX_RESPONSE_BYTES,
    DeadlineExceeded,
    Request,
    Response,
    tls_context,
)


class HttpxTransport:
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
