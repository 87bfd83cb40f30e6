"""The HTTP/1.1 wire format for one push request and its answer (RFC 9112), kept to what a push
sender needs, with limits everywhere.

Why not `http.client.HTTPResponse`: its header parsing goes through the `email` package and cost
about 160 us of CPU per response here, more than half the HTTP cost of a delivery. A push
service's answer is a status line, a few headers and a short body; this reads exactly that.
Malformed answers raise `http.client` exceptions, which the client counts as transient failures.
"""

from __future__ import annotations

import functools
import http.client
import re
from collections.abc import Generator
from dataclasses import dataclass, field

MAX_LINE = 8192
MAX_HEADERS = 100
MAX_HEAD = 64 * 1024  # status line and headers together
MAX_BODY = 64 * 1024  # push services answer with a few hundred bytes; more is not worth reading

_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_FRAMING_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_STATUS_LINE = re.compile(rb"HTTP/1\.([01]) ([0-9]{3})(?: [^\r\n]*)?")
_HEADER_LINE = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*([^\r\n]*?)[ \t]*")
_FIELD_BLOCK = re.compile(rb"(?:[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n\x00]*\n)*")
_HEAD_END = re.compile(rb"\n\r?\n")
_CHUNK_SIZE = re.compile(rb"([0-9A-Fa-f]{1,8})[ \t]*(?:;[^\r\n]*)?\r?\n")


class Headers:
    """Response headers, checked once as a whole and read by name on demand: a sender reads three
    or four of the dozen or so a large push service sends, and building a dict of all of them
    cost more than half of the parsing. `get` is case-insensitive and joins
    repeated fields with ", ", like requests' and http.client's."""

    __slots__ = ("_block", "_lowered")

    def __init__(self, block: bytes = b"") -> None:
        """`block`: the field lines, each ending in LF, already checked by `_parse_headers`."""
        self._block = block
        self._lowered = b"\n" + block.lower()  # every name then starts right after an LF

    def get(self, name: str, default: str | None = None) -> str | None:
        if not name.isascii():
            return default
        key = b"\n" + name.lower().encode("ascii") + b":"
        values = []
        found = self._lowered.find(key)
        while found >= 0:
            start = found + len(key)
            end = self._lowered.index(b"\n", start)
            values.append(self._block[start - 1 : end - 1].strip(b" \t").decode("latin-1"))  # _lowered is one byte longer
            found = self._lowered.find(key, end)
        return ", ".join(values) if values else default

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Headers) and self._block == other._block

    __hash__ = None  # type: ignore[assignment]  # equal by content, and not meant as a key

    def names(self) -> list[str]:
        return [line.partition(b":")[0].decode("ascii").lower() for line in self._block.splitlines()]

    def __repr__(self) -> str:
        return f"Headers({self.names()})"


@dataclass(frozen=True, slots=True)
class PushResponse:
    """What the sender needs from an answer. Like requests.Response it has `status_code` and
    `headers`; unlike it, it is always truthy, so an `if response:` bug cannot hide an error."""

    status_code: int
    headers: Headers
    content: bytes = field(default=b"", repr=False)
    reusable: bool = field(default=False, repr=False)  # the connection may carry another request


def request_bytes(target: str, host: str, headers: dict[str, str], body: bytes) -> bytes:
    """A POST, head and body together so that it leaves in one write. Everything that reaches
    the wire is checked: a CR or LF anywhere would let a value inject headers or requests.
    The values are checked in one pass over all of them (a forbidden character survives joining)."""
    if target[:1] != "/" or not _is_visible_ascii(target) or not _is_visible_ascii(host):
        raise ValueError("unsafe request target or host")
    values = [str(value) for value in headers.values()]
    joined = "".join(values)
    if not all(map(_is_safe_header_name, headers)) or "\r" in joined or "\n" in joined or "\x00" in joined:
        raise ValueError("unsafe or reserved request header")
    fields = "".join([f"{name}: {value}\r\n" for name, value in zip(headers, values)])
    return f"POST {target} HTTP/1.1\r\nHost: {host}\r\nContent-Length: {len(body)}\r\n{fields}\r\n".encode("ascii") + body


def _is_visible_ascii(text: str) -> bool:
    """Only the characters 0x21-0x7e: no space or control character can split the request line.
    (String methods rather than a regular expression: three times faster on a long endpoint path.)"""
    return text.isascii() and text.isprintable() and " " not in text


@functools.lru_cache(maxsize=64)
def _is_safe_header_name(name: str) -> bool:
    """Cached: a sender uses the same handful of names in every request."""
    return _HEADER_NAME.fullmatch(name) is not None and name.lower() not in _FRAMING_HEADERS


class _Reader:
    """The bytes of one answer as they arrive. Reading steps are generators that yield when they
    need more bytes, so the same parser serves a blocking socket and a non-blocking event loop."""

    __slots__ = ("buffer", "eof")

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.eof = False

    def _fill(self) -> Generator[None, None, bool]:
        if self.eof:
            return False
        before = len(self.buffer)
        yield  # ResponseParser.feed appends what arrived, or marks the end of the stream
        return len(self.buffer) > before

    def line(self) -> Generator[None, None, bytes]:
        start = 0
        while (end := self.buffer.find(b"\n", start)) < 0:
            if len(self.buffer) > MAX_LINE:
                raise http.client.LineTooLong("response line")
            start = len(self.buffer)
            if not (yield from self._fill()):
                raise http.client.RemoteDisconnected("connection closed before the answer ended")
        if end >= MAX_LINE:
            raise http.client.LineTooLong("response line")
        line = bytes(self.buffer[: end + 1])
        del self.buffer[: end + 1]
        return line

    def head(self) -> Generator[None, None, tuple[bytes, bytes]]:
        """The status line and the field lines (each ending in LF; CR LF normalised) of a head.
        Waiting for the whole head and handling it at once is several times cheaper than
        reading it line by line."""
        start = 0
        while (end := _HEAD_END.search(self.buffer, start)) is None:
            if len(self.buffer) > MAX_HEAD:
                raise http.client.LineTooLong("response head")
            start = max(0, len(self.buffer) - 2)  # a line end may have arrived in halves
            if not (yield from self._fill()):
                raise http.client.RemoteDisconnected("connection closed before the answer ended")
        if end.end() > MAX_HEAD:
            raise http.client.LineTooLong("response head")
        head = bytes(self.buffer[: end.start() + 1]).replace(b"\r\n", b"\n")
        del self.buffer[: end.end()]
        status_line, _, fields = head.partition(b"\n")
        if len(head) > MAX_LINE and max(map(len, head.split(b"\n"))) >= MAX_LINE:
            raise http.client.LineTooLong("response line")
        return status_line, fields

    def exactly(self, size: int) -> Generator[None, None, bytes]:
        while len(self.buffer) < size:
            if not (yield from self._fill()):
                raise http.client.IncompleteRead(bytes(self.buffer), size - len(self.buffer))
        data = bytes(self.buffer[:size])
        del self.buffer[:size]
        return data

    def until_closed(self, limit: int) -> Generator[None, None, bytes]:
        while len(self.buffer) <= limit and (yield from self._fill()):
            pass
        data = bytes(self.buffer[:limit])
        self.buffer.clear()
        return data


class ResponseParser:
    """One answer to a POST, fed in pieces as they arrive: `feed` returns the PushResponse once
    it is complete and None while more is needed; `feed(b"")` means the peer closed the stream.
    Malformed or truncated answers raise `http.client` exceptions."""

    __slots__ = ("_reader", "_steps")

    def __init__(self) -> None:
        self._reader = _Reader()
        self._steps: Generator[None, None, PushResponse] | None = None  # started by the first feed that needs it

    def feed(self, data: bytes) -> PushResponse | None:
        if self._steps is None:
            if data and (whole := _whole_answer(data)) is not None:
                return whole
            self._steps = _response(self._reader)
            next(self._steps)  # runs up to the first read
        if data:
            self._reader.buffer += data
        else:
            self._reader.eof = True
        try:
            self._steps.send(None)
        except StopIteration as done:
            return done.value
        return None


def _response(reader: _Reader) -> Generator[None, None, PushResponse]:
    """Interim 1xx answers are skipped. The body is read up to MAX_BODY; a longer one, or one
    framed by closing the connection, makes the connection not reusable."""
    while True:
        status_line, fields = yield from reader.head()
        match = _STATUS_LINE.fullmatch(status_line)
        if match is None:
            raise http.client.BadStatusLine("malformed status line")
        minor, status = match.group(1), int(match.group(2))
        headers = _parse_headers(fields)
        if not 100 <= status < 200 or status == 101:
            break
    if status in (204, 304):
        content, framed = b"", True
    elif status < 200:  # 101: the server wants another protocol; this connection is done for us
        content, framed = b"", False
    elif _is_chunked(headers):
        content, framed = yield from _read_chunked(reader)
    elif (size := _content_length(headers)) is not None:
        content, framed = ((yield from reader.exactly(size)), True) if size <= MAX_BODY else (b"", False)
    else:
        content, framed = (yield from reader.until_closed(MAX_BODY)), False
    # Bytes after the answer mean the two sides disagree about framing: never reuse such a connection.
    reusable = _keeps_alive(minor, headers) and framed and not reader.buffer
    return PushResponse(status, headers, content, reusable)


def _is_chunked(headers: Headers) -> bool:
    return "chunked" in (headers.get("transfer-encoding") or "").lower()


def _content_length(headers: Headers) -> int | None:
    if (length := headers.get("content-length")) is None:
        return None
    if not length.isascii() or not length.isdigit():
        raise http.client.HTTPException("malformed Content-Length")
    return int(length)


def _keeps_alive(minor_version: bytes, headers: Headers) -> bool:
    return minor_version == b"1" and "close" not in (headers.get("connection") or "").lower()


def _whole_answer(data: bytes) -> PushResponse | None:
    """The usual answer in one step: a final status, a short head and a Content-Length body, all
    in the first bytes read and nothing after them. None for anything else, which `_response`
    then reads from the start; the checks are the same functions, so both agree on every input.
    It skips the generators' set-up, about a sixth of reading a dozen-header answer (8.0 against 9.5 us)."""
    end = _HEAD_END.search(data)
    if end is None or end.end() >= MAX_LINE:  # a longer head may hold an over-long line: _response checks it
        return None
    status_line, _, fields = data[: end.start() + 1].replace(b"\r\n", b"\n").partition(b"\n")
    match = _STATUS_LINE.fullmatch(status_line)
    if match is None or match.group(2) < b"200":
        return None
    headers = _parse_headers(fields)
    if match.group(2) in (b"204", b"304") or _is_chunked(headers):
        return None
    content = data[end.end() :]
    if len(content) != _content_length(headers):
        return None
    return PushResponse(int(match.group(2)), headers, content, _keeps_alive(match.group(1), headers))


def _parse_headers(fields: bytes) -> Headers:
    """One regular-expression pass checks every line: a name, a colon, no CR or NUL; a line that
    starts with white space (obsolete folding, RFC 9112 §5.2) has no name and is refused."""
    if fields.count(b"\n") > MAX_HEADERS:
        raise http.client.HTTPException("too many headers")
    if _FIELD_BLOCK.fullmatch(fields) is None:
        raise http.client.HTTPException("malformed header line")
    return Headers(fields)


def _skip_trailers(reader: _Reader) -> Generator[None, None, None]:
    for _ in range(MAX_HEADERS + 1):
        line = yield from reader.line()
        if line in (b"\r\n", b"\n"):
            return
        if _HEADER_LINE.fullmatch(line.rstrip(b"\r\n")) is None:
            raise http.client.HTTPException("malformed trailer line")
    raise http.client.HTTPException("too many trailers")


def _read_chunked(reader: _Reader) -> Generator[None, None, tuple[bytes, bool]]:
    body = bytearray()
    while True:
        match = _CHUNK_SIZE.fullmatch((yield from reader.line()))
        if match is None:
            raise http.client.HTTPException("malformed chunk size")
        size = int(match.group(1), 16)
        if size == 0:
            yield from _skip_trailers(reader)  # ignored
            return bytes(body), True
        if len(body) + size > MAX_BODY:
            return bytes(body), False  # stop reading; the connection is closed, not reused
        body += yield from reader.exactly(size)
        if (yield from reader.exactly(2)) != b"\r\n":
            raise http.client.HTTPException("malformed chunk end")
