"""The keep-alive transport's HTTP/1.1 reader: framing, limits and when a connection may be reused."""

from __future__ import annotations

import http.client
import socket
from collections.abc import Iterator

import pytest

from pushgate.delivery.transport.http1 import MAX_BODY, MAX_HEADERS, PushResponse, ResponseParser, request_bytes


@pytest.fixture
def wire() -> Iterator[tuple[socket.socket, socket.socket]]:
    ours, theirs = socket.socketpair()
    ours.settimeout(2)
    yield ours, theirs
    ours.close()
    theirs.close()


def answer(wire: tuple[socket.socket, socket.socket], raw: bytes, close: bool = False) -> PushResponse:
    """The parser fed from a socket as it arrives; recv() returning b"" is the end of the stream."""
    ours, theirs = wire
    theirs.sendall(raw)
    if close:
        theirs.shutdown(socket.SHUT_WR)
    parser = ResponseParser()
    while (response := parser.feed(ours.recv(16384))) is None:
        pass
    return response


def test_content_length_body_and_reuse(wire) -> None:  # noqa: ANN001
    response = answer(wire, b"HTTP/1.1 201 Created\r\nLocation: /m/1\r\nContent-Length: 5\r\n\r\nhello")
    assert response.status_code == 201 and response.content == b"hello" and response.reusable
    assert response.headers.get("LOCATION") == "/m/1" and response.headers.get("missing") is None


def test_chunked_body_with_extensions_and_trailers(wire) -> None:  # noqa: ANN001
    raw = b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    response = answer(wire, raw)
    assert response.status_code == 400 and response.content == b"hello world" and response.reusable


def test_interim_1xx_answers_are_skipped(wire) -> None:  # noqa: ANN001
    interim = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
    response = answer(wire, interim + b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n")
    assert response.status_code == 201 and response.reusable


@pytest.mark.parametrize(
    "raw",
    [
        b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.0 201 Created\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\n",  # bytes past the answer
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",  # a 204 has no body: past the answer too
    ],
)
def test_connections_that_must_not_be_reused(wire, raw: bytes) -> None:  # noqa: ANN001
    response = answer(wire, raw)
    assert response.status_code in (201, 204) and response.content == b"" and not response.reusable


def test_body_framed_by_close_is_read_and_not_reused(wire) -> None:  # noqa: ANN001
    response = answer(wire, b"HTTP/1.1 410 Gone\r\n\r\nexpired", close=True)
    assert response.status_code == 410 and response.content == b"expired" and not response.reusable


def test_oversized_bodies_are_not_read_and_not_reused(wire) -> None:  # noqa: ANN001
    response = answer(wire, f"HTTP/1.1 500 Error\r\nContent-Length: {MAX_BODY + 1}\r\n\r\n".encode())
    assert response.status_code == 500 and response.content == b"" and not response.reusable


def test_repeated_headers_are_joined(wire) -> None:  # noqa: ANN001
    response = answer(wire, b"HTTP/1.1 429 Too Many\r\nRetry-After: 5\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n")
    assert response.headers.get("Retry-After") == "5" and response.headers.get("X-A") == "1, 2"


def test_headers_are_read_by_name_from_an_fcm_like_answer(wire) -> None:  # noqa: ANN001
    raw = (
        b"HTTP/1.1 429 Too Many Requests\r\nLocation: https://fcm.googleapis.com/0:1700%abc\r\n"
        b"Content-Type: text/html; charset=UTF-8\r\nDate: Mon, 23 Nov 2026 19:00:00 GMT\r\n"
        b"x-retry-after-hint: 9\r\nRETRY-AFTER:\t 120 \r\nServer: GSE\nContent-Length: 2\r\n"
        b"Alt-Svc: h3=\":443\"; ma=2592000\r\n\r\nok"
    )
    response = answer(wire, raw)
    assert response.status_code == 429 and response.content == b"ok" and response.reusable
    assert response.headers.get("Retry-After") == "120"  # not the x-retry-after-hint line, whitespace trimmed
    assert response.headers.get("content-type") == "text/html; charset=UTF-8"
    assert response.headers.get("server") == "GSE"  # a bare LF line end is accepted
    assert response.headers.get("alt-svc") == 'h3=":443"; ma=2592000'
    assert response.headers.get("after") is None and response.headers.get("Retry-Aftér", "none") == "none"
    assert "location" in response.headers and "Link" not in response.headers
    assert response.headers.names()[:2] == ["location", "content-type"]


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (b"HTTP/2 201\r\n\r\n", http.client.BadStatusLine),
        (b"ICY 200 OK\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 20 Short\r\n\r\n", http.client.BadStatusLine),
        (b"HTTP/1.1 201 Created\r\nNo colon here\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 201 Created\r\nX: a\r\n folded\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 201 Created\r\nX: a\rContent-Length: 0\r\n\r\n", http.client.HTTPException),  # bare CR
        (b"HTTP/1.1 201 Created\r\nX: a\x00b\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 201 Created\r\n: no name\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 201 Created\r\nContent-Length: -1\r\n\r\n", http.client.HTTPException),
        (b"HTTP/1.1 201 Created\r\nContent-Length: 10\r\n\r\nshort", http.client.IncompleteRead),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", http.client.HTTPException),
        (b"HTTP/1.1 201 Created\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"\r\n", http.client.HTTPException),
        (b"HTTP/1.1 201 Created\r\nX: " + b"a" * 9000 + b"\r\n\r\n", http.client.LineTooLong),
        (b"", http.client.RemoteDisconnected),
        (b"HTTP/1.1 201 Cre", http.client.RemoteDisconnected),
    ],
)
def test_malformed_answers_raise_http_client_errors(wire, raw: bytes, error: type[Exception]) -> None:  # noqa: ANN001
    with pytest.raises(error):
        answer(wire, raw, close=True)


def _read_in(pieces: list[bytes]) -> PushResponse | type[Exception]:
    """What a parser makes of the pieces, then the end of the stream: the answer or the error's type."""
    parser = ResponseParser()
    try:
        for piece in [*pieces, b""]:
            if (response := parser.feed(piece)) is not None:
                return response
    except Exception as error:  # noqa: BLE001 - the type is what is compared
        return type(error)
    raise AssertionError("the end of the stream must end the answer")


ANSWERS = [
    b"HTTP/1.1 201 Created\r\nLocation: /m/1\r\nContent-Length: 5\r\n\r\nhello",
    b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 201 Created\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.0 201 Created\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 201 Created\nContent-Length: 2\n\nok",  # bare LF line ends
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n2\r\nok\r\n0\r\n\r\n",
    b"HTTP/1.1 410 Gone\r\n\r\nexpired",  # framed by closing
    b"HTTP/1.1 429 Too Many\r\nRetry-After: 5\r\nX-A: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 201 Created\r\nContent-Length: 5, 5\r\n\r\nhello",
    b"HTTP/1.1 201 Created\r\nContent-Length: 9\r\n\r\nshort",
    b"HTTP/1.1 201 Created\r\nX: a\rContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 201 Created\r\nX: a\r\n folded\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 20 Short\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 201 Created\r\nX: " + b"a" * 9000 + b"\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 201 Created\r\n" + b"X: y\r\n" * (MAX_HEADERS + 1) + b"Content-Length: 0\r\n\r\n",
]


@pytest.mark.parametrize("raw", ANSWERS, ids=range(len(ANSWERS)))
def test_an_answer_is_read_alike_at_once_and_in_two_pieces_cut_anywhere(raw: bytes) -> None:
    """At once, a whole usual answer takes a shorter path than one that arrives in pieces; both
    must make the same answer, or the same error, of every input. (Bytes past the end of an
    answer are left out here: whether they arrived with it decides, rightly, if the connection
    is reused; test_connections_that_must_not_be_reused has them arriving together.)"""
    at_once = _read_in([raw])
    assert [cut for cut in range(1, len(raw)) if _read_in([raw[:cut], raw[cut:]]) != at_once] == []


def test_request_is_one_well_formed_message() -> None:
    raw = request_bytes("/wp/abc?x=1", "fcm.googleapis.com", {"TTL": "60", "Urgency": "high"}, b"\x00body")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.split(b"\r\n") == [
        b"POST /wp/abc?x=1 HTTP/1.1",
        b"Host: fcm.googleapis.com",
        b"Content-Length: 5",
        b"TTL: 60",
        b"Urgency: high",
    ]
    assert body == b"\x00body"


@pytest.mark.parametrize(
    ("target", "host", "headers"),
    [
        ("/a b", "push.example", {}),
        ("/a\tb", "push.example", {}),
        ("/a\x7fb", "push.example", {}),  # DEL
        ("/a\x0bb", "push.example", {}),
        ("/ä", "push.example", {}),
        ("a", "push.example", {}),  # not origin-form
        ("", "push.example", {}),
        ("/a", "push example", {}),
        ("/a", "push.example\r\nX: y", {}),
        ("/a", "push.éxample", {}),
        ("/a", "push.example", {"X": "a\rb"}),
        ("/a", "push.example", {"X": "a\nb"}),
        ("/a", "push.example", {"X": "a\x00b"}),
        ("/a", "push.example", {"X": "ok", "Y": "a\r\n"}),
        ("/a", "push.example", {"Host": "other"}),
    ],
)
def test_nothing_that_could_split_the_request_reaches_the_wire(target: str, host: str, headers: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        request_bytes(target, host, headers, b"")


def test_every_visible_character_may_be_in_the_target() -> None:
    visible = "".join(map(chr, range(0x21, 0x7F)))
    raw = request_bytes("/" + visible, "[::1]:8443", {"X": "a\tb"}, b"")
    assert raw.startswith(b"POST /" + visible.encode() + b" HTTP/1.1\r\nHost: [::1]:8443\r\n")
