"""The sample events of events/, re-pointed at test credentials, as API Gateway would send them."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.conftest import load_event


def _set_account(event: dict[str, Any], account_id: str) -> None:
    if account_id is None or "pathParameters" not in event:
        return
    old = event["pathParameters"]["account_id"]
    event["pathParameters"]["account_id"] = account_id
    event["rawPath"] = event["rawPath"].replace(f"/{old}/", f"/{account_id}/", 1)
    event["requestContext"]["http"]["path"] = event["rawPath"]


def event_with(name: str, account_id: str | None = None, query: dict[str, Any] | None = None,
               body: dict[str, Any] | None = None, raw_body: str | None = None) -> dict[str, Any]:
    """events/<name> with its query string and/or body replaced (in the encoding the file uses)."""
    event = copy.deepcopy(load_event(name))
    _set_account(event, account_id)
    if query is not None:
        event["rawQueryString"] = urlencode({k: v for k, v in query.items() if v is not None})
        parsed = dict(parse_qsl(event["rawQueryString"], keep_blank_values=True))
        if parsed:
            event["queryStringParameters"] = parsed
        else:
            event.pop("queryStringParameters", None)
    if raw_body is not None:
        event["body"], event["isBase64Encoded"] = raw_body, False
    elif body is not None:
        content_type = event["headers"].get("content-type", "")
        if content_type == "application/x-www-form-urlencoded":
            encoded = urlencode({k: v for k, v in body.items() if v is not None}).encode()
            event["body"] = base64.b64encode(encoded).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = json.dumps(body)
    return event


def response_json(response: dict[str, Any]) -> tuple[int, Any]:
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


_KEEP = object()


def http_request(name: str, *, path_parameters: dict[str, str] | None = None, query: dict[str, Any] | None = None,
                 headers: dict[str, str | None] | None = None, body: Any = _KEEP, raw_body: str | None = None) -> dict[str, Any]:
    """events/<name> re-pointed at a test: path parameters (rawPath rebuilt from the route and
    percent-decoded, as API Gateway hands it over), query string, headers (a None value removes
    one), a JSON body or a raw body. What is not given stays as in the file."""
    event = copy.deepcopy(load_event(name))
    if path_parameters is not None:
        event["pathParameters"] = {**event.get("pathParameters", {}), **path_parameters}
        path = event["routeKey"].split(" ", 1)[1]
        for parameter, value in event["pathParameters"].items():
            path = path.replace("{" + parameter + "}", value)
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
    if query is not None:
        event["rawQueryString"] = urlencode({k: v for k, v in query.items() if v is not None})
        parsed = dict(parse_qsl(event["rawQueryString"], keep_blank_values=True))
        if parsed:
            event["queryStringParameters"] = parsed
        else:
            event.pop("queryStringParameters", None)
    for header, value in (headers or {}).items():
        if value is None:
            event["headers"].pop(header, None)
        else:
            event["headers"][header] = value
    if raw_body is not None:
        event["body"], event["isBase64Encoded"] = raw_body, False
    elif body is None:
        event.pop("body", None)
    elif body is not _KEEP:
        event["body"], event["isBase64Encoded"] = json.dumps(body), False
    return event


def ws_event(name: str, connection_id: str, *, message: Any = _KEEP, raw_body: str | None = None,
             query: dict[str, str | None] | None = None) -> dict[str, Any]:
    """events/ws-<…>.json for one connection: a message frame (a JSON value, or raw text) and, for
    $connect, the query string of the wss:// URL (None drops a parameter)."""
    event = copy.deepcopy(load_event(name))
    event["requestContext"]["connectionId"] = connection_id
    if raw_body is not None:
        event["body"] = raw_body
    elif message is not _KEEP:
        event["body"] = json.dumps(message)
    if query is not None:
        kept = {k: v for k, v in query.items() if v is not None}
        if kept:
            event["queryStringParameters"] = kept
            event["multiValueQueryStringParameters"] = {k: [v] for k, v in kept.items()}
        else:  # API Gateway leaves both out when the URL has no query string
            event.pop("queryStringParameters", None)
            event.pop("multiValueQueryStringParameters", None)
    return event


def ws_reply(response: dict[str, Any]) -> Any:
    """The frame a command route sends back to its connection (the route response)."""
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])
