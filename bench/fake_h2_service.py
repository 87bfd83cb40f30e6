"""A light HTTPS server for the HTTP/2 benchmarks (native providers, Web Push over HTTP/2), run
in a child process on 127.0.0.1 so that its work never shows in the sender's process_time().

One TLS port (a certificate of the fakes' test CA) offers ALPN h2 and http/1.1: an h2 client
gets HTTP/2 (the `h2` state machine, as hypercorn and httpx use, with none of hypercorn's ASGI
machinery per request), a client that offers no ALPN gets HTTP/1.1 keep-alive, parsed as
bench/fake_push_service.py parses it. Every request is answered after the same artificial delay
(the simulated provider round trip), by its path:

- `/3/device/<token>`: 200, empty body, `apns-id` echoed (APNs's success);
- `/v1/projects/<project>/messages:send`: 200, `{"name": "projects/<project>/messages/..."}` (FCM's);
- `/token`: 200, an OAuth access token valid 3600 s, at once (Google's token endpoint);
- any other path: 201 with a large push service's dozen headers (a Web Push service's success);
- `GET /_bench/stats` (and `DELETE` to reset the peaks): what it has seen, as JSON, at once.

What it checks: nothing beyond well-formed HTTP/2 frames and HPACK, and HTTP/1.1 framing. It
verifies no signature, token, header or payload: the benchmarks first send their requests to the
honest fakes (src/pushgate_local/fakes), which do, and measure against this one. It advertises
1,000 concurrent streams, as pushgate's fakes do (APNs and FCM allow on that order), and opens its
flow-control windows wide so that request bodies never wait for a WINDOW_UPDATE.

    .venv/bin/python bench/fake_h2_service.py --cert SERVER_PEM [--delay-ms 50]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import socket
import ssl
import subprocess
import sys
import time
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fake_push_service import ANSWER_HEADERS  # noqa: E402  the same Web Push answer as the HTTP/1.1 benchmarks

HOST = "127.0.0.1"
MAX_CONCURRENT_STREAMS = 1000
WINDOW = 16 * 1024 * 1024
STATS_PATH = "/_bench/stats"
_WEBPUSH_HEADERS = tuple((name.lower(), value) for name, value in ANSWER_HEADERS if name != "Content-Length")
_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"\r\ncontent-length:"

Answer = tuple[int, list[tuple[str, str]], bytes]


class Stats:
    """Counts across all connections. `most_in_flight`: requests received and not yet answered
    at once, the figure that shows httpcore's 100-stream cap per connection."""

    def __init__(self) -> None:
        self.epoch = 0  # a connection counts once per epoch: reset_peaks starts a new one
        self.connections = {"h2": 0, "http/1.1": 0}
        self.requests = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.most_streams_on_one_connection = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "connections": dict(self.connections),
            "requests": self.requests,
            "most_in_flight": self.most_in_flight,
            "most_streams_on_one_connection": self.most_streams_on_one_connection,
        }

    def reset_peaks(self) -> None:
        self.epoch += 1
        self.most_in_flight = self.in_flight
        self.most_streams_on_one_connection = 0
        self.connections = dict.fromkeys(self.connections, 0)
        self.requests = 0


class Service:
    """What every connection shares: the delay, the answers and the counts."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.stats = Stats()
        self._second = -1
        self._date = ""

    def date(self) -> str:
        second = int(time.time())
        if second != self._second:
            self._second, self._date = second, formatdate(second, usegmt=True)
        return self._date

    def answer(self, method: str, path: str, apns_id: str | None) -> Answer:
        """The answer for one request; the caller has already waited the delay where it applies."""
        if path.startswith("/3/device/"):
            return 200, [("apns-id", apns_id or str(uuid.uuid4()))], b""
        if path.startswith("/v1/projects/") and path.endswith("/messages:send"):
            project = path.split("/")[3]
            body = json.dumps({"name": f"projects/{project}/messages/0:{time.time_ns()}%bench"}).encode()
            return 200, [("content-type", "application/json; charset=UTF-8")], body
        if path == "/token":
            body = json.dumps({"access_token": f"ya29.bench-{uuid.uuid4().hex}", "expires_in": 3600, "token_type": "Bearer"}).encode()
            return 200, [("content-type", "application/json")], body
        if path == STATS_PATH:
            if method == "DELETE":
                self.stats.reset_peaks()
            return 200, [("content-type", "application/json")], json.dumps(self.stats.as_json()).encode()
        return 201, [("date", self.date()), *_WEBPUSH_HEADERS], b""

    def is_immediate(self, path: str) -> bool:
        return path in ("/token", STATS_PATH)

    def started(self, path: str) -> None:
        if path == STATS_PATH:
            return
        self.stats.requests += 1
        self.stats.in_flight += 1
        self.stats.most_in_flight = max(self.stats.most_in_flight, self.stats.in_flight)

    def finished(self, path: str) -> None:
        if path != STATS_PATH:
            self.stats.in_flight -= 1

    def count_connection(self, protocol: str, counted_epoch: int) -> int:
        """Counts a connection that carries a request, once per epoch; returns the epoch counted."""
        if counted_epoch != self.stats.epoch:
            self.stats.connections[protocol] += 1
        return self.stats.epoch


class _Http2Protocol:
    """One HTTP/2 connection. Answers that fall due in the same loop iteration leave in one write."""

    def __init__(self, service: Service, transport: asyncio.Transport) -> None:
        self._service = service
        self._transport = transport
        config = h2.config.H2Configuration(
            client_side=False,
            header_encoding=None,
            validate_inbound_headers=False,
            normalize_inbound_headers=False,
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
        )
        self._h2 = h2.connection.H2Connection(config)
        # The sender runs on the same two cores: the less CPU an answer costs here, the less the
        # figures measure this server. Huffman coding of the answers' headers is optional (RFC 7541).
        self._h2.encoder.encode = functools.partial(self._h2.encoder.encode, huffman=False)
        self._h2.local_settings = h2.settings.Settings(
            client=False,
            initial_values={
                h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: MAX_CONCURRENT_STREAMS,
                h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: WINDOW,
            },
        )
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(WINDOW)
        self._requests: dict[int, tuple[str, str, str | None]] = {}  # stream -> method, path, apns-id
        self._open = 0
        self._counted_epoch = -1
        self._flush_scheduled = False
        self._flush()

    def data_received(self, data: bytes) -> None:
        try:
            events = self._h2.receive_data(data)
        except Exception:  # noqa: BLE001 - a broken client: drop the connection, keep serving others
            self._transport.close()
            return
        for event in events:
            if isinstance(event, h2.events.RequestReceived):
                fields = {name: value for name, value in event.headers}
                path = fields.get(b":path", b"/").decode("latin-1")
                apns_id = fields.get(b"apns-id")
                self._requests[event.stream_id] = (
                    fields.get(b":method", b"GET").decode("latin-1"),
                    path,
                    apns_id.decode("latin-1") if apns_id else None,
                )
                self._begin(path)
            elif isinstance(event, h2.events.DataReceived):
                self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded):
                self._schedule(event.stream_id)
            elif isinstance(event, h2.events.StreamReset):
                if (request := self._requests.pop(event.stream_id, None)) is not None:
                    self._end(request[1])
            elif isinstance(event, h2.events.ConnectionTerminated):
                self._transport.close()
        self._flush()

    def _begin(self, path: str) -> None:
        self._service.started(path)
        if path == STATS_PATH:
            return
        self._counted_epoch = self._service.count_connection("h2", self._counted_epoch)
        self._open += 1
        stats = self._service.stats
        stats.most_streams_on_one_connection = max(stats.most_streams_on_one_connection, self._open)

    def _end(self, path: str) -> None:
        self._service.finished(path)
        if path != STATS_PATH:
            self._open -= 1

    def _schedule(self, stream_id: int) -> None:
        path = self._requests[stream_id][1]
        if self._service.delay and not self._service.is_immediate(path):
            asyncio.get_running_loop().call_later(self._service.delay, self._answer, stream_id)
        else:
            self._answer(stream_id)

    def _answer(self, stream_id: int) -> None:
        request = self._requests.pop(stream_id, None)
        if request is None or self._transport.is_closing():
            return
        method, path, apns_id = request
        self._end(path)
        status, headers, body = self._service.answer(method, path, apns_id)
        fields = [(":status", str(status)), *headers, ("content-length", str(len(body)))]
        self._h2.send_headers(stream_id, fields, end_stream=not body)
        if body:
            self._h2.send_data(stream_id, body, end_stream=True)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if (outgoing := self._h2.data_to_send()) and not self._transport.is_closing():
            self._transport.write(outgoing)

    def connection_lost(self) -> None:
        for _, path, _ in self._requests.values():
            self._end(path)
        self._requests.clear()


class _Http1Protocol:
    """One HTTP/1.1 keep-alive connection; requests answered in order, one at a time (no pipelining
    is needed: KeepAliveTransport sends one request per connection and waits)."""

    def __init__(self, service: Service, transport: asyncio.Transport) -> None:
        self._service = service
        self._transport = transport
        self._buffer = bytearray()
        self._counted_epoch = -1
        self._pending: str | None = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while self._pending is None and (end := self._buffer.find(_HEADER_END)) >= 0:
            head = bytes(self._buffer[:end])
            lowered = head.lower()
            length, length_at = 0, lowered.find(_CONTENT_LENGTH)
            if length_at >= 0:
                value_at = length_at + len(_CONTENT_LENGTH)
                line_end = lowered.find(b"\r\n", value_at)
                length = int(lowered[value_at : line_end if line_end >= 0 else len(lowered)])
            size = end + len(_HEADER_END) + length
            if len(self._buffer) < size:
                return
            del self._buffer[:size]
            method, _, rest = head.partition(b"\r\n")[0].decode("latin-1").partition(" ")
            path = rest.partition(" ")[0].partition("?")[0]
            if path != STATS_PATH:
                self._counted_epoch = self._service.count_connection("http/1.1", self._counted_epoch)
            self._service.started(path)
            self._pending = path
            if self._service.delay and not self._service.is_immediate(path):
                asyncio.get_running_loop().call_later(self._service.delay, self._answer, method)
            else:
                self._answer(method)

    def _answer(self, method: str) -> None:
        path, self._pending = self._pending, None
        if path is None or self._transport.is_closing():
            return
        self._service.finished(path)
        status, headers, body = self._service.answer(method, path, None)
        reason = {200: "OK", 201: "Created"}.get(status, "")
        lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers), f"content-length: {len(body)}"]
        self._transport.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        if self._buffer:
            self.data_received(b"")

    def connection_lost(self) -> None:
        if self._pending is not None:
            self._service.finished(self._pending)
            self._pending = None


class _Connection(asyncio.Protocol):
    """Picks HTTP/2 or HTTP/1.1 by what ALPN agreed (asyncio calls connection_made after the handshake)."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._protocol: _Http2Protocol | _Http1Protocol | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        tls = transport.get_extra_info("ssl_object")
        if tls is not None and tls.selected_alpn_protocol() == "h2":
            self._protocol = _Http2Protocol(self._service, transport)
        else:
            self._protocol = _Http1Protocol(self._service, transport)

    def data_received(self, data: bytes) -> None:
        assert self._protocol is not None
        self._protocol.data_received(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._protocol is not None:
            self._protocol.connection_lost()


def tls_context(server_pem: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(server_pem)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


async def _serve(port: int, delay: float, server_pem: str) -> None:
    service = Service(delay)
    server = await asyncio.get_running_loop().create_server(
        lambda: _Connection(service), HOST, port, ssl=tls_context(server_pem), backlog=1024
    )
    print(server.sockets[0].getsockname()[1], flush=True)  # tells the parent which port was picked
    await server.serve_forever()


class FakeH2Service:
    """The server in a child process. `url` is its https origin; `stats()` and `reset_stats()`
    go over a connection of their own, not counted in the figures."""

    def __init__(self, delay_ms: float, server_pem: Path | str, ca_file: Path | str) -> None:
        self.ca_file = str(ca_file)
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--delay-ms", str(delay_ms), "--cert", str(server_pem)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self.url = f"https://{HOST}:{self.port}"
        self._wait_until_listening()

    def _wait_until_listening(self) -> None:
        for _ in range(100):
            try:
                socket.create_connection((HOST, self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("fake HTTP/2 service did not start")

    def _stats_request(self, method: str) -> dict[str, Any]:
        import httpx  # only the parent needs it

        context = ssl.create_default_context(cafile=self.ca_file)
        with httpx.Client(verify=context, timeout=5.0, trust_env=False) as client:
            answer = client.request(method, self.url + STATS_PATH)
            answer.raise_for_status()
            return answer.json()

    def stats(self) -> dict[str, Any]:
        return self._stats_request("GET")

    def reset_stats(self) -> None:
        self._stats_request("DELETE")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> FakeH2Service:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--cert", required=True, help="PEM with the server's key and certificate chain")
    arguments = parser.parse_args()
    asyncio.run(_serve(arguments.port, arguments.delay_ms / 1000, arguments.cert))
