"""A loopback push service for the load test: answers every POST with 201 at once and counts the
requests per path (one path per subscription endpoint), so the driver can tell when every device
of a topic has its message.

`GET /_counts?prefix=/topic/` answers `{"endpoints": <distinct paths under prefix>, "deliveries":
<requests under prefix>}`. Like bench/fake_push_service.py it is an asyncio protocol in a child
process doing as little as it can per request, so its work does not slow the stack it measures
more than a real push service's network round trip would."""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import requests

_HEADER_END = b"\r\n\r\n"
_CONTENT_LENGTH = b"\r\ncontent-length:"
_CREATED = b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"
COUNTS_PATH = "/_counts"


class _Counting(asyncio.Protocol):
    def __init__(self, counts: Counter[str]) -> None:
        self._counts = counts
        self._buffer = bytearray()
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        while (end := self._buffer.find(_HEADER_END)) >= 0:
            head = bytes(self._buffer[:end])
            lowered = head.lower()
            length = 0
            if (at := lowered.find(_CONTENT_LENGTH)) >= 0:
                value_at = at + len(_CONTENT_LENGTH)
                line_end = lowered.find(b"\r\n", value_at)
                length = int(lowered[value_at : line_end if line_end >= 0 else len(lowered)])
            size = end + len(_HEADER_END) + length
            if len(self._buffer) < size:
                return
            del self._buffer[:size]
            method, target = head.split(b"\r\n", 1)[0].split(b" ")[:2]
            self._answer(method.decode("ascii"), target.decode("ascii"))

    def _answer(self, method: str, target: str) -> None:
        assert self._transport is not None
        parts = urlsplit(target)
        if method == "GET" and parts.path == COUNTS_PATH:
            prefix = parse_qs(parts.query).get("prefix", ["/"])[0]
            matching = [count for path, count in self._counts.items() if path.startswith(prefix)]
            body = json.dumps({"endpoints": len(matching), "deliveries": sum(matching)}).encode()
            self._transport.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            return
        self._counts[parts.path] += 1
        self._transport.write(_CREATED)


async def _serve(port: int) -> None:
    counts: Counter[str] = Counter()
    server = await asyncio.get_running_loop().create_server(lambda: _Counting(counts), "127.0.0.1", port, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)  # tells the parent which port was picked
    await server.serve_forever()


class CountingPushService:
    """The service in a child process; endpoints are `url(path)`."""

    def __init__(self) -> None:
        self.process = subprocess.Popen([sys.executable, __file__], stdout=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())
        self._wait_until_listening()

    @property
    def host(self) -> str:
        """host:port, as PUSHGATE_EXTRA_PUSH_HOSTS names it."""
        return f"127.0.0.1:{self.port}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def counts(self, prefix: str) -> dict[str, int]:
        response = requests.get(self.url(COUNTS_PATH), params={"prefix": prefix}, timeout=10)
        response.raise_for_status()
        return response.json()

    def _wait_until_listening(self) -> None:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the counting push service did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    asyncio.run(_serve(parser.parse_args().port))
