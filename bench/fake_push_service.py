"""A fake push service for the sender benchmarks: a threaded HTTP/1.1 server on 127.0.0.1 that
answers every POST with 201 after an artificial delay (the simulated push-service round trip).

Run it as a subprocess (`start_fake_push_service`), so its CPU and its threads never compete
with the sender being measured for the GIL or show up in the sender's process_time().
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


# What a large push service sends with a 201 besides Server and Date (which http.server adds):
# about a dozen headers in all, so answers cost the sender what real ones do to read.
ANSWER_HEADERS = (
    ("Location", "https://push.example/m/0:1700000000000000%8f3c2a1b"),
    ("Content-Type", "text/html; charset=UTF-8"),
    ("Expires", "Mon, 01 Jan 1990 00:00:00 GMT"),
    ("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
    ("X-XSS-Protection", "0"),
    ("Alt-Svc", 'h3=":443"; ma=2592000,h3-29=":443"; ma=2592000'),
)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real push services do
    delay = 0.0

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.delay:
            time.sleep(self.delay)
        self.send_response(201)
        for name, value in ANSWER_HEADERS:
            self.send_header(name, value)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default backlog of 5 drops connections when 64 senders connect at once


def serve(port: int, delay_ms: float) -> None:
    _Handler.delay = delay_ms / 1000
    server = _Server(("127.0.0.1", port), _Handler)
    print(server.server_address[1], flush=True)  # tells the parent which port was picked
    server.serve_forever()


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
