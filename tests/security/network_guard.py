"""Records every outbound connection attempt the code under test makes, and lets none through.

Name resolution and socket connects are the two places any HTTP client (the Web Push sender's
KeepAliveTransport, its HTTP/2 transport, requests, urllib) has to pass before a byte leaves the
machine. While the guard is installed each of them is recorded and fails with an OSError, as an
unreachable network would: so a test can assert that nothing was even attempted, and no test can
ever reach a real host. moto answers boto3 in-process, without sockets, so AWS calls are unaffected."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest


@dataclass
class OutboundAttempts:
    """What was attempted, in order: ("resolve", host, port) or ("connect", address)."""

    attempts: list[tuple[Any, ...]] = field(default_factory=list)

    def clear(self) -> None:
        self.attempts.clear()

    def __len__(self) -> int:
        return len(self.attempts)


@contextmanager
def no_outbound_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[OutboundAttempts]:
    recorded = OutboundAttempts()

    def refused(*what: Any) -> OSError:
        recorded.attempts.append(what)
        return OSError(101, "network unreachable (tests/security/network_guard.py)")

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        raise refused("resolve", host, port)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
        raise refused("connect", address)

    def connect(self: socket.socket, address: Any) -> None:
        raise refused("connect", address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        refused("connect", address)
        return 101

    with monkeypatch.context() as patch:
        patch.setattr(socket, "getaddrinfo", getaddrinfo)
        patch.setattr(socket, "create_connection", create_connection)
        patch.setattr(socket.socket, "connect", connect)
        patch.setattr(socket.socket, "connect_ex", connect_ex)
        yield recorded
