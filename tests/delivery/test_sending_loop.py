"""SendingLoop: one thread sends the requests of callers on many threads, against real loopback
servers. Requests of several callers in flight together are proven with a barrier in the push
service (one caller after the other would break it), never with timings."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from pushgate.delivery.transport.http1 import PushResponse
from pushgate.delivery.transport.keepalive import KeepAliveTransport, OutgoingRequest
from pushgate.delivery.outcomes import OutcomeKind
from pushgate.delivery.transport.sending_loop import SendingLoop
from tests.delivery.push_fakes import Browser, MeetingPoint, loopback_policy, loopback_push_service, make_client

TIMEOUT = (1.0, 5.0)


def _until(condition, seconds: float = 5.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.001)


def _held(loop: SendingLoop, taking: threading.Event, first: OutgoingRequest, then: tuple[OutgoingRequest, ...] = (), raises: Exception | None = None) -> Iterator[OutgoingRequest]:
    """A caller's requests that the loop is taking: after the first they hold until another caller
    has handed its requests over, so that both land in one batch."""
    taking.set()
    yield first
    _until(lambda: not loop._jobs.empty())
    yield from then
    if raises is not None:
        raise raises


def test_requests_of_two_callers_are_in_flight_together() -> None:
    # Given a push service that answers only when four requests are waiting at once
    meeting = MeetingPoint(parties=4)
    with loopback_push_service(meeting) as service:
        loop = SendingLoop(KeepAliveTransport(8))
        url = f"http://127.0.0.1:{service.port}/push"
        results: dict[str, list] = {}
        taking_first = threading.Event()
        first = _held(loop, taking_first, OutgoingRequest(f"{url}/a1", b""), then=(OutgoingRequest(f"{url}/a2", b""),))

        def call(name: str, requests: Iterator[OutgoingRequest]) -> None:
            results[name] = loop.post_many(requests, timeout=TIMEOUT)

        # When two threads each send two requests through the loop
        a = threading.Thread(target=call, args=("a", first))
        a.start()
        assert taking_first.wait(5)  # the loop is taking the first caller's requests
        b = threading.Thread(target=call, args=("b", iter([OutgoingRequest(f"{url}/b1", b""), OutgoingRequest(f"{url}/b2", b"")])))
        b.start()
        a.join(10)
        b.join(10)

    # Then all four were answered together, and each caller got its own two answers
    assert meeting.most_at_once == 4
    assert [r.status_code for r in results["a"]] == [201, 201] and [r.status_code for r in results["b"]] == [201, 201]  # type: ignore[union-attr]
    assert sorted(received.path for received in service.received) == ["/push/a1", "/push/a2", "/push/b1", "/push/b2"]


def test_each_caller_gets_its_answers_in_its_own_order() -> None:
    with loopback_push_service(lambda path: (int(path.rsplit("/", 1)[1]), {})) as service:
        loop = SendingLoop(KeepAliveTransport(8))
        url = f"http://127.0.0.1:{service.port}/push"
        answers: dict[int, list[int]] = {}

        def call(caller: int, statuses: list[int]) -> None:
            results = loop.post_many([OutgoingRequest(f"{url}/{status}", b"") for status in statuses], timeout=TIMEOUT)
            answers[caller] = [result.status_code for result in results]  # type: ignore[union-attr]

        threads = [threading.Thread(target=call, args=(caller, [201, 410, 429][caller:] + [404])) for caller in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)

    assert answers == {0: [201, 410, 429, 404], 1: [410, 429, 404], 2: [429, 404]}


def test_a_caller_whose_requests_raise_gets_the_error_and_the_others_their_answers() -> None:
    with loopback_push_service() as service:
        loop = SendingLoop(KeepAliveTransport(8))
        url = f"http://127.0.0.1:{service.port}/push"
        outcome: dict[str, object] = {}
        taking_broken = threading.Event()
        broken = _held(loop, taking_broken, OutgoingRequest(f"{url}/broken-1", b""), raises=RuntimeError("the caller's bug"))

        def call_broken() -> None:
            try:
                loop.post_many(broken, timeout=TIMEOUT)
            except RuntimeError as error:
                outcome["broken"] = error

        thread = threading.Thread(target=call_broken)
        thread.start()
        assert taking_broken.wait(5)
        healthy = loop.post_many([OutgoingRequest(f"{url}/healthy", b"")], timeout=TIMEOUT)
        thread.join(10)

        # The loop goes on after it
        later = loop.post_many([OutgoingRequest(f"{url}/later", b"")], timeout=TIMEOUT)

    assert str(outcome["broken"]) == "the caller's bug"
    assert isinstance(healthy[0], PushResponse) and healthy[0].status_code == 201
    assert isinstance(later[0], PushResponse) and later[0].status_code == 201


def test_callers_with_other_timeouts_are_answered_in_their_own_batches() -> None:
    with loopback_push_service() as service:
        loop = SendingLoop(KeepAliveTransport(8))
        url = f"http://127.0.0.1:{service.port}/push"
        results: dict[str, list] = {}
        taking_first = threading.Event()
        slow_first = _held(loop, taking_first, OutgoingRequest(f"{url}/a", b""))

        a = threading.Thread(target=lambda: results.setdefault("a", loop.post_many(slow_first, timeout=(1.0, 5.0))))
        a.start()
        assert taking_first.wait(5)
        results["b"] = loop.post_many([OutgoingRequest(f"{url}/b", b"")], timeout=(1.0, 4.0))
        a.join(10)

    assert [r.status_code for r in results["a"]] == [201] and [r.status_code for r in results["b"]] == [201]  # type: ignore[union-attr]


def test_the_web_push_client_sends_through_it_unchanged() -> None:
    with loopback_push_service() as service:
        client = make_client(SendingLoop(KeepAliveTransport(4)), policy=loopback_policy(service.port))
        browser = Browser()
        outcomes = client.send_many([browser.delivery(endpoint=f"http://127.0.0.1:{service.port}/push/{i}") for i in range(6)])

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 6
    assert len(service.received) == 6
