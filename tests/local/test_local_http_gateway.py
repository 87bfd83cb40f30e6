"""The HTTP API: route selection, API Gateway's own answers, CORS, and the socket layer."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from pushgate_local.cors import CorsPolicy
from pushgate_local.http_events import HttpRequest
from pushgate_local.http_gateway import MAX_REQUEST_BODY_BYTES, HttpGateway
from pushgate_local.http_routing import RouteTable
from pushgate_local.lambda_runtime import Invocation
from pushgate_local.template import Route, http_api_cors, http_routes

ROUTES = [
    Route("GET", "/{account_id}/push_subscribe", "Subscribe"),
    Route("GET", "/me/push_subscribe", "Me"),
    Route("ANY", "/me/push_subscribe", "AnyMe"),
    Route("GET", "/devices/{token}", "Device"),
    Route("ANY", "/files/{proxy+}", "Files"),
]


# -- routing --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "function", "parameters"),
    [
        ("GET", "/42/push_subscribe", "Subscribe", {"account_id": "42"}),
        ("GET", "/me/push_subscribe", "Me", {}),  # literal beats variable
        ("POST", "/me/push_subscribe", "AnyMe", {}),  # ANY when no route for the method
        ("GET", "/devices/https%3A%2F%2Fpush.example%2Fa%20b", "Device", {"token": "https://push.example/a b"}),
        ("DELETE", "/files/a/b/c.txt", "Files", {"proxy": "a/b/c.txt"}),
    ],
)
def test_routes_are_matched_most_specific_first(method: str, path: str, function: str, parameters: dict) -> None:
    match = RouteTable(ROUTES).match(method, path)
    assert match is not None and match.route.function == function and match.path_parameters == parameters


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/42/push_subscribe"),
        ("GET", "/42/push_subscribe/extra"),
        ("GET", "/files/"),
        ("GET", "/devices/a/b"),
        ("GET", "/"),
    ],
)
def test_unmatched_requests(method: str, path: str) -> None:
    assert RouteTable(ROUTES).match(method, path) is None


def test_the_default_route_takes_the_rest() -> None:
    match = RouteTable([*ROUTES, Route("ANY", "$default", "Fallback")]).match("GET", "/nowhere")
    assert match is not None and match.route.function == "Fallback" and match.route_key == "$default"


def test_the_templates_routes() -> None:
    table = RouteTable(http_routes())
    match = table.match("POST", "/7/push_unsubscribe")
    assert match is not None and match.route.function == "AccountPushUnsubscribeFunction"
    assert match.route_key == "POST /{account_id}/push_unsubscribe"
    assert table.match("POST", "/sessions").route.function == "CreateSessionFunction"


# -- the gateway (no sockets) ---------------------------------------------------------------------


class FakeFunctions:
    def __init__(self, invocation: Invocation | None = None) -> None:
        self.invocation = invocation or Invocation("id", payload={"statusCode": 200, "body": "ok"})
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, function: str, event: dict[str, Any]) -> Invocation:
        self.calls.append((function, event))
        return self.invocation


DISCOVERY = {"http_url": "http://127.0.0.1:1"}


def gateway_with(functions: FakeFunctions, cors: CorsPolicy | None = None, port: int = 0) -> HttpGateway:
    return HttpGateway(port, RouteTable(ROUTES), functions, lambda: DISCOVERY, cors)


@pytest.fixture
def gateways() -> Iterator[list[HttpGateway]]:
    created: list[HttpGateway] = []
    yield created
    for gateway in created:
        gateway.stop()


@pytest.fixture
def make_gateway(gateways: list[HttpGateway]) -> Callable[..., HttpGateway]:
    def make(functions: FakeFunctions, cors: CorsPolicy | None = None) -> HttpGateway:
        gateway = gateway_with(functions, cors)
        gateways.append(gateway)
        return gateway

    return make


def header(response: Any, name: str) -> str | None:
    return next((value for key, value in response.headers if key.lower() == name), None)


def test_a_matched_route_invokes_its_function_with_the_event(make_gateway: Callable[..., HttpGateway]) -> None:
    functions = FakeFunctions()
    response = make_gateway(functions).handle(HttpRequest("GET", "/42/push_subscribe?a=1"))
    assert (response.status, response.body) == (200, b"ok")
    function, event = functions.calls[0]
    assert function == "Subscribe"
    assert event["pathParameters"] == {"account_id": "42"} and event["rawQueryString"] == "a=1"
    # The event's request id is the one in the response header.
    assert header(response, "apigw-requestid") == event["requestContext"]["requestId"]


@pytest.mark.parametrize(
    ("invocation", "status", "message"),
    [
        (Invocation("id", error={"errorType": "KeyError"}), 500, "Internal Server Error"),
        (Invocation("id", error={"errorType": "Sandbox.Timedout"}, timed_out=True), 503, "Service Unavailable"),
        (Invocation("id", payload={"statusCode": "oops"}), 500, "Internal Server Error"),
    ],
)
def test_function_failures_become_api_gateway_errors(
    make_gateway: Callable[..., HttpGateway], invocation: Invocation, status: int, message: str
) -> None:
    response = make_gateway(FakeFunctions(invocation)).handle(HttpRequest("GET", "/42/push_subscribe"))
    assert response.status == status and json.loads(response.body) == {"message": message}


def test_unknown_routes_are_not_found_without_invoking_anything(make_gateway: Callable[..., HttpGateway]) -> None:
    functions = FakeFunctions()
    response = make_gateway(functions).handle(HttpRequest("GET", "/nope"))
    assert response.status == 404 and json.loads(response.body) == {"message": "Not Found"}
    assert functions.calls == []


def test_discovery_is_served_outside_the_template(make_gateway: Callable[..., HttpGateway]) -> None:
    response = make_gateway(FakeFunctions()).handle(HttpRequest("GET", "/_pushgate/local"))
    assert response.status == 200 and json.loads(response.body) == DISCOVERY


def test_the_api_documentation_is_served_outside_the_template(make_gateway: Callable[..., HttpGateway]) -> None:
    functions = FakeFunctions()
    gateway = make_gateway(functions)
    document = gateway.handle(HttpRequest("GET", "/docs/openapi.json"))
    assert document.status == 200 and json.loads(document.body)["openapi"].startswith("3.1")
    page = gateway.handle(HttpRequest("GET", "/docs"))
    assert page.status == 200 and b'id="swagger-ui"' in page.body
    errors = gateway.handle(HttpRequest("GET", "/docs/errors"))
    assert errors.status == 200 and b"not_found-404" in errors.body
    assert gateway.handle(HttpRequest("POST", "/docs")).status == 404
    assert functions.calls == []


PREFLIGHT_HEADERS = [("Origin", "https://a.example"), ("Access-Control-Request-Method", "POST")]


def test_cors_from_the_template(make_gateway: Callable[..., HttpGateway]) -> None:
    policy = CorsPolicy.from_config(http_api_cors())
    own_cors = {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "https://evil"}}
    functions = FakeFunctions(Invocation("id", payload=own_cors))
    gateway = make_gateway(functions, policy)
    preflight = gateway.handle(HttpRequest("OPTIONS", "/42/push_subscribe", PREFLIGHT_HEADERS))
    assert preflight.status == 204 and functions.calls == []
    assert header(preflight, "access-control-allow-origin") == "*"
    assert "im-client-key" in header(preflight, "access-control-allow-headers")
    assert header(preflight, "access-control-max-age") == "600"
    actual = gateway.handle(HttpRequest("GET", "/42/push_subscribe", [("Origin", "https://app.example")]))
    # API Gateway's CORS headers replace the function's own.
    assert [value for name, value in actual.headers if name.lower() == "access-control-allow-origin"] == ["*"]
    assert header(actual, "access-control-expose-headers") == "x-request-id"


# -- the socket layer -----------------------------------------------------------------------------


@pytest.fixture
def served(gateways: list[HttpGateway]) -> tuple[HttpGateway, FakeFunctions]:
    text = {"statusCode": 200, "headers": {"content-type": "text/plain"}, "body": "hi"}
    functions = FakeFunctions(Invocation("id", payload=text))
    gateway = gateway_with(functions)
    gateways.append(gateway)
    gateway.start()
    return gateway, functions


def test_over_http_with_keep_alive(served: tuple[HttpGateway, FakeFunctions]) -> None:
    gateway, functions = served
    with requests.Session() as session:
        for _ in range(2):
            response = session.post(f"{gateway.url}/me/push_subscribe", data={"a": "1"}, timeout=10)
            assert (response.status_code, response.text) == (200, "hi")
    event = functions.calls[-1][1]
    assert event["isBase64Encoded"] is True and event["headers"]["content-type"] == "application/x-www-form-urlencoded"


def test_chunked_request_bodies_are_read(served: tuple[HttpGateway, FakeFunctions]) -> None:
    gateway, functions = served
    chunks = iter([b'{"a":', b"1}"])  # a generator body goes out chunked
    response = requests.post(
        f"{gateway.url}/me/push_subscribe", data=chunks, headers={"content-type": "application/json"}, timeout=10
    )
    assert response.status_code == 200
    assert functions.calls[-1][1]["body"] == '{"a":1}'


def test_bodies_over_10_mib_are_refused_before_reading_them(served: tuple[HttpGateway, FakeFunctions]) -> None:
    gateway, functions = served
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as connection:
        too_long = MAX_REQUEST_BODY_BYTES + 1
        head = f"POST /me/push_subscribe HTTP/1.1\r\nHost: x\r\nContent-Length: {too_long}\r\n\r\n"
        connection.sendall(head.encode())
        reply = connection.recv(4096).decode()
    assert reply.startswith("HTTP/1.1 413")
    assert functions.calls == []
