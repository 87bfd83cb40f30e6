"""API Gateway HTTP API, payload format 2.0: the event a route's function receives, and how the
function's return value becomes the HTTP response. Pure functions, no I/O.

Where AWS's documentation is silent, the behaviour follows what was observed on AWS:
- the body reaches the function as text only for text/*, application/json, application/xml and
  application/javascript; anything else, a form post or a missing Content-Type included, is base64;
- rawPath and requestContext.http.path are percent-decoded, while rawQueryString is as sent."""

from __future__ import annotations

import base64
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

from pushgate_local.intrinsics import ACCOUNT_ID, HTTP_API_ID

STAGE = "$default"
TEXT_MEDIA_TYPES = frozenset({"application/json", "application/xml", "application/javascript"})


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str  # the request-target as sent: path and query string, percent-encoded
    headers: list[tuple[str, str]] = field(default_factory=list)  # as received, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    server_port: int = 80
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return self.target.partition("?")[0]

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key.lower() == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class InvalidLambdaResponse(ValueError):
    """The function returned something API Gateway would answer with a 500."""


def new_request_id() -> str:
    """An id shaped like API Gateway's (e.g. 'JKJaXmPLvHcESHA='): 14 base64 chars and a '='."""
    return base64.b64encode(secrets.token_bytes(10)).decode("ascii")


def _trace_id(now: float) -> str:
    return f"Root=1-{int(now):08x}-{secrets.token_hex(12)}"


def is_text_media_type(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type.startswith("text/") or media_type in TEXT_MEDIA_TYPES


def _event_headers(request: HttpRequest, now: float) -> dict[str, str]:
    """Lower-cased names, repeats comma-joined; cookies go to `cookies`, and API Gateway adds the
    forwarding headers of a proxy."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        if key != "cookie":
            headers[key] = f"{headers[key]},{value}" if key in headers else value
    forwarded_for = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip
    headers["x-forwarded-port"] = str(request.server_port)
    headers["x-forwarded-proto"] = "http"
    headers.setdefault("x-amzn-trace-id", _trace_id(now))
    return headers


def _cookies(request: HttpRequest) -> list[str]:
    return [
        cookie.strip()
        for name, value in request.headers
        if name.lower() == "cookie"
        for cookie in value.split(";")
        if cookie.strip()
    ]


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def build_event(
    request: HttpRequest,
    route_key: str,
    path_parameters: dict[str, str],
    request_id: str,
    now: float | None = None,
) -> dict[str, Any]:
    now = time.time() if now is None else now
    path = unquote(request.raw_path)
    domain_name = request.header("host") or f"127.0.0.1:{request.server_port}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": request.raw_query,
    }
    cookies = _cookies(request)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = _event_headers(request, now)
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    if path_parameters:
        event["pathParameters"] = path_parameters
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": HTTP_API_ID,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".")[0],
        "http": {
            "method": request.method,
            "path": path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if request.body:
        if is_text_media_type(request.header("content-type")):
            event["body"], event["isBase64Encoded"] = request.body.decode("utf-8", errors="replace"), False
        else:
            event["body"], event["isBase64Encoded"] = base64.b64encode(request.body).decode("ascii"), True
    else:
        event["isBase64Encoded"] = False
    return event


def json_message(status: int, message: str) -> HttpResponse:
    """API Gateway's own error responses: {"message": "..."}."""
    body = json.dumps({"message": message}).encode()
    return HttpResponse(status, [("content-type", "application/json")], body)


def response_from_lambda(payload: Any) -> HttpResponse:
    """Map a function's return value as API Gateway does for payload format 2.0: a dict with a
    statusCode is a response; any other JSON value is a 200 application/json body."""
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return HttpResponse(200, [("content-type", "application/json")], json.dumps(payload).encode())
    status = payload["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidLambdaResponse(f"statusCode {status!r} is not an HTTP status")
    headers = payload.get("headers") or {}
    cookies = payload.get("cookies") or []
    if not isinstance(headers, dict) or not isinstance(cookies, list):
        raise InvalidLambdaResponse("headers must be an object and cookies a list")
    response_headers = [(str(name), _header_value(value)) for name, value in headers.items()]
    response_headers += [("set-cookie", str(cookie)) for cookie in cookies]
    body = _body_bytes(payload.get("body"), bool(payload.get("isBase64Encoded")))
    return HttpResponse(status, response_headers, body)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _body_bytes(body: Any, is_base64: bool) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise InvalidLambdaResponse("body must be a string")
    if is_base64:
        try:
            return base64.b64decode(body, validate=True)
        except ValueError as error:
            raise InvalidLambdaResponse("body is not valid base64") from error
    return body.encode("utf-8")
