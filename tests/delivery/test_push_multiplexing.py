"""KeepAliveTransport.post_many: many requests in flight from one thread, against real loopback
servers. Concurrency is proven with barriers (a sequential sender would break them), never with
timings."""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from pushgate.delivery.transport import keepalive
from pushgate.delivery.transport.http1 import PushResponse
from pushgate.delivery.transport.keepalive import KeepAliveTransport, OutgoingRequest
from pushgate.delivery.outcomes import OutcomeKind
from pushgate.delivery.webpush.client import Delivery, Timeouts
from tests.delivery.push_fakes import (
    Browser,
    MeetingPoint,
    closed_port,
    loopback_policy,
    loopback_push_service,
    make_client,
    scripted_service,
    silent_service,
)

TIMEOUT = (1.0, 1.0)


def test_requests_are_in_flight_together_up_to_the_concurrency() -> None:
    # Given a push service that answers only when four requests are waiting at once
    meeting = MeetingPoint(parties=4)
    with loopback_push_service(meeting) as service:
        client = make_client(KeepAliveTransport(4), policy=loopback_policy(service.port), concurrency=4)
        browser = Browser()

        # When twelve messages are sent in one batch
        outcomes = client.send_many([browser.delivery(endpoint=f"http://127.0.0.1:{service.port}/push/{i}") for i in range(12)])

    # Then four were in flight together each time, never more, over four connections
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 12
    assert meeting.most_at_once == 4
    assert service.connections == 4
    assert sorted(received.path for received in service.received) == sorted(f"/push/{i}" for i in range(12))


def test_each_request_gets_its_own_result_in_the_order_given() -> None:
    with loopback_push_service(lambda path: (410, {}) if path.endswith("gone") else (201, {})) as service, silent_service() as hung:
        requests = [
            OutgoingRequest(f"http://127.0.0.1:{service.port}/push/ok", b"1"),
            OutgoingRequest(f"http://127.0.0.1:{hung}/push/hung", b"2"),
            OutgoingRequest(f"http://127.0.0.1:{closed_port()}/push/refused", b"3"),
            OutgoingRequest(f"http://127.0.0.1:{service.port}/push/x y", b"4"),  # would split the request line
            OutgoingRequest(f"http://127.0.0.1:{service.port}/push/gone", b"5"),
        ]

        results = KeepAliveTransport(8).post_many(requests, timeout=(1.0, 0.3))

    ok, timed_out, refused, unsafe, gone = results
    assert isinstance(ok, PushResponse) and ok.status_code == 201
    assert isinstance(timed_out, TimeoutError) and str(timed_out) == "push service did not answer in time"
    assert isinstance(refused, ConnectionRefusedError)
    assert isinstance(unsafe, ValueError)
    assert isinstance(gone, PushResponse) and gone.status_code == 410
    assert sorted(received.body for received in service.received) == [b"1", b"5"]


def test_the_requests_are_taken_from_the_iterable_only_as_slots_free_up() -> None:
    # Encrypting a message only when it can go out keeps the CPU work between network waits.
    with loopback_push_service() as service:
        answered_when_taken: list[int] = []

        def requests() -> Iterator[OutgoingRequest]:
            for i in range(4):
                answered_when_taken.append(len(service.received))
                yield OutgoingRequest(f"http://127.0.0.1:{service.port}/push/{i}", b"")

        results = KeepAliveTransport(4).post_many(requests(), timeout=TIMEOUT, concurrency=1)

    assert [result.status_code for result in results] == [201] * 4  # type: ignore[union-attr]
    assert answered_when_taken == [0, 1, 2, 3]


def test_the_free_slots_are_taken_as_one_wave_before_any_request_is_written(monkeypatch: pytest.MonkeyPatch) -> None:
    # Encrypting a wave, then writing it, cost less CPU than interleaving the two per request.
    events: list[str] = []
    begin = keepalive._Batch.begin

    def recording_begin(batch: keepalive._Batch, request: OutgoingRequest) -> None:
        events.append("write")
        begin(batch, request)

    monkeypatch.setattr(keepalive._Batch, "begin", recording_begin)
    with loopback_push_service() as service:

        def requests() -> Iterator[OutgoingRequest]:
            for i in range(5):
                events.append("take")
                yield OutgoingRequest(f"http://127.0.0.1:{service.port}/push/{i}", b"")

        results = KeepAliveTransport(3).post_many(requests(), timeout=TIMEOUT)

    assert [result.status_code for result in results] == [201] * 5  # type: ignore[union-attr]
    assert events[:6] == ["take"] * 3 + ["write"] * 3
    assert events.count("take") == events.count("write") == 5


def test_a_wave_that_ends_at_once_does_not_end_the_batch() -> None:
    # Requests refused before any network step leave their slots free at once: the next wave fills them.
    with loopback_push_service() as service:
        unsafe = [OutgoingRequest(f"http://127.0.0.1:{service.port}/push/x y", b"") for _ in range(2)]
        fine = [OutgoingRequest(f"http://127.0.0.1:{service.port}/push/{i}", b"") for i in range(2)]

        results = KeepAliveTransport(2).post_many(iter(unsafe + fine), timeout=TIMEOUT)

    assert [type(result) for result in results[:2]] == [ValueError, ValueError]
    assert [result.status_code for result in results[2:]] == [201, 201]  # type: ignore[union-attr]


@pytest.fixture
def dribbling_service() -> Iterator[int]:
    """Answers every request on its connection one byte at a time."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    answer = b"HTTP/1.1 201 Created\r\nLocation: /m/1\r\nContent-Length: 2\r\n\r\nok"

    def serve(connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            for byte in answer:
                connection.sendall(bytes([byte]))
                time.sleep(0.001)
            connection.recv(65536)  # until the client closes or the test ends

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(connection,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield listener.getsockname()[1]
    listener.close()


def test_answers_arriving_in_pieces_are_assembled(dribbling_service: int) -> None:
    requests = [OutgoingRequest(f"http://127.0.0.1:{dribbling_service}/push/{i}", b"") for i in range(3)]
    results = KeepAliveTransport(3).post_many(requests, timeout=(1.0, 5.0))
    assert [(result.status_code, result.content, result.headers.get("location")) for result in results] == [  # type: ignore[union-attr]
        (201, b"ok", "/m/1")
    ] * 3


def test_a_connection_closed_mid_answer_is_an_error_and_is_not_reused() -> None:
    accepted: list[int] = []

    def serve(listener: socket.socket) -> None:
        for answer in (b"HTTP/1.1 201 Crea", b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n"):
            connection, _ = listener.accept()
            accepted.append(len(accepted) + 1)
            with connection:
                connection.recv(65536)
                connection.sendall(answer)  # the first one breaks off and closes

    with scripted_service(serve) as port:
        transport = KeepAliveTransport(2)
        first = transport.post_many([OutgoingRequest(f"http://127.0.0.1:{port}/push/a", b"")], timeout=TIMEOUT)[0]
        second = transport.post_many([OutgoingRequest(f"http://127.0.0.1:{port}/push/b", b"")], timeout=TIMEOUT)[0]

    assert isinstance(first, http.client.RemoteDisconnected)
    assert isinstance(second, PushResponse) and second.status_code == 201
    assert accepted == [1, 2] and transport.connections_opened == 2


def test_an_error_from_the_iterable_propagates_and_abandons_what_is_in_flight() -> None:
    with silent_service() as hung:
        transport = KeepAliveTransport(4)

        def requests() -> Iterator[OutgoingRequest]:
            yield OutgoingRequest(f"http://127.0.0.1:{hung}/push/a", b"")
            raise RuntimeError("the caller's bug")

        with pytest.raises(RuntimeError, match="the caller's bug"):
            transport.post_many(requests(), timeout=TIMEOUT)

    assert transport._idle == {}  # nothing half-used was pooled


def test_the_client_keeps_refused_deliveries_in_their_place_among_the_sent_ones() -> None:
    with loopback_push_service() as service:
        client = make_client(KeepAliveTransport(4), policy=loopback_policy(service.port), timeouts=Timeouts(1.0, 1.0))
        browser = Browser()
        good = f"http://127.0.0.1:{service.port}/push/good"
        batch = [
            browser.delivery(endpoint=good),
            browser.delivery(endpoint="http://10.0.0.1/push/private"),  # fails the endpoint policy
            Delivery(good, "not-a-key", browser.auth_b64, b"{}", 60),
            browser.delivery(endpoint=good),
        ]

        outcomes = client.send_many(batch)

    assert [outcome.kind for outcome in outcomes] == [
        OutcomeKind.SENT,
        OutcomeKind.BLOCKED,
        OutcomeKind.INVALID_SUBSCRIPTION,
        OutcomeKind.SENT,
    ]
    assert len(service.received) == 2


def test_a_connection_that_never_completes_ends_at_the_connect_timeout() -> None:
    # Given a listener whose accept queue is full: the kernel drops further SYNs, so a connect hangs
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        filler.connect_ex(("127.0.0.1", port))
        fillers.append(filler)
    time.sleep(0.1)
    try:
        # When a request is made there, next to one to a working service
        with loopback_push_service() as service:
            results = KeepAliveTransport(4).post_many(
                [OutgoingRequest(f"http://127.0.0.1:{port}/push/a", b""), OutgoingRequest(f"http://127.0.0.1:{service.port}/push/b", b"")],
                timeout=(0.3, 2.0),
            )
    finally:
        for filler in fillers:
            filler.close()
        listener.close()

    # Then it ends as a connect timeout, and the other request is not held up by it
    assert isinstance(results[0], TimeoutError) and str(results[0]) == "connection not established in time"
    assert isinstance(results[1], PushResponse) and results[1].status_code == 201
