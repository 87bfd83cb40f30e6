"""What every fake provider stands on: a test CA made at start (trustme) and a real HTTP/2 server
over TLS on loopback (hypercorn), running an ASGI app on a thread of its own.

The senders trust the CA only when the deployment names its file (PUSHGATE_PROVIDER_CA_FILE);
nothing else on the machine does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import tempfile
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import trustme
from hypercorn.asyncio import serve
from hypercorn.config import Config

HOST = "127.0.0.1"  # loopback only: never reachable from another machine

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass(frozen=True)
class HttpRequest:
    """One request as the ASGI app saw it; headers in lower case, the last value of a repeated one."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    http_version: str

    def json(self) -> Any:
        return json.loads(self.body)


class TestCertificateAuthority:
    """One CA for every fake of a process; its certificate is written where the senders can be told."""

    def __init__(self, directory: Path | None = None) -> None:
        self._directory = directory or Path(tempfile.mkdtemp(prefix="pushgate-fake-ca-"))
        self._directory.mkdir(parents=True, exist_ok=True)
        self._ca = trustme.CA(organization_name="pushgate fake providers")
        self.ca_file = self._directory / "fake-providers-ca.pem"
        self._ca.cert_pem.write_to_path(str(self.ca_file))
        self._issued = self._ca.issue_cert(HOST, "localhost")
        self.server_pem = self._directory / "fake-providers-server.pem"
        self._issued.private_key_and_cert_chain_pem.write_to_path(str(self.server_pem))


async def read_request(scope: Scope, receive: Receive, limit: int = 1 << 20) -> HttpRequest:
    body = bytearray()
    while True:
        message = await receive()
        body += message.get("body", b"")
        if len(body) > limit or not message.get("more_body"):
            break
    headers = {name.decode("latin-1").lower(): value.decode("latin-1") for name, value in scope["headers"]}
    return HttpRequest(
        method=scope["method"],
        path=scope["path"],
        query=scope.get("query_string", b"").decode("latin-1"),
        headers=headers,
        body=bytes(body),
        http_version=scope.get("http_version", ""),
    )


async def respond(send: Send, status: int, body: object = None, headers: dict[str, str] | None = None) -> None:
    raw = b"" if body is None else json.dumps(body).encode()
    header_list = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    if body is not None:
        header_list.append((b"content-type", b"application/json"))
    header_list.append((b"content-length", str(len(raw)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": header_list})
    await send({"type": "http.response.body", "body": raw})


class TlsServer:
    """Serves `app` over TLS with ALPN h2 (and http/1.1, so that a fake can refuse it in words)
    on a loopback port (0: a free one). `url` is known once `start()` returns."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]], ca: TestCertificateAuthority, port: int = 0) -> None:
        self._app = app
        self._ca = ca
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((HOST, port))
        self._socket.listen(128)
        self.port = self._socket.getsockname()[1]
        self.url = f"https://{HOST}:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._stopping: asyncio.Event | None = None
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"fake-provider-{self.port}", daemon=True)

    def _config(self) -> Config:
        config = Config()
        config.bind = [f"fd://{self._socket.fileno()}"]
        config.certfile = str(self._ca.server_pem)
        config.keyfile = str(self._ca.server_pem)
        config.alpn_protocols = ["h2", "http/1.1"]
        config.h2_max_concurrent_streams = 1000  # what APNs and FCM allow a client, give or take
        # Providers keep a connection for hours; hypercorn's default closes one with GOAWAY after
        # 1000 requests, failing the streams still in flight on it.
        config.keep_alive_max_requests = 1 << 62
        config.accesslog = None
        config.errorlog = None
        config.graceful_timeout = 0.5
        return config

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._stopping = asyncio.Event()
        self._started.set()
        self._loop.run_until_complete(serve(self._app, self._config(), shutdown_trigger=self._stopping.wait))

    def start(self) -> TlsServer:
        self._thread.start()
        self._started.wait()
        return self

    def stop(self) -> None:
        if self._stopping is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(timeout=5)
        with contextlib.suppress(OSError):  # hypercorn closes the socket it was handed
            self._socket.close()

    def __enter__(self) -> TlsServer:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
