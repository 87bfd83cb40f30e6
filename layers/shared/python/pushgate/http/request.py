"""Reading parameters from an API Gateway HTTP API (payload 2.0) event.

Parameters may come from the query string and, on POST, from a form or JSON body (CONTRACT §2);
the body wins where both name a field. A body over 64 KiB is refused before it is parsed."""

from __future__ import annotations

import base64
import json
from typing import Any
from urllib.parse import parse_qsl

from pushgate.errors import BodyTooLarge, MalformedBody

MAX_BODY_BYTES = 64 * 1024


def header(event: dict[str, Any], name: str) -> str | None:
    """Case-insensitive header lookup (HTTP API lower-cases names, but sam local may not)."""
    headers = event.get("headers") or {}
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if len(body) > MAX_BODY_BYTES * 4 // 3 + 4:
        raise BodyTooLarge()
    try:
        data = base64.b64decode(body, validate=False) if event.get("isBase64Encoded") else body.encode("utf-8")
    except (ValueError, UnicodeEncodeError) as error:
        raise MalformedBody() from error
    if len(data) > MAX_BODY_BYTES:
        raise BodyTooLarge()
    return data


def json_body(event: dict[str, Any]) -> dict[str, Any]:
    """The body as a JSON object; an empty body is an empty object."""
    data = raw_body(event)
    if not data.strip():
        return {}
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedBody() from error
    if not isinstance(value, dict):
        raise MalformedBody()
    return value


def query_params(event: dict[str, Any]) -> dict[str, str]:
    # rawQueryString keeps repeated names apart; queryStringParameters would join them with commas.
    raw = event.get("rawQueryString")
    if raw is not None:
        return dict(parse_qsl(raw, keep_blank_values=True))
    return dict(event.get("queryStringParameters") or {})


def merged_params(event: dict[str, Any]) -> dict[str, Any]:
    """Query string, overlaid with a form or JSON body when there is one."""
    params: dict[str, Any] = dict(query_params(event))
    content_type = (header(event, "content-type") or "").split(";")[0].strip().lower()
    if content_type == "application/json":
        params.update(json_body(event))
    elif content_type == "application/x-www-form-urlencoded":
        try:
            params.update(parse_qsl(raw_body(event).decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError as error:
            raise MalformedBody() from error
    elif event.get("body"):
        raw_body(event)  # enforce the size limit even for bodies we do not read
    return params
