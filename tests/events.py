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
