"""API Gateway WebSocket API: route selection and the events a route's function receives
(CONNECT, MESSAGE, DISCONNECT). Pure functions, no I/O.

The events follow AWS's documented examples (also in events/ws-*.json): the REST-API-like shape
of WebSocket integrations, with `headers`/`multiValueHeaders` and the query string only on
$connect, header names as the client sent them, and a `requestContext` carrying the connection."""

from __future__ import annotations

import base64
import json
import re
import secrets
import string
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pushgate_local.http_events import new_request_id
from pushgate_local.template import UnsupportedTemplate

CONNECT_ROUTE = "$connect"
DISCONNECT_ROUTE = "$disconnect"
DEFAULT_ROUTE = "$default"
_LIFECYCLE_ROUTES = frozenset({CONNECT_ROUTE, DISCONNECT_ROUTE})
_CONNECTION_ID_ALPHABET = string.ascii_letters + string.digits

# $request.body.a.b, or templates made of ${request.body.a.b} parts (API Gateway's two forms).
_BODY_PATH = r"request\.body((?:\.[^.${}\s]+)+)"
_WHOLE_EXPRESSION = re.compile(r"\$" + _BODY_PATH)
_TEMPLATE_PART = re.compile(r"\$\{" + _BODY_PATH + r"\}")


class UnsupportedSelectionExpression(UnsupportedTemplate):
    """A RouteSelectionExpression the local stack cannot evaluate (only $request.body.* is)."""


def new_connection_id() -> str:
    """Shaped like API Gateway's (e.g. 'L0SM9cOFvHcCIhw='), without the '+' and '/' of base64, so
    the id can stand in a URL path (@connections/{id}) as is."""
    return "".join(secrets.choice(_CONNECTION_ID_ALPHABET) for _ in range(15)) + "="


def check_selection_expression(expression: str) -> None:
    if _WHOLE_EXPRESSION.fullmatch(expression):
        return
    if "${" in expression and not _TEMPLATE_PART.sub("", expression).count("$"):
        return
    raise UnsupportedSelectionExpression(
        f"RouteSelectionExpression {expression!r}: the local stack evaluates $request.body.<path> "
        "and ${request.body.<path>} templates only"
    )


def _body_value(message: Any, path: str) -> str | None:
    """The selected value as a route key, or None when the path leads nowhere usable."""
    value = message
    for name in path.lstrip(".").split("."):
        if not isinstance(value, dict) or name not in value:
            return None
        value = value[name]
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, int, float)):
        return json.dumps(value)  # true, 1, 1.5: as the JSON text shows it
    return None  # null, objects and arrays select no route


def evaluate_selection_expression(expression: str, body: str | None) -> str | None:
    """What the expression selects for a message: None when the body is not a JSON object or
    lacks the field."""
    if body is None:
        return None
    try:
        message = json.loads(body)
    except ValueError:
        return None
    whole = _WHOLE_EXPRESSION.fullmatch(expression)
    if whole:
        return _body_value(message, whole.group(1))
    parts: list[str] = []
    position = 0
    for part in _TEMPLATE_PART.finditer(expression):
        value = _body_value(message, part.group(1))
        if value is None:
            return None
        parts += [expression[position : part.start()], value]
        position = part.end()
    return "".join([*parts, expression[position:]])


def select_route(expression: str, body: str | None, route_keys: Collection[str]) -> str | None:
    """The route a message goes to: the one whose key is the expression's value, else $default;
    None when neither exists (API Gateway then answers "Forbidden" itself). Binary messages
    (body None) and $connect/$disconnect are never selected by value."""
    value = evaluate_selection_expression(expression, body)
    if value is not None and value in route_keys and value not in _LIFECYCLE_ROUTES:
        return value
    return DEFAULT_ROUTE if DEFAULT_ROUTE in route_keys else None


@dataclass(frozen=True)
class ConnectionContext:
    """What every event of one connection repeats in its requestContext."""

    connection_id: str
    connected_at: int  # epoch milliseconds
    source_ip: str
    user_agent: str
    domain_name: str
    stage: str
    api_id: str


def _request_time(now: float) -> str:
    return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now))


def _request_context(
    connection: ConnectionContext, route_key: str, event_type: str, request_id: str, now: float
) -> dict[str, Any]:
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": request_id,
        "requestTime": _request_time(now),
        "messageDirection": "IN",
        "stage": connection.stage,
        "connectedAt": connection.connected_at,
        "requestTimeEpoch": int(now * 1000),
        "identity": {"userAgent": connection.user_agent, "sourceIp": connection.source_ip},
        "requestId": request_id,
        "domainName": connection.domain_name,
        "connectionId": connection.connection_id,
        "apiId": connection.api_id,
    }


def _single_and_multi(pairs: list[tuple[str, str]]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """REST-style maps: the last value of a repeated name, and every value in order."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _trace_id(now: float) -> str:
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"


def _connect_headers(
    headers: list[tuple[str, str]], connection: ConnectionContext, server_port: int, now: float
) -> list[tuple[str, str]]:
    """The request's headers as sent, plus what API Gateway adds in front of the integration."""
    present = {name.lower() for name, _ in headers}
    result = [(name, value) for name, value in headers if name.lower() != "x-forwarded-for"]
    forwarded = [value for name, value in headers if name.lower() == "x-forwarded-for"]
    result.append(("X-Forwarded-For", ", ".join([*forwarded, connection.source_ip])))
    if "x-amzn-trace-id" not in present:
        result.append(("X-Amzn-Trace-Id", _trace_id(now)))
    if "x-forwarded-port" not in present:
        result.append(("X-Forwarded-Port", str(server_port)))
    if "x-forwarded-proto" not in present:
        result.append(("X-Forwarded-Proto", "http"))
    return result


def connect_event(
    connection: ConnectionContext,
    headers: list[tuple[str, str]],
    raw_query: str,
    request_id: str,
    server_port: int,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    single_headers, multi_headers = _single_and_multi(_connect_headers(headers, connection, server_port, now))
    event: dict[str, Any] = {"headers": single_headers, "multiValueHeaders": multi_headers}
    query = parse_qsl(raw_query, keep_blank_values=True)
    if query:
        event["queryStringParameters"], event["multiValueQueryStringParameters"] = _single_and_multi(query)
    event["requestContext"] = _request_context(connection, CONNECT_ROUTE, "CONNECT", request_id, now)
    event["isBase64Encoded"] = False
    return event


def message_event(
    connection: ConnectionContext,
    route_key: str,
    body: str,
    request_id: str,
    message_id: str | None = None,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    context = _request_context(connection, route_key, "MESSAGE", request_id, now)
    context["messageId"] = message_id or new_request_id()
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def disconnect_event(
    connection: ConnectionContext,
    status_code: int,
    reason: str,
    request_id: str,
    now: float | None = None,
) -> dict[str, Any]:
    """As AWS sends it: a few fixed headers, none of the client's."""
    now = time.time() if now is None else now
    headers = [("Host", connection.domain_name), ("x-api-key", ""), ("X-Forwarded-For", ""), ("x-restapi", "")]
    single_headers, multi_headers = _single_and_multi(headers)
    context = _request_context(connection, DISCONNECT_ROUTE, "DISCONNECT", request_id, now)
    context["disconnectStatusCode"] = status_code
    context["disconnectReason"] = reason
    return {"headers": single_headers, "multiValueHeaders": multi_headers, "requestContext": context, "isBase64Encoded": False}


# -- what the function returned -------------------------------------------------------------------


def connect_status(payload: Any) -> int | None:
    """The HTTP status a $connect function's result asks for; None when it gives none (which
    API Gateway treats as a failed integration)."""
    if isinstance(payload, dict):
        status = payload.get("statusCode")
        if isinstance(status, int) and not isinstance(status, bool) and 100 <= status <= 599:
            return status
        if isinstance(status, str) and status.isdigit() and 100 <= int(status) <= 599:
            return int(status)
    return None


def route_response(payload: Any) -> str | bytes | None:
    """The frame a two-way route sends back: the proxy result's `body` (None: nothing to send).
    A result that is not a proxy response is sent as its JSON text."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return None if payload is None else json.dumps(payload)
    body = payload.get("body")
    if body is None or body == "":
        return None
    if not isinstance(body, str):
        return json.dumps(body)
    if payload.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except ValueError:
            return body
    return body


def gateway_error(message: str, connection_id: str, request_id: str) -> str:
    """API Gateway's own frames, e.g. {"message": "Internal server error", "connectionId", "requestId"}."""
    return json.dumps({"message": message, "connectionId": connection_id, "requestId": request_id})
