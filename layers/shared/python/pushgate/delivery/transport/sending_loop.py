"""One thread that sends for every message of a container: the messages of an invocation are
processed side by side, each on a thread of its own, and each hands its requests to this loop.

Why not let each message's thread send its own requests: measured with five messages of 50 at a
50 ms round trip, five threads each driving a KeepAliveTransport cost 2.2x the CPU of encryption
alone (their selector loops and encryption contend for the GIL), while one loop driving all 250
requests costs what one message at a time does (1.8-1.9x) at the same 2,000 deliveries a second.
One message at a time reaches about 760.

The loop has the `post_many` surface of KeepAliveTransport, so a WebPushClient (which sends
through `post_many` whenever its session has one) uses it as its session unchanged; the client's
lazy request iterable (where it encrypts) is consumed on this loop's thread. Requests of messages
handed over while a batch is being taken join that batch; others wait for the next. One
message's iterable raising ends that message only.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator

from pushgate.delivery.transport.keepalive import KeepAliveTransport, OutgoingRequest, Result, Timeout


class _Job:
    """One caller's `post_many`: its requests, and where its results or its error go."""

    def __init__(self, requests: Iterable[OutgoingRequest], timeout: Timeout) -> None:
        self.requests = iter(requests)
        self.timeout = timeout
        self.taken = 0  # how many of its requests are in the batch
        self.results: list[Result] = []
        self.error: BaseException | None = None
        self.finished = threading.Event()

    def outcome(self) -> list[Result]:
        self.finished.wait()
        if self.error is not None:
            raise self.error
        return self.results


class SendingLoop:
    """Owns `transport` and sends on one daemon thread; `post_many` may be called from any thread
    and blocks until its own requests are answered. At most `transport.pool_size` requests are
    in flight in all."""

    def __init__(self, transport: KeepAliveTransport) -> None:
        self.transport = transport
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="webpush-sending", daemon=True)
        self._thread.start()

    def post_many(self, requests: Iterable[OutgoingRequest], timeout: Timeout, concurrency: int | None = None) -> list[Result]:
        """KeepAliveTransport.post_many's contract, for one caller among many: `concurrency` is
        not applied per caller (the pool size bounds everyone's requests together)."""
        job = _Job(requests, timeout)
        self._jobs.put(job)
        return job.outcome()

    def close(self) -> None:
        self.transport.close()

    def _run(self) -> None:
        while True:
            jobs = [self._jobs.get()]  # idle until someone has something to send
            try:
                results = self.transport.post_many(self._requests_of(jobs), timeout=jobs[0].timeout)
            except BaseException as exc:  # noqa: BLE001 - the loop must outlive anything a batch raises
                for job in jobs:
                    job.error = job.error or exc
                    job.finished.set()
                continue
            start = 0
            for job in jobs:
                job.results = results[start : start + job.taken]
                start += job.taken
                job.finished.set()

    def _requests_of(self, jobs: list[_Job]) -> Iterator[OutgoingRequest]:
        """Every request of `jobs`, taking in jobs handed over meanwhile (with the same timeouts)
        until none is waiting. A job whose iterable raises keeps what it had in flight and gets
        the error instead of results; the others go on."""
        index = 0
        while True:
            while index < len(jobs):
                job = jobs[index]
                index += 1
                while True:
                    try:
                        request = next(job.requests)
                    except StopIteration:
                        break
                    except BaseException as exc:  # noqa: BLE001 - the caller's error, re-raised in its thread
                        job.error = exc
                        break
                    job.taken += 1
                    yield request
            try:
                waiting = self._jobs.get_nowait()
            except queue.Empty:
                return
            if waiting.timeout != jobs[0].timeout:
                self._jobs.put(waiting)  # behind any others now; a batch with its own timeouts takes it
                return
            jobs.append(waiting)
