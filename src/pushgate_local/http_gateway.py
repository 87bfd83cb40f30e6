"""The HTTP API on 127.0.0.1: API Gateway's part of a request (route selection, the 2.0 event,
response mapping, its own error responses, CORS), with the functions run by the Lambda runtime.

Besides the template's routes it serves routes of its own, outside the product's namespace:
GET /_pushgate/local describes the running stack, so tools (the operator CLI) find it unconfigured,
GET /docs, /docs/openapi.json and /docs/errors serve the API's documentation (docs_routes), and
/demo/ with /_pushgate/local/demo/... the local-only demo page and its API (demo_routes), and
GET /_pushgate/local/events what the functions put on the stack's event bus (local_events)."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pushgate_local.config import HOST, SHUTDOWN_POLL_SECONDS
from pushgate_local.cors import CorsPolicy
from pushgate_local.demo_routes import DemoRoutes
from pushgate_local.docs_routes import docs_response
from pushgate_local.http_events import (
    HttpRequest,
    HttpResponse,
    InvalidLambdaResponse,
    build_event,
    json_message,
    new_request_id,
    response_from_lambda,
)
from pushgate_local.http_routing import RouteTable
from pushgate_local.lambda_runtime import Invocation
from pushgate_local.local_events import LocalEvents

DISCOVERY_PATH = "/_pushgate/local"
MAX_REQUEST_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
REQUEST_ID_HEADER = "apigw-requestid"

Invoke = Callable[[str, dict[str, Any]], Invocation]


class RequestRefused(Exception):
    """A request API Gateway answers itself, before any route (malformed, or its body too large)."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__(response.status)
        self.response = response


class HttpGateway:
    def __init__(
        self,
        port: int,
        routes: RouteTable,
        invoke: Invoke,
        discovery: Callable[[], dict[str, Any]],
        cors: CorsPolicy | None = None,
        local_events: LocalEvents | None = None,
    ) -> None:
        self._routes = routes
        self._local_events = local_events
        self._invoke = invoke
        self._discovery = discovery
        self._cors = cors
        # Further local-only routes the stack adds once their parts exist (the schedules' run-now).
        self.local_routes: list[Callable[[HttpRequest], HttpResponse | None]] = []
        # The local-only demo page and its API: sessions and pushes are requests to the routes here.
        self._demo = DemoRoutes(discovery, lambda request: self._respond(request, new_request_id())[0])
        # Bound now, so a busy port fails the start before anything else is set up.
        self._server = ThreadingHTTPServer((HOST, port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(SHUTDOWN_POLL_SECONDS,), name="http-gateway", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
        self._server.server_close()

    def handle(self, request: HttpRequest) -> HttpResponse:
        """One request, start to finish, without sockets (what the tests drive directly)."""
        request_id = new_request_id()
        started = time.monotonic()
        response, route_key = self._respond(request, request_id)
        if self._cors is not None and not CorsPolicy.is_preflight(request):
            response = self._cors.apply(request, response)
        response = HttpResponse(response.status, [*response.headers, (REQUEST_ID_HEADER, request_id)], response.body)
        _access_log(request, route_key, response.status, request_id, started)
        return response

    def _respond(self, request: HttpRequest, request_id: str) -> tuple[HttpResponse, str]:
        if self._cors is not None and CorsPolicy.is_preflight(request):
            return self._cors.preflight(request), "-"
        if request.method == "GET" and request.raw_path == DISCOVERY_PATH:
            body = json.dumps(self._discovery()).encode()
            return HttpResponse(200, [("content-type", "application/json")], body), f"GET {DISCOVERY_PATH}"
        if self._local_events is not None and (recorded := self._local_events.respond(request)) is not None:
            return recorded, f"{request.method} {request.raw_path}"
        for local_route in self.local_routes:
            if (answer := local_route(request)) is not None:
                return answer, f"{request.method} {request.raw_path}"
        if (page := docs_response(request.method, request.raw_path)) is not None:
            return page, f"GET {request.raw_path}"
        if (demo := self._demo.respond(request)) is not None:
            return demo, f"{request.method} {request.raw_path}"
        match = self._routes.match(request.method, request.raw_path)
        if match is None:
            return json_message(404, "Not Found"), "-"
        event = build_event(request, match.route_key, match.path_parameters, request_id)
        invocation = self._invoke(match.route.function, event)
        if invocation.timed_out:
            return json_message(503, "Service Unavailable"), match.route_key
        if invocation.failed:
            return json_message(500, "Internal Server Error"), match.route_key
        try:
            return response_from_lambda(invocation.payload), match.route_key
        except InvalidLambdaResponse as error:
            _log(f"{match.route.function} returned an invalid response: {error}")
            return json_message(500, "Internal Server Error"), match.route_key


def _log(line: str) -> None:
    sys.stderr.write(f"[HttpApi] {line}\n")
    sys.stderr.flush()


def _access_log(request: HttpRequest, route_key: str, status: int, request_id: str, started: float) -> None:
    # Like the template's access log: the route, never the path (a path parameter may be a device
    # token or a Web Push endpoint) nor the query string (session ids and API keys).
    latency = (time.monotonic() - started) * 1000
    route = route_key if route_key != "-" else f"{request.method} (no route)"
    _log(f"{route} -> {status} ({latency:.0f} ms, requestId {request_id})")


def _read_chunked(stream: Any, limit: int) -> bytes:
    body = bytearray()
    while True:
        size_line = stream.readline(1024).split(b";")[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            raise RequestRefused(json_message(400, "Bad Request")) from None
        if size == 0:
            while stream.readline(1024).strip():  # trailers
                pass
            return bytes(body)
        if len(body) + size > limit:
            raise RequestRefused(json_message(413, "Request Entity Too Large"))
        body += stream.read(size)
        stream.readline(1024)  # the CRLF after each chunk


def _handler_class(gateway: HttpGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as browsers and `requests` expect
        # The headers and the body go out in two writes: with Nagle's algorithm the body waits for
        # the client's delayed ACK of the headers, 40 ms on every keep-alive response.
        disable_nagle_algorithm = True
        server_version = "pushgate-local"
        sys_version = ""

        def _read_body(self) -> bytes:
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                return _read_chunked(self.rfile, MAX_REQUEST_BODY_BYTES)
            length = self.headers.get("content-length")
            if not length:
                return b""
            if not length.isdigit():
                raise RequestRefused(json_message(400, "Bad Request"))
            if int(length) > MAX_REQUEST_BODY_BYTES:
                raise RequestRefused(json_message(413, "Request Entity Too Large"))
            return self.rfile.read(int(length))

        def _serve(self) -> None:
            try:
                body = self._read_body()
            except RequestRefused as refusal:
                self.close_connection = True  # the unread body would be taken for the next request
                self._send(refusal.response)
                return
            request = HttpRequest(
                method=self.command,
                target=self.path,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
                server_port=gateway.port,
                protocol=self.request_version,
            )
            self._send(gateway.handle(request))

        def _send(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(response.body)))
            if self.close_connection:
                self.send_header("connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            """The gateway logs each request itself, without the query string."""

    return Handler
