"""The WebSocket API of the local stack: the template's routes, route selection, the events API
Gateway sends a route's function, and the gateway itself over a real socket (with stand-in
functions, so no worker process starts)."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from pushgate_local.intrinsics import WEBSOCKET_API_ID, StackContext, stack_parameters
from pushgate_local.lambda_runtime import Invocation
from pushgate_local.template import (
    REPO_ROOT,
    UnsupportedTemplate,
    WebSocketRoute,
    load_template,
    referenced_ids,
    websocket_apis,
)
from pushgate_local.websocket_events import (
    ConnectionContext,
    UnsupportedSelectionExpression,
    check_selection_expression,
    connect_event,
    connect_status,
    disconnect_event,
    evaluate_selection_expression,
    message_event,
    new_connection_id,
    route_response,
    select_route,
)
from pushgate_local.websocket_gateway import MAX_MESSAGE_BYTES, WebSocketApi, WebSocketGateway

SAMPLE_EVENTS = REPO_ROOT / "events"
TEMPLATE_ROUTES = {"$connect", "$disconnect", "$default", "auth", "push_get_vapid", "push_subscribe", "push_unsubscribe"}


def sample(name: str) -> dict[str, Any]:
    return json.loads((SAMPLE_EVENTS / name).read_text())


# -- the template ---------------------------------------------------------------------------------


def test_the_templates_websocket_api() -> None:
    (api,) = websocket_apis()
    assert api.logical_id == "WebSocketApi"
    assert api.route_selection_expression == "$request.body.cmd"
    assert api.stage_name == {"Ref": "Stage"}
    assert set(api.routes) == TEMPLATE_ROUTES
    assert api.routes["$connect"] == WebSocketRoute("$connect", "WsConnectFunction", two_way=False)
    assert api.routes["$disconnect"] == WebSocketRoute("$disconnect", "WsDisconnectFunction", two_way=False)
    assert api.routes["push_subscribe"] == WebSocketRoute("push_subscribe", "WsPushSubscribeFunction", two_way=True)
    assert api.routes["$default"].function == "WsDefaultFunction" and api.routes["$default"].two_way
    # Every command route answers its caller (docs/api.md §1).
    assert all(route.two_way for key, route in api.routes.items() if key not in ("$connect", "$disconnect"))


def test_the_api_resolves_to_the_local_stage_and_id() -> None:
    template = load_template()
    context = StackContext(template, stack_parameters(template, {"Stage": "local"}), "http://127.0.0.1:1")
    api = WebSocketApi.from_spec(websocket_apis(template)[0], context)
    assert (api.stage, api.api_id, api.selection_expression) == ("local", WEBSOCKET_API_ID, "$request.body.cmd")


def test_referenced_ids() -> None:
    uri = {"Fn::Sub": "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/functions/${Fn.Arn}/invocations"}
    assert referenced_ids(uri) == {"Fn"}
    assert referenced_ids({"Fn::Sub": "${!Literal}-${Api}"}) == {"Api"}
    assert referenced_ids({"Fn::Sub": ["${Name}/${Other}", {"Name": {"Ref": "Param"}}]}) == {"Other", "Param"}
    assert referenced_ids({"Fn::GetAtt": ["Fn", "Arn"]}) == {"Fn"}
    assert referenced_ids({"Fn::GetAtt": "Fn.Arn"}) == {"Fn"}
    assert referenced_ids({"Fn::Join": ["", ["a", {"Ref": "X"}, {"Fn::GetAtt": ["Y", "Arn"]}]]}) == {"X", "Y"}
    assert referenced_ids("plain") == set()


def _template(routes: dict[str, dict[str, Any]], integration_type: str = "AWS_PROXY", uri: Any = None) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Api": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "WEBSOCKET", "RouteSelectionExpression": "$request.body.action"}},
        "Http": {"Type": "AWS::ApiGatewayV2::Api", "Properties": {"ProtocolType": "HTTP"}},
        "Fn": {"Type": "AWS::Lambda::Function", "Properties": {}},
        "Integration": {
            "Type": "AWS::ApiGatewayV2::Integration",
            "Properties": {"ApiId": {"Ref": "Api"}, "IntegrationType": integration_type,
                           "IntegrationUri": uri or {"Fn::GetAtt": ["Fn", "Arn"]}},
        },
    }
    for name, extra in routes.items():
        route_props = {"ApiId": {"Ref": "Api"}, "Target": {"Fn::Join": ["/", ["integrations", {"Ref": "Integration"}]]}}
        route_props.update({key: value for key, value in extra.items() if key != "response"})
        resources[name] = {"Type": "AWS::ApiGatewayV2::Route", "Properties": route_props}
        if extra.get("response"):
            resources[f"{name}Response"] = {
                "Type": "AWS::ApiGatewayV2::RouteResponse",
                "Properties": {"ApiId": {"Ref": "Api"}, "RouteId": {"Ref": name}, "RouteResponseKey": "$default"},
            }
    return {"Resources": resources}


def test_routes_are_two_way_only_with_a_route_response_and_its_selection_expression() -> None:
    template = _template(
        {
            "Both": {"RouteKey": "both", "RouteResponseSelectionExpression": "$default", "response": True},
            "NoResponse": {"RouteKey": "no_response", "RouteResponseSelectionExpression": "$default"},
            "NoExpression": {"RouteKey": "no_expression", "response": True},
        }
    )
    (api,) = websocket_apis(template)  # the HTTP ApiGatewayV2 API is not a WebSocket API
    assert api.route_selection_expression == "$request.body.action" and api.stage_name is None
    assert {key: (route.function, route.two_way) for key, route in api.routes.items()} == {
        "both": ("Fn", True),
        "no_response": ("Fn", False),
        "no_expression": ("Fn", False),
    }


@pytest.mark.parametrize(
    ("template", "message"),
    [
        (_template({"R": {"RouteKey": "a"}}, integration_type="HTTP_PROXY"), "only AWS_PROXY"),
        (_template({"R": {"RouteKey": "a"}}, uri="arn:aws:lambda:us-east-1:1:function:elsewhere"), "exactly one resource"),
        (_template({"R": {"RouteKey": "$connect", "AuthorizationType": "CUSTOM"}}), "authorizers"),
    ],
    ids=["integration type", "function outside the template", "authorizer"],
)
def test_what_is_not_emulated_fails_the_start(template: dict[str, Any], message: str) -> None:
    with pytest.raises(UnsupportedTemplate, match=message):
        websocket_apis(template)


# -- route selection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "route"),
    [
        ('{"cmd":"auth","token":"t"}', "auth"),
        ('{"cmd":"push_subscribe"}', "push_subscribe"),
        ('{"cmd":"nope"}', "$default"),  # no route has that key
        ('{"token":"t"}', "$default"),  # no cmd
        ('{"cmd":null}', "$default"),
        ('{"cmd":{"x":1}}', "$default"),
        ('["auth"]', "$default"),  # JSON, not an object
        ('"auth"', "$default"),
        ("not json", "$default"),
        ("", "$default"),
        ('{"cmd":"$connect"}', "$default"),  # the lifecycle routes are never chosen by a message
        ('{"cmd":"$disconnect"}', "$default"),
        ('{"cmd":"$default"}', "$default"),
        ('{"cmd":"Auth"}', "$default"),  # route keys are case-sensitive
        (None, "$default"),  # a binary message
    ],
)
def test_route_selection_by_cmd(body: str | None, route: str) -> None:
    assert select_route("$request.body.cmd", body, TEMPLATE_ROUTES) == route


def test_without_a_default_route_nothing_is_selected() -> None:
    assert select_route("$request.body.cmd", '{"cmd":"nope"}', {"auth"}) is None
    assert select_route("$request.body.cmd", '{"cmd":"auth"}', {"auth"}) == "auth"


@pytest.mark.parametrize(
    ("expression", "body", "value"),
    [
        ("$request.body.action", '{"action":"send"}', "send"),
        ("$request.body.a.b", '{"a":{"b":"deep"}}', "deep"),
        ("$request.body.a.b", '{"a":"flat"}', None),
        ("$request.body.n", '{"n":1}', "1"),
        ("$request.body.n", '{"n":true}', "true"),
        ("${request.body.service}/${request.body.action}", '{"service":"s","action":"a"}', "s/a"),
        ("${request.body.service}/${request.body.action}", '{"service":"s"}', None),
        ("v1-${request.body.action}", '{"action":"a"}', "v1-a"),
    ],
)
def test_selection_expressions(expression: str, body: str, value: str | None) -> None:
    check_selection_expression(expression)
    assert evaluate_selection_expression(expression, body) == value


@pytest.mark.parametrize("expression", ["$request.header.x", "cmd", "$context.routeKey", "${request.querystring.a}"])
def test_unsupported_selection_expressions_are_refused(expression: str) -> None:
    with pytest.raises(UnsupportedSelectionExpression):
        check_selection_expression(expression)


# -- the events -----------------------------------------------------------------------------------

CONTEXT = ConnectionContext(
    connection_id="L0SM9cOFvHcCIhw=",
    connected_at=1_795_449_600_000,
    source_ip="127.0.0.1",
    user_agent="Mozilla/5.0",
    domain_name="127.0.0.1:3001",
    stage="local",
    api_id=WEBSOCKET_API_ID,
)
NOW = 1_795_449_601.5


def test_connection_ids_look_like_api_gateways() -> None:
    ids = {new_connection_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(re.fullmatch(r"[A-Za-z0-9]{15}=", connection_id) for connection_id in ids)


def test_the_connect_event() -> None:
    headers = [("Host", "127.0.0.1:3001"), ("User-Agent", "Mozilla/5.0"), ("Sec-WebSocket-Key", "k=="),
               ("X-Forwarded-For", "203.0.113.7"), ("Accept", "a"), ("Accept", "b")]
    event = connect_event(CONTEXT, headers, "key=pk_1&token=ses_1&token=ses_2&empty=", "req=", 3001, now=NOW)
    reference = sample("ws-connect.json")
    assert set(event) == set(reference)
    assert set(event["requestContext"]) == set(reference["requestContext"])
    assert event["requestContext"] | {"identity": None} == {
        "routeKey": "$connect",
        "eventType": "CONNECT",
        "extendedRequestId": "req=",
        "requestTime": "23/Nov/2026:16:00:01 +0000",
        "messageDirection": "IN",
        "stage": "local",
        "connectedAt": 1_795_449_600_000,
        "requestTimeEpoch": 1_795_449_601_500,
        "identity": None,
        "requestId": "req=",
        "domainName": "127.0.0.1:3001",
        "connectionId": "L0SM9cOFvHcCIhw=",
        "apiId": WEBSOCKET_API_ID,
    }
    assert event["requestContext"]["identity"] == {"userAgent": "Mozilla/5.0", "sourceIp": "127.0.0.1"}
    # Header names as sent; the last value of a repeated header, all of them in multiValueHeaders.
    assert event["headers"]["Sec-WebSocket-Key"] == "k==" and event["headers"]["Accept"] == "b"
    assert event["multiValueHeaders"]["Accept"] == ["a", "b"]
    # What API Gateway adds as a proxy.
    assert event["headers"]["X-Forwarded-For"] == "203.0.113.7, 127.0.0.1"
    assert event["headers"]["X-Forwarded-Port"] == "3001" and event["headers"]["X-Forwarded-Proto"] == "http"
    assert event["headers"]["X-Amzn-Trace-Id"].startswith("Root=1-")
    assert event["queryStringParameters"] == {"key": "pk_1", "token": "ses_2", "empty": ""}
    assert event["multiValueQueryStringParameters"] == {"key": ["pk_1"], "token": ["ses_1", "ses_2"], "empty": [""]}
    assert event["isBase64Encoded"] is False
    json.dumps(event)  # what the worker receives


def test_a_connect_without_a_query_string_has_no_query_maps() -> None:
    event = connect_event(CONTEXT, [("Host", "h")], "", "req=", 3001, now=NOW)
    assert "queryStringParameters" not in event and "multiValueQueryStringParameters" not in event


def test_the_message_event() -> None:
    body = '{"cmd": "auth",  "token": "t"}'
    event = message_event(CONTEXT, "auth", body, "req=", "msg=", now=NOW)
    reference = sample("ws-auth.json")
    assert set(event) == set(reference) and set(event["requestContext"]) == set(reference["requestContext"])
    assert event["body"] == body  # the raw text, as sent
    assert event["requestContext"]["routeKey"] == "auth" and event["requestContext"]["eventType"] == "MESSAGE"
    assert event["requestContext"]["messageId"] == "msg=" and event["requestContext"]["connectionId"] == CONTEXT.connection_id
    assert event["isBase64Encoded"] is False
    assert message_event(CONTEXT, "auth", body, "other=")["requestContext"]["messageId"]  # one of its own


def test_the_disconnect_event() -> None:
    event = disconnect_event(CONTEXT, 1001, "Going away", "req=", now=NOW)
    reference = sample("ws-disconnect.json")
    assert set(event) == set(reference) and set(event["requestContext"]) == set(reference["requestContext"])
    assert event["headers"] == {"Host": "127.0.0.1:3001", "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    context = event["requestContext"]
    assert (context["routeKey"], context["eventType"]) == ("$disconnect", "DISCONNECT")
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (1001, "Going away")


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"statusCode": 200}, 200),
        ({"statusCode": 401, "body": "Unauthorized"}, 401),
        ({"statusCode": "403"}, 403),
        ({"statusCode": True}, None),
        ({"statusCode": 99}, None),
        ({"body": "x"}, None),
        (None, None),
        ("ok", None),
    ],
)
def test_connect_status(payload: Any, status: int | None) -> None:
    assert connect_status(payload) == status


@pytest.mark.parametrize(
    ("payload", "frame"),
    [
        ({"statusCode": 200, "body": '{"cmd":"auth"}'}, '{"cmd":"auth"}'),
        ({"statusCode": 500, "body": "text"}, "text"),  # the status does not matter to a route response
        ({"statusCode": 200}, None),
        ({"statusCode": 200, "body": ""}, None),
        ({"statusCode": 200, "body": "aGk=", "isBase64Encoded": True}, b"hi"),
        ({"cmd": "x"}, '{"cmd": "x"}'),  # not a proxy result: its JSON
        (None, None),
    ],
)
def test_route_responses(payload: Any, frame: str | bytes | None) -> None:
    assert route_response(payload) == frame


# -- the gateway over a socket ----------------------------------------------------------------------

ROUTES = {
    "$connect": WebSocketRoute("$connect", "Connect", False),
    "$disconnect": WebSocketRoute("$disconnect", "Disconnect", False),
    "$default": WebSocketRoute("$default", "Default", True),
    "echo": WebSocketRoute("echo", "Echo", True),
    "fire": WebSocketRoute("fire", "Fire", False),  # one-way: nothing goes back
    "broken": WebSocketRoute("broken", "Broken", True),
}


class FakeFunctions:
    """Stand-ins for the route functions, recording every event (called from the gateway's threads)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.connect_result: Invocation = Invocation("id", payload={"statusCode": 200})
        self.connect_delay = 0.0
        self._lock = threading.Condition()

    def __call__(self, function: str, event: dict[str, Any]) -> Invocation:
        with self._lock:
            self.calls.append((function, event))
            self._lock.notify_all()
        if function == "Connect":
            time.sleep(self.connect_delay)
            return self.connect_result
        if function == "Broken":
            return Invocation("id", error={"errorType": "KeyError", "errorMessage": "x"})
        if function == "Echo":
            message = json.loads(event["body"])
            time.sleep(message.get("sleep", 0))
            reply = {"echo": message, "connectionId": event["requestContext"]["connectionId"]}
            return Invocation("id", payload={"statusCode": 200, "body": json.dumps(reply)})
        return Invocation("id", payload={"statusCode": 200, "body": json.dumps({"route": event["requestContext"]["routeKey"]})})

    def events(self, function: str) -> list[dict[str, Any]]:
        with self._lock:
            return [event for name, event in self.calls if name == function]

    def wait_for(self, function: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._lock:
            while len([1 for name, _ in self.calls if name == function]) < count:
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"{function} was not invoked {count} time(s): {[n for n, _ in self.calls]}"
                self._lock.wait(remaining)
        return self.events(function)


API = WebSocketApi(ROUTES, "$request.body.action", "local", WEBSOCKET_API_ID)


@pytest.fixture
def functions() -> FakeFunctions:
    return FakeFunctions()


@pytest.fixture
def start_gateway(functions: FakeFunctions) -> Iterator[Callable[..., WebSocketGateway]]:
    started: list[WebSocketGateway] = []

    def start(api: WebSocketApi = API, **options: Any) -> WebSocketGateway:
        gateway = WebSocketGateway(0, api, functions, log=lambda line: None, **options)
        started.append(gateway)
        gateway.start()
        return gateway

    yield start
    for gateway in started:
        gateway.stop()


@pytest.fixture
def gateway(start_gateway: Callable[..., WebSocketGateway]) -> WebSocketGateway:
    return start_gateway()


def open_socket(gateway: WebSocketGateway, path: str = "/?key=pk_1", **options: Any) -> ClientConnection:
    return connect(gateway.url + path, open_timeout=10, **options)


def no_frame(connection: ClientConnection, wait: float = 0.5) -> bool:
    try:
        connection.recv(timeout=wait)
    except TimeoutError:
        return True
    return False


def test_connect_invokes_connect_with_the_handshake(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with open_socket(gateway, "/?key=pk_1&token=ses_1", additional_headers={"User-Agent": "test-agent"}):
        (event,) = functions.events("Connect")
    assert event["queryStringParameters"] == {"key": "pk_1", "token": "ses_1"}
    assert event["headers"]["Host"] == f"127.0.0.1:{gateway.port}" and event["headers"]["Upgrade"] == "websocket"
    context = event["requestContext"]
    assert (context["routeKey"], context["eventType"], context["stage"], context["apiId"]) == ("$connect", "CONNECT", "local", WEBSOCKET_API_ID)
    assert context["identity"] == {"userAgent": "test-agent", "sourceIp": "127.0.0.1"}
    assert re.fullmatch(r"[A-Za-z0-9]{15}=", context["connectionId"])


@pytest.mark.parametrize(
    ("result", "status", "body"),
    [
        (Invocation("id", payload={"statusCode": 401, "body": "Unauthorized"}), 401, b"Unauthorized"),
        (Invocation("id", payload={"statusCode": 403}), 403, b"Forbidden"),
        (Invocation("id", payload={"statusCode": 302}), 302, b"Found"),
        (Invocation("id", payload={"body": "no status"}), 502, b'{"message": "Internal server error"}'),
        (Invocation("id", error={"errorType": "KeyError"}), 500, b'{"message": "Internal server error"}'),
        (Invocation("id", error={"errorType": "Sandbox.Timedout"}, timed_out=True), 504, b'{"message": "Endpoint request timed out"}'),
    ],
    ids=["401", "403", "302", "no statusCode", "failed", "timed out"],
)
def test_connect_refuses_unless_the_function_says_2xx(
    gateway: WebSocketGateway, functions: FakeFunctions, result: Invocation, status: int, body: bytes
) -> None:
    functions.connect_result = result
    with pytest.raises(InvalidStatus) as refused:
        open_socket(gateway)
    assert refused.value.response.status_code == status
    assert refused.value.response.body == body
    time.sleep(0.2)
    assert functions.events("Disconnect") == []  # never connected: nothing to disconnect


def test_any_2xx_accepts(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    functions.connect_result = Invocation("id", payload={"statusCode": 204})
    with open_socket(gateway) as connection:
        connection.send('{"action":"other"}')
        assert json.loads(connection.recv(timeout=10)) == {"route": "$default"}


def test_a_subprotocol_chosen_by_connect_is_returned(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    functions.connect_result = Invocation("id", payload={"statusCode": 200, "headers": {"Sec-WebSocket-Protocol": "chat"}})
    with open_socket(gateway, subprotocols=["chat"]) as connection:
        assert connection.subprotocol == "chat"


def test_messages_go_to_their_routes_and_two_way_routes_answer(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with open_socket(gateway) as connection:
        connection_id = functions.events("Connect")[0]["requestContext"]["connectionId"]
        connection.send('{"action":"echo","n":1}')
        assert json.loads(connection.recv(timeout=10)) == {"echo": {"action": "echo", "n": 1}, "connectionId": connection_id}
        for body in ["not json", '{"action":"nope"}', '{"n":1}', "[]"]:
            connection.send(body)
            assert json.loads(connection.recv(timeout=10)) == {"route": "$default"}, body
        connection.send('{"action":"fire"}')  # one-way
        functions.wait_for("Fire")
        assert no_frame(connection)
        connection.send('{"action":"broken"}')
        error = json.loads(connection.recv(timeout=10))
        assert error["message"] == "Internal server error" and error["connectionId"] == connection_id and error["requestId"]
    (echo,) = functions.events("Echo")
    assert echo["body"] == '{"action":"echo","n":1}'
    context = echo["requestContext"]
    assert (context["routeKey"], context["eventType"], context["connectionId"]) == ("echo", "MESSAGE", connection_id)
    assert context["messageId"] and context["requestId"] != context["messageId"]
    assert [event["body"] for event in functions.events("Default")] == ["not json", '{"action":"nope"}', '{"n":1}', "[]"]


def test_without_a_default_route_api_gateway_answers_forbidden(
    start_gateway: Callable[..., WebSocketGateway], functions: FakeFunctions
) -> None:
    routes = {key: route for key, route in ROUTES.items() if key != "$default"}
    gateway = start_gateway(WebSocketApi(routes, "$request.body.action", "local", WEBSOCKET_API_ID))
    with open_socket(gateway) as connection:
        connection.send('{"action":"nope"}')
        answer = json.loads(connection.recv(timeout=10))
    assert answer["message"] == "Forbidden" and set(answer) == {"message", "connectionId", "requestId"}


def test_replies_go_to_the_requesting_connection_only(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with open_socket(gateway) as first, open_socket(gateway) as second:
        first.send('{"action":"echo","from":"first"}')
        assert json.loads(first.recv(timeout=10))["echo"]["from"] == "first"
        assert no_frame(second)
        second.send('{"action":"echo","from":"second"}')
        assert json.loads(second.recv(timeout=10))["echo"]["from"] == "second"
        assert no_frame(first)


def test_messages_of_one_connection_run_concurrently(gateway: WebSocketGateway) -> None:
    # As on AWS, a slow message does not hold up the next one.
    with open_socket(gateway) as connection:
        connection.send('{"action":"echo","sleep":1.5,"n":1}')
        connection.send('{"action":"echo","n":2}')
        order = [json.loads(connection.recv(timeout=10))["echo"]["n"] for _ in range(2)]
    assert order == [2, 1]


def test_closing_invokes_disconnect_once_with_the_clients_code(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with open_socket(gateway) as connection:
        connection.close(code=4000, reason="bye")
    (event,) = functions.wait_for("Disconnect")
    connect_id = functions.events("Connect")[0]["requestContext"]["connectionId"]
    context = event["requestContext"]
    assert (context["eventType"], context["connectionId"]) == ("DISCONNECT", connect_id)
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (4000, "bye")
    time.sleep(0.2)
    assert len(functions.events("Disconnect")) == 1


def test_a_dropped_tcp_connection_is_an_abnormal_closure(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with open_socket(gateway) as connection:
        connection.socket.shutdown(socket.SHUT_RDWR)  # no closing handshake
        (event,) = functions.wait_for("Disconnect")
    assert event["requestContext"]["disconnectStatusCode"] == 1006


def test_a_message_over_128_kib_closes_the_connection_with_1009(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with open_socket(gateway, max_size=None) as connection:
        connection.send("x" * MAX_MESSAGE_BYTES)  # at the limit: delivered
        assert json.loads(connection.recv(timeout=10)) == {"route": "$default"}
        connection.send("x" * (MAX_MESSAGE_BYTES + 1))
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    (event,) = functions.wait_for("Disconnect")
    assert event["requestContext"]["disconnectStatusCode"] == 1009
    assert len(functions.events("Default")) == 1


def test_binary_frames_close_the_connection_with_1003(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with open_socket(gateway) as connection:
        connection.send(b'{"action":"echo"}')
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1003
    assert functions.wait_for("Disconnect")[0]["requestContext"]["disconnectStatusCode"] == 1003
    assert functions.events("Echo") == []


def test_idle_connections_are_closed(start_gateway: Callable[..., WebSocketGateway], functions: FakeFunctions) -> None:
    gateway = start_gateway(idle_timeout=0.5)
    with open_socket(gateway) as connection:
        with pytest.raises(ConnectionClosed) as closed:
            connection.recv(timeout=10)
    assert closed.value.rcvd is not None and (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "Going away")
    context = functions.wait_for("Disconnect")[0]["requestContext"]
    assert (context["disconnectStatusCode"], context["disconnectReason"]) == (1001, "Going away")


def test_stopping_closes_every_connection_and_invokes_disconnect_first(
    start_gateway: Callable[..., WebSocketGateway], functions: FakeFunctions
) -> None:
    gateway = start_gateway()
    with open_socket(gateway) as first, open_socket(gateway) as second:
        gateway.stop()
        # stop() returned: both $disconnects already ran (the stack stops the functions next).
        assert len(functions.events("Disconnect")) == 2
        assert {e["requestContext"]["disconnectStatusCode"] for e in functions.events("Disconnect")} == {1001}
        for connection in (first, second):
            with pytest.raises(ConnectionClosed) as closed:
                connection.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    with pytest.raises(OSError):
        open_socket(gateway)


@pytest.mark.parametrize("path", ["/", "", "/local", "/local/"])
def test_the_url_with_or_without_the_stage(gateway: WebSocketGateway, path: str) -> None:
    with open_socket(gateway, f"{path}?key=pk_1") as connection:
        connection.send('{"action":"echo"}')
        assert json.loads(connection.recv(timeout=10))["echo"] == {"action": "echo"}


def test_other_paths_are_forbidden(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with pytest.raises(InvalidStatus) as refused:
        open_socket(gateway, "/prod?key=pk_1")
    assert refused.value.response.status_code == 403
    assert functions.calls == []


def test_a_plain_http_request_is_not_a_connection(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    response = requests.get(f"http://127.0.0.1:{gateway.port}/", timeout=10)
    assert response.status_code == 426
    assert functions.calls == []


def test_a_busy_port_fails_at_construction(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with pytest.raises(OSError, match=f"WebSocket API's port {gateway.port}"):
        WebSocketGateway(gateway.port, API, functions)


def test_an_unsupported_selection_expression_fails_at_construction(functions: FakeFunctions) -> None:
    with pytest.raises(UnsupportedSelectionExpression):
        WebSocketGateway(0, WebSocketApi(ROUTES, "$request.header.x", "local", WEBSOCKET_API_ID), functions)


def test_an_api_without_lifecycle_routes_accepts_everyone(
    start_gateway: Callable[..., WebSocketGateway], functions: FakeFunctions
) -> None:
    routes = {key: route for key, route in ROUTES.items() if key not in ("$connect", "$disconnect")}
    gateway = start_gateway(WebSocketApi(routes, "$request.body.action", "local", WEBSOCKET_API_ID))
    with open_socket(gateway) as connection:
        connection.send('{"action":"echo"}')
        assert json.loads(connection.recv(timeout=10))["echo"] == {"action": "echo"}
    gateway.stop()
    assert [name for name, _ in functions.calls] == ["Echo"]


def test_a_reply_to_a_connection_gone_meanwhile_is_dropped(gateway: WebSocketGateway, functions: FakeFunctions) -> None:
    with open_socket(gateway) as connection:
        connection.send('{"action":"echo","sleep":0.5,"n":1}')
        functions.wait_for("Echo")
    functions.wait_for("Disconnect")
    time.sleep(0.8)  # the reply found the connection closed
    with open_socket(gateway) as connection:  # and the gateway carries on
        connection.send('{"action":"echo","n":2}')
        assert json.loads(connection.recv(timeout=10))["echo"]["n"] == 2


def test_stopping_lets_messages_under_way_finish(start_gateway: Callable[..., WebSocketGateway], functions: FakeFunctions) -> None:
    gateway = start_gateway()
    with open_socket(gateway) as connection:
        connection.send('{"action":"echo","sleep":1,"n":1}')
        functions.wait_for("Echo")
        started = time.monotonic()
        gateway.stop()
    assert time.monotonic() - started >= 0.5  # it waited for the function to return
    assert len(functions.events("Disconnect")) == 1


def test_a_connection_accepted_while_the_gateway_stops_still_gets_its_disconnect(
    start_gateway: Callable[..., WebSocketGateway], functions: FakeFunctions
) -> None:
    gateway = start_gateway()
    functions.connect_delay = 1.0
    outcome: list[BaseException] = []

    def client() -> None:
        try:
            open_socket(gateway).close()
        except BaseException as error:  # noqa: BLE001 - inspected below
            outcome.append(error)

    thread = threading.Thread(target=client)
    thread.start()
    functions.wait_for("Connect")
    gateway.stop()  # $connect is still running: it accepts, but the server no longer opens connections
    thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], InvalidStatus) and outcome[0].response.status_code == 503
    (event,) = functions.events("Disconnect")
    assert event["requestContext"]["disconnectStatusCode"] == 1006
