"""What every fuzzed response must be, beyond schemathesis's own conformance checks: no server
error, nothing of the implementation in the body (a stack trace, a Python exception's name, the AWS
SDK's wording), and the request id headers the contract promises."""

from __future__ import annotations

import re
from typing import Any

# Text that only reaches a body when an exception or an SDK error leaks through a handler.
LEAK_PATTERNS = {
    "stack trace": re.compile(r"Traceback \(most recent call last\)|File \"[^\"]+\", line \d+"),
    "Python exception name": re.compile(r"\b(?:[A-Z][a-z0-9]+)+(?:Error|Exception)\b|\bException\b"),
    "Python exception text": re.compile(r"\b(?:object has no attribute|unexpected keyword argument|is not JSON serializable|NoneType)\b"),
    "AWS SDK text": re.compile(r"botocore|boto3|An error occurred \(\w+\)|ConditionalCheckFailed|ProvisionedThroughput|dynamodb", re.IGNORECASE),
    "library text": re.compile(r"pydantic|validation errors? for \w+|site-packages"),
}
# A successful body echoes what the client stored (topic names, endpoints, user ids), which a fuzzer
# may well have spelled like an exception: there only a stack trace counts.
SUCCESS_LEAK_PATTERNS = ("stack trace",)
# docs/api.md §5: the channel API's responses carry x-request-id; API Gateway adds its own id to all.
GATEWAY_REQUEST_ID = "apigw-requestid"
CHANNEL_REQUEST_ID = "x-request-id"


def leaks(body: str, success: bool = False) -> list[str]:
    """The kinds of implementation text found in a response body."""
    names = SUCCESS_LEAK_PATTERNS if success else LEAK_PATTERNS
    return [name for name in names if LEAK_PATTERNS[name].search(body)]


def header(response: Any, name: str) -> str | None:
    """One header of a schemathesis Response (lower-case names, lists of values) or a requests one."""
    value = response.headers.get(name)
    if isinstance(value, list):
        return value[0] if len(value) == 1 else None  # a repeated request id is as bad as none
    return value


def problems(surface: str, response: Any) -> list[str]:
    """What is wrong with a response (a schemathesis or requests one) outside of its documented schema."""
    found = []
    if response.status_code >= 500:
        found.append(f"server error {response.status_code}")
    found += [f"{kind} in the body" for kind in leaks(response.content.decode("utf-8", "replace"), success=response.status_code < 400)]
    if not header(response, GATEWAY_REQUEST_ID):
        found.append(f"no {GATEWAY_REQUEST_ID} header")
    if surface == "channel":
        request_id = header(response, CHANNEL_REQUEST_ID)
        if not request_id:
            found.append(f"no {CHANNEL_REQUEST_ID} header")
        elif response.status_code >= 400:
            error = _json(response).get("error")
            if not isinstance(error, dict) or error.get("request_id") != request_id:
                found.append(f"the error's request_id is not the {CHANNEL_REQUEST_ID} header")
    return found


def _json(response: Any) -> dict[str, Any]:
    try:
        value = response.json()
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
