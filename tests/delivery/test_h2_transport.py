"""H2Transport (h2 alone) against real TLS + HTTP/2 servers on loopback: hypercorn running small
ASGI apps written here, a TCP relay that can cut the connection, and the honest fakes of APNs and
FCM behind the real ApnsTransport / FcmTransport."""

from __future__ import annotations

import asyncio
import hashlib
import json
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from hypercorn.config import Config

from pushgate.delivery.apns.transport import ApnsTransport
from pushgate.delivery.fcm.transport import FcmTransport
from pushgate.delivery.outcomes import OutcomeKind, outcome_for_exception
from pushgate.delivery.transport.h2_connection import (
    ConnectError,
    ConnectionGoingAway,
    ConnectionLost,
    Http2NotNegotiated,
    ReadTimeout,
    StreamReset,
)
from pushgate.delivery.transport.h2_transport import H2Transport
from pushgate.delivery.transport.http2 import MAX_RESPONSE_BYTES, DeadlineExceeded, Request, Response
from pushgate_local.fakes.server import HOST, TlsServer, read_request, respond
from pushgate_local.fakes.server import TestCertificateAuthority as CertificateAuthority
from tests.native.apns.conftest import Apns, Clock, new_provider_key
from tests.native.fcm.conftest import Channels, Project, Secrets, make_push, new_key_pair, target

RETRYABLE = (ConnectionLost, ConnectionGoingAway, StreamReset)


class App:
    """An ASGI app answering by path, counting requests in flight and the connections they came on."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.most_in_flight = 0
        self.clients: set[tuple[str, int]] = set()
        self.answered = 0
        self.paths: list[str] = []
        self.disconnected = 0  # requests whose stream the client cancelled
        self.hold_until = 0  # answer nothing until this many are in flight at once
        self.gate: asyncio.Event | None = None
        self.stall = asyncio.Event()  # never set: /stall waits on it
        self.routes: dict[str, Callable[[Any, Any, Any], Awaitable[None]]] = {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        self.clients.add(tuple(scope["client"]))
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            request = await read_request(scope, receive)
            self.paths.append(request.path)
            if self.hold_until:
                self.gate = self.gate or asyncio.Event()
                if self.in_flight >= self.hold_until:
                    self.gate.set()
                await asyncio.wait_for(self.gate.wait(), timeout=10)
            if request.path == "/stall":
                if (await receive())["type"] == "http.disconnect":
                    self.disconnected += 1
                return
            route = self.routes.get(request.path.split("/")[1])
            if route is not None:
                await route(request, receive, send)
            else:
                await respond(send, 200, {"path": request.path, "size": len(request.body),
                                          "sha256": hashlib.sha256(request.body).hexdigest()})
            self.answered += 1
        finally:
            self.in_flight -= 1


class ConfiguredServer(TlsServer):
    """A TlsServer with some of hypercorn's settings changed."""

    def __init__(self, app: App, ca: CertificateAuthority, **settings: Any) -> None:
        super().__init__(app, ca)
        self._settings = settings

    def _config(self) -> Config:
        config = super()._config()
        for name, value in self._settings.items():
            setattr(config, name, value)
        return config


class Relay:
    """A TCP relay to a server on loopback (TLS passes through untouched); `cut()` drops every
    connection it carries, as a network reset would."""

    def __init__(self, port: int) -> None:
        self._target = port
        self._loop = asyncio.new_event_loop()
        self._writers: list[asyncio.StreamWriter] = []
        self.connections = 0
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), daemon=True)
        self._thread.start()
        started.wait(5)
        self.url = f"https://{HOST}:{self.port}"

    def _run(self, started: threading.Event) -> None:
        async def serve() -> None:
            self._server = await asyncio.start_server(self._relay, HOST, 0)
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()

        self._loop.run_until_complete(serve())
        self._loop.run_forever()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        upstream_reader, upstream_writer = await asyncio.open_connection(HOST, self._target)
        self._writers += [writer, upstream_writer]

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                sink.write(data)
            sink.close()

        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer), return_exceptions=True)

    def cut(self) -> None:
        def drop() -> None:
            for writer in self._writers:
                writer.transport.abort()
            self._writers.clear()

        self._loop.call_soon_threadsafe(drop)

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._server.close)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture(scope="module")
def ca() -> CertificateAuthority:
    return CertificateAuthority()


@pytest.fixture
def app() -> App:
    return App()


@pytest.fixture
def server(app: App, ca: CertificateAuthority) -> Iterator[TlsServer]:
    with TlsServer(app, ca) as running:
        yield running


@pytest.fixture
def http(ca: CertificateAuthority, server: TlsServer) -> Iterator[H2Transport]:
    transport = H2Transport(ca_file=str(ca.ca_file), connect_timeout=2.0, read_timeout=5.0)
    yield transport
    transport.close()


def post(url: str, path: str, body: bytes = b"{}", **headers: str) -> Request:
    return Request("POST", f"{url}{path}", {"content-type": "application/json", **headers}, body)


def statuses(answers: list[Response | BaseException]) -> list[int | str]:
    return [answer.status if isinstance(answer, Response) else type(answer).__name__ for answer in answers]


# --- streams on one connection -------------------------------------------------------------------


def test_300_requests_go_on_one_connection_with_more_than_100_in_flight(app: App, server: TlsServer, http: H2Transport) -> None:
    # Nothing is answered until 250 are open at once: a client capped at 100 streams would stall
    # here until the app's own 10 s timeout and fail the time check.
    app.hold_until = 250
    started = time.monotonic()
    answers = http.send_all([post(server.url, f"/n/{i}") for i in range(300)], deadline_seconds=20)
    assert time.monotonic() - started < 8
    assert statuses(answers) == [200] * 300
    assert app.most_in_flight >= 250 and len(app.clients) == 1
    assert [json.loads(answer.body)["path"] for answer in answers] == [f"/n/{i}" for i in range(300)]


def test_answers_come_back_in_the_order_of_the_requests_whatever_order_they_end_in(app: App, server: TlsServer,
                                                                                     http: H2Transport) -> None:
    async def late(request: Any, _receive: Any, send: Any) -> None:
        index = int(request.path.split("/")[2])
        await asyncio.sleep((20 - index) * 0.01)  # the last request is answered first
        await respond(send, 200 + index)

    app.routes["late"] = late
    answers = http.send_all([post(server.url, f"/late/{i}") for i in range(20)], deadline_seconds=10)
    assert statuses(answers) == [200 + i for i in range(20)]


def test_connections_are_kept_across_calls(app: App, server: TlsServer, http: H2Transport) -> None:
    for _ in range(3):
        assert statuses(http.send_all([post(server.url, "/a")] * 5, deadline_seconds=5)) == [200] * 5
    assert len(app.clients) == 1


def test_a_connection_idle_past_the_limit_is_replaced_not_trusted(app: App, server: TlsServer, http: H2Transport,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    # A Lambda container is frozen between invocations: a connection unused for a while may be
    # gone at the provider, so it is replaced before a batch is sent on it.
    from pushgate.delivery.transport import h2_transport

    monkeypatch.setattr(h2_transport, "IDLE_RECONNECT_SECONDS", 0.2)
    assert statuses(http.send_all([post(server.url, "/a")] * 3, deadline_seconds=5)) == [200] * 3
    assert statuses(http.send_all([post(server.url, "/a")] * 3, deadline_seconds=5)) == [200] * 3
    assert len(app.clients) == 1  # used again at once: kept
    time.sleep(0.3)
    assert statuses(http.send_all([post(server.url, "/a")] * 3, deadline_seconds=5)) == [200] * 3
    assert len(app.clients) == 2


def test_five_threads_sending_at_once_each_get_their_own_answers(app: App, server: TlsServer, http: H2Transport) -> None:
    def send(thread: int) -> list[str]:
        answers = http.send_all([post(server.url, f"/t{thread}/{i}") for i in range(50)], deadline_seconds=10)
        return [json.loads(answer.body)["path"] for answer in answers]

    with ThreadPoolExecutor(max_workers=5) as threads:
        results = list(threads.map(send, range(5)))
    assert results == [[f"/t{thread}/{i}" for i in range(50)] for thread in range(5)]
    assert len(app.clients) == 1


# --- bodies and redirects -----------------------------------------------------------------------


def test_a_request_body_larger_than_the_initial_window_arrives_whole(server: TlsServer, http: H2Transport) -> None:
    bodies = [bytes([i]) * 100_000 for i in range(3)]  # 100 KB each: over the 65,535-byte initial window
    answers = http.send_all([post(server.url, "/big", body) for body in bodies], deadline_seconds=10)
    assert [json.loads(answer.body) for answer in answers] == [
        {"path": "/big", "size": 100_000, "sha256": hashlib.sha256(body).hexdigest()} for body in bodies]


def test_a_response_body_over_the_limit_is_cut_and_the_connection_goes_on(app: App, server: TlsServer, http: H2Transport) -> None:
    async def huge(_request: Any, _receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"x" * 300_000})

    app.routes["huge"] = huge
    (answer,) = http.send_all([post(server.url, "/huge")], deadline_seconds=10)
    assert isinstance(answer, Response) and answer.status == 200 and answer.body == b"x" * MAX_RESPONSE_BYTES
    assert statuses(http.send_all([post(server.url, "/after")] * 3, deadline_seconds=5)) == [200] * 3
    assert len(app.clients) == 1


def test_a_redirect_is_returned_not_followed(app: App, server: TlsServer, http: H2Transport) -> None:
    async def moved(_request: Any, _receive: Any, send: Any) -> None:
        await respond(send, 307, headers={"location": f"{server.url}/elsewhere"})

    app.routes["moved"] = moved
    (answer,) = http.send_all([post(server.url, "/moved")], deadline_seconds=5)
    assert isinstance(answer, Response) and answer.status == 307 and answer.headers["location"] == f"{server.url}/elsewhere"
    assert answer.http_version == "HTTP/2"
    assert "/elsewhere" not in app.paths


# --- timeouts -----------------------------------------------------------------------------------


def test_a_stalled_request_ends_at_the_deadline_with_its_stream_cancelled(app: App, server: TlsServer, http: H2Transport) -> None:
    requests = [post(server.url, "/ok")] * 3 + [post(server.url, "/stall")] + [post(server.url, "/ok")] * 3
    started = time.monotonic()
    answers = http.send_all(requests, deadline_seconds=0.5)
    elapsed = time.monotonic() - started
    assert 0.45 <= elapsed < 1.5
    assert statuses(answers) == [200] * 3 + ["DeadlineExceeded"] + [200] * 3
    assert isinstance(answers[3], DeadlineExceeded)
    wait_for(lambda: app.disconnected == 1)  # RST_STREAM reached the server: the app saw the client leave
    assert statuses(http.send_all([post(server.url, "/ok")], deadline_seconds=5)) == [200]


def test_a_stream_not_answered_within_the_read_timeout_fails_alone(ca: CertificateAuthority, server: TlsServer) -> None:
    transport = H2Transport(ca_file=str(ca.ca_file), read_timeout=0.3)
    try:
        started = time.monotonic()
        answers = transport.send_all([post(server.url, "/stall"), post(server.url, "/ok")], deadline_seconds=5)
        assert time.monotonic() - started < 1.5
    finally:
        transport.close()
    assert isinstance(answers[0], ReadTimeout) and statuses(answers)[1] == 200


# --- broken connections and GOAWAY --------------------------------------------------------------


def test_a_cut_connection_fails_only_its_open_streams_and_the_next_call_reconnects(app: App, server: TlsServer,
                                                                                     ca: CertificateAuthority) -> None:
    relay = Relay(server.port)
    transport = H2Transport(ca_file=str(ca.ca_file))
    try:
        assert statuses(transport.send_all([post(relay.url, "/ok")] * 3, deadline_seconds=5)) == [200] * 3
        with ThreadPoolExecutor(max_workers=1) as thread:
            pending = thread.submit(transport.send_all, [post(relay.url, "/stall")] * 4, 10)
            wait_for(lambda: app.in_flight == 4)
            relay.cut()
            answers = pending.result(timeout=5)
        assert all(isinstance(answer, ConnectionLost) for answer in answers), statuses(answers)
        assert {outcome_for_exception(answer, "e").kind for answer in answers} == {OutcomeKind.RETRY}
        assert statuses(transport.send_all([post(relay.url, "/ok")] * 3, deadline_seconds=5)) == [200] * 3
        assert relay.connections == 2
    finally:
        transport.close()
        relay.close()


def test_goaway_loses_no_request_silently(app: App, ca: CertificateAuthority) -> None:
    # hypercorn says GOAWAY once a connection has carried more than keep_alive_max_requests.
    with ConfiguredServer(app, ca, keep_alive_max_requests=40) as server:
        transport = H2Transport(ca_file=str(ca.ca_file), read_timeout=2.0)
        try:
            answers = [transport.send_all([post(server.url, f"/r/{k}/{i}") for i in range(30)], deadline_seconds=5)
                       for k in range(4)]
            after = transport.send_all([post(server.url, "/ok")] * 5, deadline_seconds=5)
        finally:
            transport.close()
    flat = [answer for batch in answers for answer in batch]
    succeeded = [answer for answer in flat if isinstance(answer, Response)]
    assert all(answer.status == 200 for answer in succeeded)
    assert all(isinstance(answer, (Response, *RETRYABLE, ReadTimeout)) for answer in flat), statuses(flat)
    # Every success is a request the server handled: nothing answered twice, nothing invented.
    assert sorted(json.loads(answer.body)["path"] for answer in succeeded) == sorted(
        path for path in app.paths if path.startswith("/r/") and path in {json.loads(a.body)["path"] for a in succeeded})
    assert len(app.clients) >= 2, "the GOAWAY never came: the test proves nothing"
    assert statuses(after) == [200] * 5


# --- connecting ---------------------------------------------------------------------------------


def test_without_the_ca_file_the_certificate_is_refused(server: TlsServer, app: App) -> None:
    transport = H2Transport(connect_timeout=2.0)  # the public CAs only
    try:
        answers = transport.send_all([post(server.url, "/ok")] * 2, deadline_seconds=5)
    finally:
        transport.close()
    assert all(isinstance(answer, ConnectError) for answer in answers)
    assert "CERTIFICATE_VERIFY_FAILED" in str(answers[0].__cause__)
    assert app.paths == []


def test_a_server_that_does_not_speak_http2_fails_clearly_and_at_once(app: App, ca: CertificateAuthority) -> None:
    with ConfiguredServer(app, ca, alpn_protocols=["http/1.1"]) as server:
        transport = H2Transport(ca_file=str(ca.ca_file))
        try:
            started = time.monotonic()
            (answer,) = transport.send_all([post(server.url, "/ok")], deadline_seconds=5)
            assert time.monotonic() - started < 2
        finally:
            transport.close()
    # We offer only h2, so a server without it chooses nothing: refused before any request.
    assert isinstance(answer, Http2NotNegotiated) and "not h2" in str(answer)
    assert app.paths == []


def test_a_refused_connection_fails_fast_as_a_connect_error(ca: CertificateAuthority) -> None:
    transport = H2Transport(ca_file=str(ca.ca_file), connect_timeout=1.0)
    try:
        started = time.monotonic()
        (answer,) = transport.send_all([post("https://127.0.0.1:9", "/ok")], deadline_seconds=5)
        assert time.monotonic() - started < 1.5
    finally:
        transport.close()
    assert isinstance(answer, ConnectError) and outcome_for_exception(answer, "e").detail == "ConnectError"


def test_error_texts_never_quote_the_url_or_headers(ca: CertificateAuthority, server: TlsServer) -> None:
    secret_path, bearer = "/3/device/" + "ab" * 32, "bearer eyJsecret"
    transport = H2Transport(connect_timeout=1.0, read_timeout=0.3)
    try:
        answers = transport.send_all([post(server.url, secret_path, authorization=bearer),
                                      post("https://127.0.0.1:9", secret_path, authorization=bearer)], deadline_seconds=2)
    finally:
        transport.close()
    for answer in answers:
        assert isinstance(answer, BaseException)
        assert "ab" * 32 not in repr(answer) and "eyJsecret" not in repr(answer)


def test_close_ends_the_loop_thread_and_later_calls_are_refused(ca: CertificateAuthority, server: TlsServer) -> None:
    transport = H2Transport(ca_file=str(ca.ca_file))
    assert statuses(transport.send_all([post(server.url, "/ok")], deadline_seconds=5)) == [200]
    transport.close()
    assert not transport._thread.is_alive()
    with pytest.raises(RuntimeError):
        transport.send_all([post(server.url, "/ok")], deadline_seconds=5)


@pytest.mark.parametrize(
    "name, value",
    [("apns-topic", "a\r\nx-injected: 1"), ("apns-topic", "a\x00b"), ("connection", "close"),
     ("transfer-encoding", "chunked"), ("apns topic", "ok"), ("apns-collapse-id", " padded"), ("te", "trailers")],
)
def test_a_header_http2_forbids_fails_that_request_only(server: TlsServer, http: H2Transport, name: str, value: str) -> None:
    answers = http.send_all([post(server.url, "/x", **{name: value}), post(server.url, "/ok", **{"apns-topic": "com.example.app"})], deadline_seconds=5)
    assert statuses(answers) == ["ValueError", 200]


def test_a_non_https_url_fails_that_request_only(server: TlsServer, http: H2Transport) -> None:
    answers = http.send_all([post("http://127.0.0.1:1", "/x"), post(server.url, "/ok")], deadline_seconds=5)
    assert statuses(answers) == ["ValueError", 200]


# --- the native senders on H2Transport, against the honest fakes ------------------------------------


@pytest.fixture
def apns(ca: CertificateAuthority) -> Iterator[Apns]:
    harness = Apns(ca, new_provider_key(), Clock())
    harness.http.close()
    harness.http = H2Transport(ca_file=str(ca.ca_file), connect_timeout=5.0, read_timeout=10.0)
    harness.transport = harness.make_transport()
    try:
        yield harness
    finally:
        harness.close()


def test_apns_a_batch_of_500_is_all_sent_more_than_100_at_once_on_one_connection(apns: Apns) -> None:
    apns.fake.hold_until_in_flight(250, timeout=10.0)
    started = time.monotonic()
    outcomes = apns.send(apns.push({"title": "Hi", "body": "there"}), [apns.target() for _ in range(500)])
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 500
    assert time.monotonic() - started < 8, "the hold timed out: fewer than 250 were in flight together"
    assert apns.fake.received_count == 500


def test_apns_answers_become_their_outcomes_in_order(apns: Apns) -> None:
    gone, bad = apns.target(), apns.target()
    apns.fake.set_behaviour(gone.token, "unregistered")
    apns.fake.set_behaviour(bad.token, "too_many_requests", retry_after=120)
    outcomes = apns.send(apns.push({"title": "Hi", "body": "there"}), [apns.target(), gone, bad, apns.target()])
    assert [(outcome.kind, outcome.status_code, outcome.detail) for outcome in outcomes] == [
        (OutcomeKind.SENT, 200, "HTTP 200"), (OutcomeKind.GONE, 410, "Unregistered"),
        (OutcomeKind.RATE_LIMITED, 429, "TooManyRequests"), (OutcomeKind.SENT, 200, "HTTP 200")]
    assert outcomes[2].retry_after == 120.0


def test_apns_a_stalled_device_is_retried_while_the_rest_are_sent(apns: Apns) -> None:
    stalled = apns.target()
    apns.fake.set_behaviour(stalled.token, "stall")
    apns.transport = apns.make_transport(deadline_seconds=0.5)
    started = time.monotonic()
    outcomes = apns.send(apns.push({"title": "Hi", "body": "there"}), [apns.target(), stalled, apns.target()])
    assert 0.5 <= time.monotonic() - started < 2.0
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT, OutcomeKind.RETRY, OutcomeKind.SENT]
    assert outcomes[1].detail == "DeadlineExceeded" and apns.fake.received_count == 2


@pytest.fixture
def fcm(ca: CertificateAuthority) -> Iterator[tuple[Any, TlsServer, Project]]:
    from pushgate_local.fakes.fcm import FakeFcm

    fake = FakeFcm()
    keys = new_key_pair()
    project = Project("pushgate-test", "sender@pushgate-test.iam.gserviceaccount.com", "key-1", keys, "channel-fcm-1")
    fake.register_service_account(project.project_id, project.client_email, keys.public_pem, project.private_key_id)
    with TlsServer(fake, ca) as running:
        yield fake, running, project


def test_fcm_a_batch_is_sent_with_one_token_and_answers_mapped(fcm: tuple[Any, TlsServer, Project],
                                                                ca: CertificateAuthority) -> None:
    fake, server, project = fcm
    fake.set_token_behaviour("dead", "unregistered")
    fake.hold_until_in_flight(150, timeout=8.0)
    http = H2Transport(ca_file=str(ca.ca_file))
    try:
        transport = FcmTransport(Channels(project), Secrets(project), http,
                                 {"fcm": server.url, "fcm-token": f"{server.url}/token"}, deadline_seconds=20)
        tokens = [f"device-{i:03d}" for i in range(199)] + ["dead"]
        started = time.monotonic()
        outcomes = transport.send(make_push(), [target(token, project.channel_id) for token in tokens], ttl=60)
        elapsed = time.monotonic() - started
    finally:
        http.close()
    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 199 + [OutcomeKind.GONE]
    assert elapsed < 8 and fake.max_in_flight >= 150 and fake.connections_seen == 1
    assert transport.tokens.minted == 1


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


@pytest.mark.parametrize("status", [b"2x0", b"", b"20", b"+200", b"\xd9\xa2\xd9\xa0\xd9\xa0"])
def test_a_status_that_is_not_three_digits_counts_as_no_answer(status: bytes) -> None:
    # Inbound headers are not validated one by one by h2 (CPU); the status is read defensively,
    # so a broken answer is retried (status 0), never taken for a success or a crash of the reader.
    import h2.events

    from pushgate.delivery.outcomes import OutcomeKind, kind_for_status
    from pushgate.delivery.transport.h2_connection import Connection, Exchange

    loop = asyncio.new_event_loop()
    try:
        connection = Connection(loop, read_timeout=1.0, on_change=lambda _connection: None)
        exchange = Exchange([], b"", on_done=lambda _exchange: None)
        connection._streams[1] = exchange
        event = h2.events.ResponseReceived(stream_id=1, headers=[(b":status", status), (b"apns-id", b"x")])
        connection._response_received(event)
        assert exchange.status == 0 and kind_for_status(exchange.status) is OutcomeKind.RETRY
        assert exchange.response_headers == {"apns-id": "x"}
    finally:
        loop.close()
