"""A fake push service for the sender benchmarks: an HTTP/1.1 keep-alive server on 127.0.0.1
that answers every POST with 201 after an artificial delay (the simulated push-service round trip).

It runs as a subprocess, so its work never shows up in the sender's process_time(), and it is
an asyncio protocol that does as little as it can per request: find the end of the headers, read
Content-Length bytes of body, write one canned answer. It still shares the machine with the
sender, and on a 2-vCPU VM a busy sibling vCPU makes the sender's own work cost more CPU time
(the same encryption loop measured 12-35% slower while another process spun). http.server with a
thread per connection, used before, spent several times this server's CPU per request and so
inflated the sender's CPU figures, more for a sender whose sends overlap its encryption.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from email.utils import formatdate

# What a large push service sends with a 201: about a dozen headers in all, so answers cost the
# sender what real ones do to read.
ANSWER_HEADERS = (
    ("Server", "fake-push-service"),
    ("Location", "https://push.example/m/0:1700000000000000%8f3c2a1b"),
    ("Content-Type", "text/html; charset=UTF-8"),
    ("Expires", "Mon, 01 Jan 1990 00:00:00 GMT"),
    ("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-XSS-Protection", "0"),
    ("Alt-Svc", 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'),
    ("Content-Length", "0"),
)
_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"\r\ncontent-length:"


class _Answers:
    """The canned 201, with a Date header renewed once a second."""

    def __init__(self) -> None:
        self._second = -1
        self._answer = b""

    def current(self) -> bytes:
        second = int(time.time())
        if second != self._second:
            lines = ["HTTP/1.1 201 Created", f"Date: {formatdate(second, usegmt=True)}"]
            lines += [f"{name}: {value}" for name, value in ANSWER_HEADERS]
            self._answer = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")
            self._second = second
        return self._answer


class _PushServiceProtocol(asyncio.Protocol):
    def __init__(self, answers: _Answers, delay: float) -> None:
        self._answers = answers
        self._delay = delay
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(_HEADER_END)) >= 0:
            head = bytes(self._buffer[:end]).lower()
            length_at = head.find(_CONTENT_LENGTH)
            length = 0
            if length_at >= 0:
                value_at = length_at + len(_CONTENT_LENGTH)
                line_end = head.find(b"\r\n", value_at)
                length = int(head[value_at : line_end if line_end >= 0 else len(head)])
            request_size = end + len(_HEADER_END) + length
            if len(self._buffer) < request_size:
                return
            del self._buffer[:request_size]
            if self._delay:
                asyncio.get_running_loop().call_later(self._delay, self._answer)
            else:
                self._answer()

    def _answer(self) -> None:
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(self._answers.current())


async def _serve(port: int, delay: float) -> None:
    answers = _Answers()
    # The default backlog of 100 is enough for 64 senders connecting at once; 1024 leaves room.
    server = await asyncio.get_running_loop().create_server(
        lambda: _PushServiceProtocol(answers, delay), "127.0.0.1", port, backlog=1024
    )
    print(server.sockets[0].getsockname()[1], flush=True)  # tells the parent which port was picked
    await server.serve_forever()


def serve(port: int, delay_ms: float) -> None:
    asyncio.run(_serve(port, delay_ms / 1000))


class FakePushService:
    """The fake service in a child process; `url(i)` is the endpoint of subscription i."""

    def __init__(self, delay_ms: float) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--delay-ms", str(delay_ms)], stdout=subprocess.PIPE, text=True
        )
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self._wait_until_listening()

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.port}/push/subscription-{index}"

    def _wait_until_listening(self) -> None:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("fake push service did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)

    def __enter__(self) -> "FakePushService":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    arguments = parser.parse_args()
    serve(arguments.port, arguments.delay_ms)
