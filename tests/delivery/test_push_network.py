"""Network hygiene against real loopback servers: checklist D7, E1 and E2 of the Web Push notes,
for both transports the client can use."""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any

import aiohttp
import pytest
import pywebpush

from pushgate.delivery.transport import keepalive
from pushgate.delivery.errors import ConfigurationError
from pushgate.delivery.transport.keepalive import KeepAliveTransport
from pushgate.delivery.outcomes import OutcomeKind
from pushgate.delivery.webpush.requests_session import new_requests_session
from pushgate.delivery.webpush.client import MAX_CONNECT_TIMEOUT, MAX_READ_TIMEOUT, Timeouts
from tests.delivery.push_fakes import (
    SHORT_TIMEOUTS,
    Browser,
    FakeSession,
    loopback_policy,
    loopback_push_service,
    make_client,
    scripted_service,
    silent_service,
)

TRANSPORTS = ["keepalive", "requests"]


def transport(kind: str, pool_size: int = 4) -> Any:
    return KeepAliveTransport(pool_size) if kind == "keepalive" else new_requests_session(pool_size)


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_d7_a_redirect_is_never_followed(kind: str) -> None:
    # Given a push service answering 307 towards an internal path of the same host
    def answer(path: str) -> tuple[int, dict[str, str]]:
        if path == "/internal":
            return 201, {}
        return 307, {"Location": f"http://127.0.0.1:{service.port}/internal"}

    with loopback_push_service(answer) as service:
        client = make_client(transport(kind), policy=loopback_policy(service.port), timeouts=SHORT_TIMEOUTS)

        # When a message is sent there
        outcome = client.send(Browser().delivery(endpoint=f"http://127.0.0.1:{service.port}/push/abc"))

    # Then exactly one request was made, /internal was never hit, and it is a failure
    assert [request.path for request in service.received] == ["/push/abc"]
    assert outcome.kind is OutcomeKind.REDIRECTED and outcome.status_code == 307 and outcome.alarm


@pytest.mark.parametrize("path", ["send", "send_async"])
def test_d7_pywebpush_own_send_paths_follow_redirects_so_the_sender_does_not_use_them(path: str) -> None:
    # Part of why the sender has its own transport (docs/performance.md): pywebpush (2.5.0,
    # the locked version) posts through requests or aiohttp with their default of following
    # redirects. Only a requests session that refuses them (NoRedirectSession) stops it, at 11x the
    # encryption's CPU; aiohttp gets no redirect setting. If this starts failing, revisit that choice.
    browser = Browser()
    subscription = {"keys": {"p256dh": browser.p256dh, "auth": browser.auth_b64}}
    with loopback_push_service(lambda path: (201, {}) if path == "/internal" else (307, {"Location": "/internal"})) as service:
        pusher_for = {"endpoint": f"http://127.0.0.1:{service.port}/push/abc", **subscription}
        if path == "send":
            pywebpush.WebPusher(pusher_for).send(b"hello", ttl=60, timeout=2)
        else:

            async def send_async() -> None:
                async with aiohttp.ClientSession() as session:
                    await pywebpush.WebPusher(pusher_for, aiohttp_session=session).send_async(b"hello", ttl=60)

            asyncio.run(send_async())
    assert [request.path for request in service.received] == ["/push/abc", "/internal"]


def test_d7_requests_session_refuses_redirects_whatever_the_caller_asks() -> None:
    with loopback_push_service(lambda path: (201, {}) if path == "/internal" else (307, {"Location": "/internal"})) as service:
        session = new_requests_session(2)
        response = session.post(f"http://127.0.0.1:{service.port}/push/abc", data=b"x", timeout=(1, 1), allow_redirects=True)
        assert response.status_code == 307
        with pytest.raises(ValueError):
            session.post(f"http://127.0.0.1:{service.port}/push/abc", data=b"x")  # no timeout: refused
    assert [request.path for request in service.received] == ["/push/abc"]


def test_d7_keepalive_transport_refuses_to_follow_redirects() -> None:
    with pytest.raises(ValueError):
        KeepAliveTransport(1).post("http://127.0.0.1:1/x", data=b"", headers={}, timeout=(1, 1), allow_redirects=True)


def test_e1_every_post_has_bounded_connect_and_read_timeouts() -> None:
    session = FakeSession()
    make_client(session).send(Browser().delivery())
    connect, read = session.posts[0].timeout
    assert 0 < connect <= 5 and 0 < read <= 10
    assert session.posts[0].allow_redirects is False


@pytest.mark.parametrize("timeouts", [{"connect": 6}, {"read": 11}, {"connect": 0}, {"read": -1}])
def test_e1_unbounded_timeouts_are_a_configuration_error(timeouts: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        Timeouts(**timeouts)
    assert MAX_CONNECT_TIMEOUT == 5 and MAX_READ_TIMEOUT == 10


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_e1_a_hung_push_service_costs_about_the_read_timeout(kind: str) -> None:
    # Given a push service that accepts the connection and never answers
    with silent_service() as port:
        client = make_client(transport(kind), policy=loopback_policy(port), timeouts=Timeouts(connect=1.0, read=0.5))

        # When a message is sent there
        started = time.monotonic()
        outcome = client.send(Browser().delivery(endpoint=f"http://127.0.0.1:{port}/push/x"))
        elapsed = time.monotonic() - started

    # Then it gives up after about the read timeout, as a retryable failure
    assert outcome.kind is OutcomeKind.RETRY and "Timeout" in outcome.detail
    assert 0.45 <= elapsed < 2.0


@pytest.mark.parametrize("kind", TRANSPORTS)
def test_e2_connections_are_reused(kind: str) -> None:
    # Given one loopback push service
    with loopback_push_service() as service:
        client = make_client(transport(kind, pool_size=4), policy=loopback_policy(service.port), concurrency=4)
        browser = Browser()
        endpoint = f"http://127.0.0.1:{service.port}/push/x"

        # When 20 messages are sent one by one, then 20 more four at a time
        sequential = [client.send(browser.delivery(endpoint=endpoint)) for _ in range(20)]
        after_sequential = service.connections
        concurrent = client.send_many([browser.delivery(endpoint=endpoint) for _ in range(20)], max_workers=4)

    # Then every one was sent over far fewer than 20 TCP connections
    assert all(outcome.kind is OutcomeKind.SENT for outcome in sequential + concurrent)
    assert len(service.received) == 40
    assert after_sequential == 1
    assert service.connections <= 4


def test_e2_keepalive_transport_replaces_a_connection_the_server_closed() -> None:
    # Given a server that closes the connection after its answer
    with loopback_push_service(lambda path: (201, {"Connection": "close"})) as service:
        session = KeepAliveTransport(2)
        client = make_client(session, policy=loopback_policy(service.port))
        outcomes = [client.send(Browser().delivery(endpoint=f"http://127.0.0.1:{service.port}/push/x")) for _ in range(3)]

    # Then each send opens a fresh one instead of failing on the dead one
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 3
    assert service.connections == 3 == session.connections_opened


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        ("http://127.0.0.1:1/x y", {}),
        ("http://127.0.0.1:1/x\r\nX: y", {}),
        ("http://127.0.0.1:1/x", {"X-Test": "a\r\nInjected: yes"}),
        ("http://127.0.0.1:1/x", {"Bad Name": "a"}),
        ("http://127.0.0.1:1/x", {"Content-Length": "0"}),
        ("http://127.0.0.1:1/x", {"Transfer-Encoding": "chunked"}),
    ],
)
def test_keepalive_transport_refuses_request_splitting(url: str, headers: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        KeepAliveTransport(1).post(url, data=b"", headers=headers, timeout=(1, 1))


def test_keepalive_transport_drops_a_pooled_connection_the_server_closed_while_idle() -> None:
    # Given a push service that answers keep-alive, then closes the connection while it is idle
    accepted: list[int] = []

    def serve(listener: socket.socket) -> None:
        for _ in range(2):
            connection, _ = listener.accept()
            accepted.append(1)
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
            # closed right after answering, without saying "Connection: close"

    with scripted_service(serve) as port:
        client = make_client(KeepAliveTransport(2), policy=loopback_policy(port), timeouts=SHORT_TIMEOUTS)
        endpoint = f"http://127.0.0.1:{port}/push/x"

        # When two messages are sent with an idle pause between them
        first = client.send(Browser().delivery(endpoint=endpoint))
        time.sleep(0.2)
        second = client.send(Browser().delivery(endpoint=endpoint))

    # Then the dead pooled connection is noticed before use, and the second goes over a new one
    assert (first.kind, second.kind) == (OutcomeKind.SENT, OutcomeKind.SENT)
    assert len(accepted) == 2


def test_keepalive_transport_does_not_reuse_connections_idle_too_long(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keepalive, "MAX_IDLE_SECONDS", 0.0)
    with loopback_push_service() as service:
        client = make_client(KeepAliveTransport(2), policy=loopback_policy(service.port))
        for _ in range(3):
            client.send(Browser().delivery(endpoint=f"http://127.0.0.1:{service.port}/push/x"))
    assert service.connections == 3
