"""What the native senders (FCM HTTP v1, APNs) need from an HTTP/2 client, whichever one it is:
the request and response they exchange, the client's one call, and the rules that hold for every
provider: TLS verified (the public CAs, plus one CA file when the deployment names one for its
loopback fakes, and ALPN h2), timeouts on connect and read, redirects never followed, and a
deadline for the whole list so that a stalled provider cannot hold a batch past its time.

The client the senders use is `h2_transport.H2Transport` (on `h2` alone); `bench/httpx_transport.py`
keeps the httpx one it replaced, as a benchmark variant (docs/performance.md)."""

from __future__ import annotations

import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import certifi

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


class Http2Client(Protocol):
    def send_all(self, requests: Sequence[Request], deadline_seconds: float) -> list[Response | BaseException]:
        """Every request at once; an answer or the exception that ended it, in the same order."""
        ...
