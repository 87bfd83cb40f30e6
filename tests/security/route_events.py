"""API Gateway HTTP API (payload v2) events for any route of template.yaml, shaped like the
sample events of events/ (which hold one event per route that has one), so a route added to the
template can be attacked without writing a new events/ file first."""

from __future__ import annotations

import copy
import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from tests.conftest import load_event

_BASE = "http-list-topics.json"  # any sample event: only its request context is kept


def api_event(route_key: str, *, path_parameters: dict[str, str] | None = None, query: dict[str, Any] | None = None,
              headers: dict[str, str] | None = None, body: Any = None) -> dict[str, Any]:
    """The event API Gateway hands the route's function: `route_key` as template.yaml spells it
    ("GET /pushes/{push_id}"), path parameters substituted (decoded, as API Gateway passes them),
    query string, headers and a JSON body."""
    method, route = route_key.split(" ", 1)
    path = route
    for name, value in (path_parameters or {}).items():
        path = path.replace("{" + name + "}", value)
    event = copy.deepcopy(load_event(_BASE))
    event["routeKey"] = event["requestContext"]["routeKey"] = route_key
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    event["headers"] = {"host": event["headers"]["host"], "user-agent": "Mozilla/5.0", **(headers or {})}
    event["rawQueryString"] = urlencode({k: v for k, v in (query or {}).items() if v is not None})
    parsed = dict(parse_qsl(event["rawQueryString"], keep_blank_values=True))
    event.pop("queryStringParameters", None)
    if parsed:
        event["queryStringParameters"] = parsed
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if body is not None:
        event["headers"]["content-type"] = "application/json"
        event["body"], event["isBase64Encoded"] = json.dumps(body), False
    return event


def response_of(response: dict[str, Any]) -> tuple[int, Any]:
    raw = response.get("body") or ""
    try:
        return response["statusCode"], json.loads(raw) if raw else None
    except ValueError:
        return response["statusCode"], raw
