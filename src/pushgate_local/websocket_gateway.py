"""The WebSocket API on 127.0.0.1 (docs/api.md §8): API Gateway's part of a WebSocket connection, with
the route functions run by the Lambda runtime. Everything comes from the template's
AWS::ApiGatewayV2 resources (see template.websocket_apis): the route selection expression, the
routes, the function behind each, and which routes answer (those with a route response).

As API Gateway does:
- the opening handshake invokes $connect; a 2xx statusCode opens the connection, anything else
  (or a failed function) refuses the upgrade with that HTTP status;
- each text message goes to the route its selection expression picks, else $default; a two-way
  route sends the function's `body` back on that connection only; a failed function gets
  {"message": "Internal server error", ...}, and a message no route takes {"message": "Forbidden", ...};
- a message over 128 KiB closes the connection with 1009, a binary frame with 1003; an idle
  connection is closed after 10 minutes, any connection after 2 hours (1001 "Going away");
- every close, whoever starts it (the stack stopping included), invokes $disconnect once, with
  disconnectStatusCode and disconnectReason.

The server runs its own asyncio loop in a thread; function invocations run in a thread pool, so
messages of one connection are handled concurrently, as on AWS (replies may overtake each other).
The @connections management API is not served: no function of the template calls it."""

from __future__ import annotations

import asyncio
import http
import json
import socket
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from pushgate_local.config import HOST
from pushgate_local.http_events import new_request_id
from pushgate_local.intrinsics import StackContext
from pushgate_local.lambda_runtime import Invocation
from pushgate_local.template import WebSocketApiSpec, WebSocketRoute
from pushgate_local.websocket_events import (
    CONNECT_ROUTE,
    DISCONNECT_ROUTE,
    ConnectionContext,
    check_selection_expression,
    connect_event,
    connect_status,
    disconnect_event,
    gateway_error,
    message_event,
    new_connection_id,
    route_response,
    select_route,
)

MAX_MESSAGE_BYTES = 128 * 1024  # API Gateway's message payload quota
IDLE_TIMEOUT_SECONDS = 10 * 60
MAX_CONNECTION_SECONDS = 2 * 3600
# A cold $connect (worker init plus the function's Timeout) must fit in the opening handshake.
OPEN_TIMEOUT_SECONDS = 60.0
CLOSE_TIMEOUT_SECONDS = 5.0  # how long a closing handshake may take before the TCP connection is dropped
SHUTDOWN_GRACE_SECONDS = 10.0  # messages still running when the stack stops
STOP_TIMEOUT_SECONDS = 60.0
INVOKER_THREADS = 64

GOING_AWAY = (1001, "Going away")
UNSUPPORTED_DATA = (1003, "Binary frames are not supported")
ABNORMAL_CLOSURE = 1006

Invoke = Callable[[str, dict[str, Any]], Invocation]


@dataclass(frozen=True)
class WebSocketApi:
    """The template's WebSocket API with its intrinsics resolved: what the gateway serves."""

    routes: dict[str, WebSocketRoute]
    selection_expression: str
    stage: str
    api_id: str

    @classmethod
    def from_spec(cls, spec: WebSocketApiSpec, context: StackContext) -> WebSocketApi:
        stage = str(context.resolve(spec.stage_name)) if spec.stage_name is not None else "$default"
        return cls(dict(spec.routes), spec.route_selection_expression, stage, str(context.ref(spec.logical_id)))


@dataclass
class _ConnectionState:
    context: ConnectionContext
    connected: bool = False  # $connect accepted it
    disconnected: bool = False  # $disconnect invoked (or under way)
    subprotocol: str | None = None  # a Sec-WebSocket-Protocol the $connect function chose


def _log(line: str) -> None:
    sys.stderr.write(f"[WebSocketApi] {line}\n")
    sys.stderr.flush()


def _close_status(connection: ServerConnection) -> tuple[int, str]:
    """disconnectStatusCode and disconnectReason: the code of whoever closed first."""
    protocol = connection.protocol
    received, sent = protocol.close_rcvd, protocol.close_sent
    if sent is not None and (received is None or protocol.close_rcvd_then_sent is False):
        return sent.code, sent.reason
    if received is not None:
        return received.code, received.reason
    return ABNORMAL_CLOSURE, ""


def _json_response(connection: ServerConnection, status: int, body: str) -> Response:
    response = connection.respond(status, body)
    if body.startswith("{"):
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
    return response


def _header(headers: Any, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if str(key).lower() == name:
            return str(value)
    return None


class WebSocketGateway:
    def __init__(
        self,
        port: int,
        api: WebSocketApi,
        invoke: Invoke,
        *,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_connection_seconds: float = MAX_CONNECTION_SECONDS,
        log: Callable[[str], None] | None = None,
    ) -> None:
        check_selection_expression(api.selection_expression)
        self._api = api
        self._invoke = invoke
        self._max_message_bytes = max_message_bytes
        self._idle_timeout = idle_timeout
        self._max_connection_seconds = max_connection_seconds
        self._log = log or _log
        # Bound now, so a busy port fails the start before anything else is set up.
        try:
            self._socket = socket.create_server((HOST, port))
        except OSError as error:
            raise OSError(error.errno, f"{error.strerror} (the WebSocket API's port {port})") from error
        self._executor = ThreadPoolExecutor(max_workers=INVOKER_THREADS, thread_name_prefix="websocket-invoke")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._stop_requested: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()  # messages and late $disconnects under way

    @property
    def port(self) -> int:
        return self._socket.getsockname()[1]

    @property
    def url(self) -> str:
        return f"ws://{HOST}:{self.port}"

    # -- lifecycle (called from other threads) -----------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="websocket-gateway", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    def stop(self) -> None:
        """Close every connection (1001 "Going away", $disconnect invoked for each) and stop serving;
        returns once the $disconnect invocations are done, so the functions may stop next."""
        if self._thread is not None and self._thread.is_alive() and self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._request_stop)
            except RuntimeError:
                pass  # the loop is closed already
            self._thread.join(timeout=STOP_TIMEOUT_SECONDS)
        self._socket.close()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _request_stop(self) -> None:
        assert self._stop_requested is not None
        self._stop_requested.set()

    def _run(self) -> None:
        assert self._loop is not None
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve())
        finally:
            self._loop.close()

    async def _serve(self) -> None:
        self._stop_requested = asyncio.Event()
        try:
            server = await serve(
                self._handle,
                sock=self._socket,
                process_request=self._process_request,
                process_response=self._process_response,
                create_connection=_Connection,
                compression=None,  # API Gateway does not negotiate permessage-deflate
                ping_interval=None,  # nor ping its clients (it answers their pings)
                open_timeout=OPEN_TIMEOUT_SECONDS,
                close_timeout=CLOSE_TIMEOUT_SECONDS,
                max_size=self._max_message_bytes,
                server_header="pushgate-local",
            )
        except BaseException as error:  # noqa: BLE001 - reported to start()'s caller
            self._startup_error = error
            self._ready.set()
            return
        self._ready.set()
        await self._stop_requested.wait()
        server.close(close_connections=True, code=GOING_AWAY[0], reason=GOING_AWAY[1])
        await server.wait_closed()  # every handler has returned: their $disconnects are done
        pending = [task for task in self._tasks if not task.done()]
        if pending:
            _, late = await asyncio.wait(pending, timeout=SHUTDOWN_GRACE_SECONDS)
            for task in late:
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)

    # -- helpers -------------------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, function: str, event: dict[str, Any]) -> Invocation:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._invoke, function, event)
        except Exception as error:  # noqa: BLE001 - e.g. the executor shut down as the stack stops
            self._log(f"{function} could not be invoked: {error!r}")
            return Invocation("", error={"errorType": "Runtime.Unavailable", "errorMessage": str(error)})

    @staticmethod
    async def _send(connection: ServerConnection, frame: str | bytes) -> bool:
        try:
            await connection.send(frame)
        except ConnectionClosed:
            return False  # the client left meanwhile; API Gateway drops the reply too
        return True

    # -- $connect: during the opening handshake ----------------------------------------------

    def _path_allowed(self, path: str) -> bool:
        # ws://127.0.0.1:<port> as docs/api.md §8 gives it, or with the stage as in the deployed URL.
        return path.rstrip("/") in ("", f"/{self._api.stage}")

    async def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        path, _, raw_query = request.path.partition("?")
        if not self._path_allowed(path):
            return _json_response(connection, 403, json.dumps({"message": "Forbidden"}))
        if "websocket" not in request.headers.get("Upgrade", "").lower():
            return None  # not an upgrade: websockets answers 426 itself, no function involved
        now = time.time()
        context = ConnectionContext(
            connection_id=new_connection_id(),
            connected_at=int(now * 1000),
            source_ip=str(connection.remote_address[0]),
            user_agent=request.headers.get("User-Agent", ""),
            domain_name=request.headers.get("Host") or f"{HOST}:{self.port}",
            stage=self._api.stage,
            api_id=self._api.api_id,
        )
        state = _ConnectionState(context)
        connection.pushgate_state = state  # type: ignore[attr-defined]
        connection.pushgate_gateway = self  # type: ignore[attr-defined]
        route = self._api.routes.get(CONNECT_ROUTE)
        if route is None:
            state.connected = True
            self._log(f"CONNECT (no $connect route) -> 101 (connectionId {context.connection_id})")
            return None
        request_id = new_request_id()
        started = time.monotonic()
        event = connect_event(context, list(request.headers.raw_items()), raw_query, request_id, self.port, now)
        invocation = await self._call(route.function, event)
        if invocation.timed_out:
            status, body = 504, json.dumps({"message": "Endpoint request timed out"})
        elif invocation.failed:
            status, body = 500, json.dumps({"message": "Internal server error"})
        else:
            status = connect_status(invocation.payload) or 502
            payload = invocation.payload if isinstance(invocation.payload, dict) else {}
            body = payload.get("body") if isinstance(payload.get("body"), str) else ""
            if status == 502:
                self._log(f"{route.function} returned no statusCode for $connect: refused")
                body = json.dumps({"message": "Internal server error"})
        latency = (time.monotonic() - started) * 1000
        accepted = 200 <= status < 300
        shown = 101 if accepted else status
        self._log(f"CONNECT $connect -> {shown} (connectionId {context.connection_id}, {latency:.0f} ms, requestId {request_id})")
        if not accepted:
            return _json_response(connection, status, body or http.HTTPStatus(status).phrase)
        state.connected = True
        state.subprotocol = _header(invocation.payload.get("headers"), "sec-websocket-protocol")
        return None

    async def _process_response(self, connection: ServerConnection, request: Request, response: Response) -> None:
        state: _ConnectionState | None = getattr(connection, "pushgate_state", None)
        if state is not None and state.subprotocol and response.status_code == 101:
            response.headers["Sec-WebSocket-Protocol"] = state.subprotocol
        return None

    # -- an open connection ----------------------------------------------------------------

    async def _handle(self, connection: ServerConnection) -> None:
        state: _ConnectionState = connection.pushgate_state  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        closes_at = loop.time() + self._max_connection_seconds
        try:
            while True:
                wait = min(self._idle_timeout, closes_at - loop.time())
                try:
                    async with asyncio.timeout(max(wait, 0)):
                        message = await connection.recv()
                except TimeoutError:
                    await connection.close(*GOING_AWAY)
                    break
                except ConnectionClosed:
                    break
                if isinstance(message, bytes):
                    await connection.close(*UNSUPPORTED_DATA)
                    break
                self._spawn(self._on_message(connection, state, message))
        finally:
            await self._disconnect(connection, state)

    async def _on_message(self, connection: ServerConnection, state: _ConnectionState, body: str) -> None:
        context = state.context
        request_id = new_request_id()
        started = time.monotonic()
        route_key = select_route(self._api.selection_expression, body, self._api.routes.keys())
        if route_key is None:
            await self._send(connection, gateway_error("Forbidden", context.connection_id, request_id))
            self._log(f"MESSAGE (no route) -> 403 (connectionId {context.connection_id}, requestId {request_id})")
            return
        route = self._api.routes[route_key]
        invocation = await self._call(route.function, message_event(context, route_key, body, request_id))
        status = 500 if invocation.failed else 200
        if route.two_way:
            if invocation.failed:
                frame: str | bytes | None = gateway_error("Internal server error", context.connection_id, request_id)
            else:
                frame = route_response(invocation.payload)
            if frame is not None:
                await self._send(connection, frame)
        latency = (time.monotonic() - started) * 1000
        self._log(
            f"MESSAGE {route_key} -> {status} (connectionId {context.connection_id}, {latency:.0f} ms, "
            f"requestId {request_id})"
        )

    async def _disconnect(self, connection: ServerConnection, state: _ConnectionState) -> None:
        if state.disconnected or not state.connected:
            return
        state.disconnected = True
        context = state.context
        if connection.protocol.state is not State.CLOSED:
            code, reason = ABNORMAL_CLOSURE, ""
        else:
            code, reason = _close_status(connection)
        route = self._api.routes.get(DISCONNECT_ROUTE)
        if route is None:
            self._log(f"DISCONNECT ({code}) (connectionId {context.connection_id})")
            return
        request_id = new_request_id()
        started = time.monotonic()
        invocation = await self._call(route.function, disconnect_event(context, code, reason, request_id))
        latency = (time.monotonic() - started) * 1000
        status = 500 if invocation.failed else 200
        self._log(
            f"DISCONNECT $disconnect ({code}) -> {status} (connectionId {context.connection_id}, "
            f"{latency:.0f} ms, requestId {request_id})"
        )


class _Connection(ServerConnection):
    """A connection that $connect accepted but whose handshake did not complete (the client left,
    the stack is stopping, the handshake timed out) still gets its $disconnect."""

    async def handshake(self, *args: Any, **kwargs: Any) -> None:
        try:
            await super().handshake(*args, **kwargs)
        finally:
            state: _ConnectionState | None = getattr(self, "pushgate_state", None)
            gateway: WebSocketGateway | None = getattr(self, "pushgate_gateway", None)
            if state is not None and gateway is not None and state.connected and self.protocol.state is not State.OPEN:
                gateway._spawn(gateway._disconnect(self, state))  # noqa: SLF001 - its own gateway
