"""One HTTP/2 connection to a provider, driven by `h2`'s state machine: the TLS socket (an asyncio
Protocol, so received bytes go straight into h2 with no reader task), the streams open on it and
the exchanges they answer.

Everything here runs on the transport's event-loop thread (h2_transport.py). h2 does the framing,
HPACK and flow-control bookkeeping; this module decides when to write (once per wave of new
streams and once per burst of received bytes: fewer TLS records and syscalls is where the CPU
goes), resolves each exchange from the reader, and turns every way a connection or stream can end
into one of h2_exchange's exceptions, which the caller classifies as retryable."""

from __future__ import annotations

import asyncio
import functools
import ssl
from collections.abc import Callable
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings
from h2.errors import ErrorCodes

from pushgate.delivery.transport.h2_exchange import (  # noqa: F401 - the errors are part of this module's interface
    ConnectError,
    ConnectionGoingAway,
    ConnectionLost,
    ConnectTimeout,
    Exchange,
    Http2NotNegotiated,
    ReadTimeout,
    StreamReset,
)
from pushgate.delivery.transport.http2 import MAX_RESPONSE_BYTES, Response

# Our receive windows: wide, so that an answer never waits for a WINDOW_UPDATE round trip.
RECEIVE_WINDOW = 1 << 20


class Connection(asyncio.Protocol):
    """A client connection. `on_change(self)` is called when it can take more streams (one ended,
    the peer raised its limit) or has closed: the pool then starts queued work."""

    def __init__(self, loop: asyncio.AbstractEventLoop, read_timeout: float, on_change: Callable[[Connection], None]) -> None:
        self._loop = loop
        self._read_timeout = read_timeout
        self._on_change = on_change
        config = h2.config.H2Configuration(
            # Outbound headers are checked once, cheaply, by H2Transport._request_headers. Inbound
            # ones are not checked header by header (a tenth of a delivery's CPU): only the status
            # and a few named headers are read, and a status that is not three digits counts as
            # no answer (status 0, retried), never as a success.
            client_side=True, header_encoding=None, validate_outbound_headers=False, normalize_outbound_headers=False,
            validate_inbound_headers=False, normalize_inbound_headers=False,
        )
        self._h2 = h2.connection.H2Connection(config=config)
        # HPACK's Huffman coding is optional (RFC 7541 5.2) and, in pure Python, the largest cost
        # of a request: the values that change per request (path with the device token, apns-id)
        # would be Huffman-coded every time to save a few dozen bytes. Literal strings instead.
        self._h2.encoder.encode = functools.partial(self._h2.encoder.encode, huffman=False)
        self._transport: asyncio.Transport | None = None
        self._ready: asyncio.Future[None] = loop.create_future()
        self._streams: dict[int, Exchange] = {}
        self._blocked: dict[int, Exchange] = {}  # streams whose body waits for a WINDOW_UPDATE
        self._sweeper: asyncio.TimerHandle | None = None
        self.ready = False  # the server's first SETTINGS has come
        self.closed = False
        self.going_away = False
        self.last_active = loop.time()  # a stream started or bytes came

    # --- opening --------------------------------------------------------------------------------

    async def open(self, host: str, port: int, context: ssl.SSLContext, timeout: float) -> None:
        """TCP, TLS with ALPN h2, our preface and SETTINGS, and the server's first SETTINGS (so the
        stream limit is the server's, not h2's unlimited default), all within `timeout`."""
        try:
            async with asyncio.timeout(timeout):
                await self._loop.create_connection(
                    lambda: self, host, port, ssl=context, server_hostname=host, ssl_handshake_timeout=timeout
                )
                await self._ready
        except ConnectError:
            self.abort()
            raise
        except TimeoutError:
            self.abort()
            raise ConnectTimeout("no HTTP/2 connection within the connect timeout") from None
        except (ssl.SSLError, OSError) as error:  # refused, unreachable, certificate not trusted
            self.abort()
            raise ConnectError(f"could not connect: {type(error).__name__}") from error
        except BaseException:  # cancelled by the transport closing
            self.abort()
            raise

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]
        ssl_object = transport.get_extra_info("ssl_object")
        protocol = ssl_object.selected_alpn_protocol() if ssl_object is not None else None
        if protocol != "h2":
            self._fail_ready(Http2NotNegotiated(f"the server chose {protocol or 'no protocol'} in ALPN, not h2"))
            transport.close()
            return
        self._h2.local_settings = h2.settings.Settings(
            client=True,
            initial_values={h2.settings.SettingCodes.ENABLE_PUSH: 0, h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: RECEIVE_WINDOW},
        )
        self._h2.initiate_connection()
        self._h2.increment_flow_control_window(RECEIVE_WINDOW)
        self._flush()

    def _fail_ready(self, error: BaseException) -> None:
        if not self._ready.done():
            self._ready.set_exception(error)
            self._ready.exception()  # a connection lost before anyone awaited it is not an error to log

    # --- capacity -------------------------------------------------------------------------------

    @property
    def usable(self) -> bool:
        return self.ready and not self.closed and not self.going_away

    def idle_for(self, now: float) -> float:
        """Seconds with no stream open and nothing received (0 while a stream is open)."""
        return 0.0 if self._streams else now - self.last_active

    def retire(self) -> None:
        """Closes an idle connection (no stream open) that the pool has already dropped."""
        self.closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
        if self._transport is not None:
            self._transport.close()

    @property
    def free_streams(self) -> int:
        if not self.usable:
            return 0
        return self._h2.remote_settings.max_concurrent_streams - len(self._streams)

    # --- sending --------------------------------------------------------------------------------

    def start(self, exchanges: list[Exchange]) -> None:
        """Opens a stream per exchange (the caller checked free_streams) and writes them at once."""
        h2_connection = self._h2
        now = self.last_active = self._loop.time()
        for exchange in exchanges:
            stream_id = h2_connection.get_next_available_stream_id()
            exchange.stream_id, exchange.started, exchange.owner = stream_id, now, self
            self._streams[stream_id] = exchange
            try:
                h2_connection.send_headers(stream_id, exchange.headers, end_stream=not exchange.body)
                if exchange.body:
                    self._send_body(exchange)
            except h2.exceptions.H2Error as error:
                # Request headers h2 refuses (an invalid name or value) fail that request only.
                self._close_stream(exchange, ValueError(f"request refused by the HTTP/2 layer: {type(error).__name__}"))
        self._flush()
        self._arm_sweeper()

    def _send_body(self, exchange: Exchange) -> None:
        """As much of the body as the peer's windows allow; the rest when a WINDOW_UPDATE comes."""
        h2_connection, stream_id, body = self._h2, exchange.stream_id, exchange.body
        while exchange.sent < len(body):
            size = min(h2_connection.local_flow_control_window(stream_id), h2_connection.max_outbound_frame_size, len(body) - exchange.sent)
            if size <= 0:
                self._blocked[stream_id] = exchange
                return
            end = exchange.sent + size
            h2_connection.send_data(stream_id, body[exchange.sent : end], end_stream=end == len(body))
            exchange.sent = end
        self._blocked.pop(stream_id, None)

    def cancel(self, exchange: Exchange) -> None:
        """The caller gave up on it (deadline): RST_STREAM CANCEL, and the slot is free again."""
        if self._streams.get(exchange.stream_id) is exchange:
            self._reset(exchange.stream_id)
            self._streams.pop(exchange.stream_id)
            self._blocked.pop(exchange.stream_id, None)
            self._flush()
            self._on_change(self)

    def _reset(self, stream_id: int) -> None:
        try:
            self._h2.reset_stream(stream_id, ErrorCodes.CANCEL)
        except h2.exceptions.H2Error:
            pass  # already closed on h2's side: nothing to reset

    def _flush(self) -> None:
        data = self._h2.data_to_send()
        if data and self._transport is not None and not self._transport.is_closing():
            self._transport.write(data)

    # --- receiving ------------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        self.last_active = self._loop.time()
        try:
            events = self._h2.receive_data(data)
        except h2.exceptions.ProtocolError as error:
            self._flush()  # h2 has queued a GOAWAY for the peer
            self._lose(ConnectionLost(f"HTTP/2 protocol error: {type(error).__name__}"))
            return
        freed = False
        for event in events:
            handler = _HANDLERS.get(type(event))
            if handler is not None:
                freed = handler(self, event) or freed
        if freed:
            self._on_change(self)  # queued work may start here, written with what h2 owes the peer
        self._flush()

    def _response_received(self, event: h2.events.ResponseReceived) -> bool:
        exchange = self._streams.get(event.stream_id)
        if exchange is not None:
            headers = exchange.response_headers
            for name, value in event.headers:
                if name == b":status":
                    exchange.status = int(value) if len(value) == 3 and value.isdigit() else 0
                elif name[:1] != b":":
                    headers[name.decode("latin-1")] = value.decode("latin-1")
        return False

    def _data_received(self, event: h2.events.DataReceived) -> bool:
        self._h2.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
        exchange = self._streams.get(event.stream_id)
        if exchange is None:
            return False
        exchange.chunks.append(event.data)
        exchange.received += len(event.data)
        if exchange.received > MAX_RESPONSE_BYTES:
            # What follows is not read: the answer is cut here and the stream cancelled.
            self._reset(event.stream_id)
            self._close_stream(exchange, exchange.response())
            return True
        return False

    def _stream_ended(self, event: h2.events.StreamEnded) -> bool:
        exchange = self._streams.get(event.stream_id)
        if exchange is None:
            return False
        self._close_stream(exchange, exchange.response())
        return True

    def _stream_reset(self, event: h2.events.StreamReset) -> bool:
        exchange = self._streams.get(event.stream_id)
        if exchange is None:
            return False
        self._close_stream(exchange, StreamReset(f"the server reset the stream ({_code_name(event.error_code)})"))
        return True

    def _window_updated(self, event: h2.events.WindowUpdated) -> bool:
        if event.stream_id == 0:
            for exchange in list(self._blocked.values()):
                self._send_body(exchange)
        elif (exchange := self._blocked.get(event.stream_id)) is not None:
            self._send_body(exchange)
        return False

    def _settings_changed(self, event: h2.events.RemoteSettingsChanged) -> bool:
        if not self.ready:
            self.ready = True
            self._ready.set_result(None)
        if h2.settings.SettingCodes.INITIAL_WINDOW_SIZE in event.changed_settings:
            for exchange in list(self._blocked.values()):
                self._send_body(exchange)
        return True  # the stream limit may have grown

    def _terminated(self, event: h2.events.ConnectionTerminated) -> bool:
        """GOAWAY: streams up to last_stream_id are (or will be) answered; the others were not
        processed and fail with a retryable error. No new stream goes on this connection."""
        self.going_away = True
        last = event.last_stream_id if event.last_stream_id is not None else 0
        for stream_id, exchange in list(self._streams.items()):
            if stream_id > last:
                self._close_stream(exchange, ConnectionGoingAway(f"GOAWAY ({_code_name(event.error_code)}) before the stream was processed"))
        if not self._streams and self._transport is not None:
            self._transport.close()
        return True

    def _close_stream(self, exchange: Exchange, result: Response | BaseException) -> None:
        self._streams.pop(exchange.stream_id, None)
        self._blocked.pop(exchange.stream_id, None)
        exchange.finish(result)
        if self.going_away and not self._streams and self._transport is not None:
            self._transport.close()

    # --- timeouts and the end -------------------------------------------------------------------

    def _arm_sweeper(self) -> None:
        # One timer per connection, not one per stream: each tick fails the streams that have
        # waited longer than the read timeout, so a stream's limit is kept within a tick of it.
        if self._sweeper is None and self._streams:
            self._sweeper = self._loop.call_later(_tick(self._read_timeout), self._sweep)

    def _sweep(self) -> None:
        self._sweeper = None
        expired_before = self._loop.time() - self._read_timeout
        expired = [exchange for exchange in self._streams.values() if exchange.started <= expired_before]
        for exchange in expired:
            self._reset(exchange.stream_id)
            self._close_stream(exchange, ReadTimeout("no answer within the read timeout"))
        if expired:
            self._flush()
            self._on_change(self)
        self._arm_sweeper()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost follows

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"connection lost: {type(exc).__name__}" if exc is not None else "connection closed by the server"
        self._lose(ConnectionLost(reason), cause=exc)

    def _lose(self, error: ConnectionLost, cause: BaseException | None = None) -> None:
        if self.closed:
            return
        self.closed = True
        error.__cause__ = cause
        self._fail_ready(ConnectError("the connection closed while being set up"))
        if self._sweeper is not None:
            self._sweeper.cancel()
        streams, self._streams = self._streams, {}
        self._blocked.clear()
        for exchange in streams.values():
            exchange.finish(error)
        if self._transport is not None:
            self._transport.close()
        self._on_change(self)

    def abort(self) -> None:
        """Drops the connection now (a failed open, or the transport closing)."""
        if self._transport is not None:
            self._transport.abort()
        self._lose(ConnectionLost("connection closed by the client"))


def _tick(read_timeout: float) -> float:
    return min(max(read_timeout / 8, 0.01), 0.5)


def _code_name(code: Any) -> str:
    try:
        return ErrorCodes(code).name
    except ValueError:
        return str(code)


_HANDLERS: dict[type, Callable[[Connection, Any], bool]] = {
    h2.events.ResponseReceived: Connection._response_received,
    h2.events.DataReceived: Connection._data_received,
    h2.events.StreamEnded: Connection._stream_ended,
    h2.events.StreamReset: Connection._stream_reset,
    h2.events.WindowUpdated: Connection._window_updated,
    h2.events.RemoteSettingsChanged: Connection._settings_changed,
    h2.events.ConnectionTerminated: Connection._terminated,
}
