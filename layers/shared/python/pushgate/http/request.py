"""Reading parameters from an API Gateway HTTP API (payload 2.0) event.

Parameters may come from the query string and, on POST, from a form or JSON body (docs/api.md §2);
the body wins where both name a field. A body over 64 KiB is refused before it is parsed."""

from __future__ import annotations

import base64
import json
import math
from typing import Any
from urllib.parse import parse_qsl

from pushgate.errors import BodyTooLarge, FieldMissing, MalformedBody

MAX_BODY_BYTES = 64 * 1024


def header(event: dict[str, Any], name: str) -> str | None:
    """Case-insensitive header lookup (HTTP API lower-cases names, but sam local may not)."""
    headers = event.get("headers") or {}
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


# The route pattern of a free-form path parameter (see path_parameter): any characters, newlines too.
ANY_VALUE = r"[\s\S]+"


def path_parameter(event: dict[str, Any], name: str) -> str:
    """A path parameter as API Gateway extracted it for the route (`pathParameters`).

    HTTP APIs hand the function its path percent-decoded, so a value the client URL-encoded (a web
    push endpoint used as a device token, or any hostile input) may hold '/', '?' or '#'. A
    Powertools `<name>` route matches one segment of URL-safe characters only and would answer
    "no route", which the envelopes turn into a 500; routes whose parameter is free-form therefore
    match it with ANY_VALUE and read its value here."""
    value = (event.get("pathParameters") or {}).get(name)
    if not isinstance(value, str) or value == "":
        raise FieldMissing(name)
    return value


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


def parse_json(data: str | bytes) -> Any:
    """json.loads for client input: MalformedBody for anything but JSON of well-formed Unicode.

    Beyond plain syntax errors, a hostile text can nest arrays deeper than the interpreter's stack
    (RecursionError) or escape lone surrogates ("\\ud800") that no later .encode() survives."""
    try:
        if isinstance(data, str):
            data.encode("utf-8")  # a lone surrogate in the text itself
        value = json.loads(data, parse_constant=_not_json, parse_float=_finite_float)
        if ("\\u" in data) if isinstance(data, str) else (b"\\u" in data):
            json.dumps(value, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError on a lone surrogate
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError/UnicodeEncodeError are ValueErrors
        raise MalformedBody() from error
    return value


def _not_json(constant: str) -> float:
    """NaN, Infinity and -Infinity: Python reads them, but they are not JSON, and a push carrying
    one would reach browsers and providers as a payload they cannot parse."""
    raise ValueError(f"{constant} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400: beyond a double, read as infinity
        raise ValueError("number out of range")
    return value


def json_body(event: dict[str, Any]) -> dict[str, Any]:
    """The body as a JSON object; an empty body is an empty object."""
    data = raw_body(event)
    if not data.strip():
        return {}
    value = parse_json(data)
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
