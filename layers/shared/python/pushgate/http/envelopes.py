"""The one place where domain errors become each surface's error envelope.

Each surface of the contract words errors its own way (doBoard's error_no with HTTP 200, Pushy's
{code, error}, ...). Services raise `pushgate.errors`; a surface's handler picks its envelope here."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.event_handler import Response

from pushgate import errors
from pushgate.observability import logger

ErrorMapper = Callable[[Exception, dict[str, Any]], Response]  # (error, the API Gateway event)


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=headers or {},
    )


def retry_after_header(error: errors.RateLimited) -> dict[str, str]:
    """RFC 9110 §10.2.3: seconds until the app's bucket holds a token again (docs/limits.md)."""
    return {"Retry-After": str(error.retry_after)}


def _log_unexpected(error: Exception) -> None:
    if not isinstance(error, errors.PushgateError):
        logger.exception("unhandled error")


# -- docs/api.md §2, the account API (doBoard) ------------------------------------------------

ACCOUNT_SUBSCRIBE_FIELD_ERRORS: dict[tuple[type[errors.FieldError], str], tuple[int, str]] = {
    (errors.FieldMissing, "endpoint"): (8501, "endpoint is required"),
    (errors.FieldMissing, "p256dh"): (8502, "key_p256dh is required"),
    (errors.FieldMissing, "auth"): (8503, "key_auth is required"),
    (errors.FieldTooLong, "endpoint"): (8504, "endpoint is too long"),
    (errors.FieldTooLong, "p256dh"): (8505, "key_p256dh is too long"),
    (errors.FieldTooLong, "auth"): (8506, "key_auth is too long"),
    (errors.InvalidEndpoint, "endpoint"): (8507, "endpoint is not a valid push service URL"),
    (errors.InvalidP256dh, "p256dh"): (8508, "key_p256dh is not a valid P-256 public key"),
    (errors.InvalidAuthSecret, "auth"): (8509, "key_auth must be 16 bytes"),
}
ACCOUNT_UNSUBSCRIBE_FIELD_ERRORS: dict[tuple[type[errors.FieldError], str], tuple[int, str]] = {
    (errors.FieldMissing, "endpoint"): (8601, "endpoint is required"),
    (errors.InvalidValue, "endpoint"): (8601, "endpoint is required"),
    (errors.FieldTooLong, "endpoint"): (8602, "endpoint is too long"),
}
ACCOUNT_OWNED_BY_ANOTHER_USER = (8510, "endpoint belongs to another user")


def _account_error(status: int, number: int, message: str) -> Response:
    return json_response(status, {"error_no": number, "error_message": message})


def account_errors(field_errors: dict[tuple[type[errors.FieldError], str], tuple[int, str]]) -> ErrorMapper:
    def to_response(error: Exception, event: dict[str, Any]) -> Response:
        if isinstance(error, errors.FieldError):
            for (kind, field), (number, message) in field_errors.items():
                if isinstance(error, kind) and error.field == field:
                    return _account_error(200, number, message)
        if isinstance(error, errors.OwnedByAnotherUser):
            return _account_error(200, *ACCOUNT_OWNED_BY_ANOTHER_USER)
        if isinstance(error, errors.Unauthenticated):
            return _account_error(401, 401, "Unauthorized")
        if isinstance(error, errors.Forbidden):
            return _account_error(403, 403, "Forbidden")
        if isinstance(error, errors.BodyTooLarge):
            return _account_error(413, 413, "Request body too large")
        if isinstance(error, (errors.MalformedBody, errors.FieldError)):
            return _account_error(400, 400, "Malformed request")
        if isinstance(error, errors.ConcurrentUpdate):
            return _account_error(503, 503, "Busy, please retry")
        if isinstance(error, errors.RateLimited):
            return json_response(429, {"error_no": 429, "error_message": "Too Many Requests"}, retry_after_header(error))
        _log_unexpected(error)
        return _account_error(500, 500, "Internal error")

    return to_response


account_subscribe_errors = account_errors(ACCOUNT_SUBSCRIBE_FIELD_ERRORS)
account_unsubscribe_errors = account_errors(ACCOUNT_UNSUBSCRIBE_FIELD_ERRORS)


# -- docs/api.md §4, the server-side API (Pushy): {"code", "error"} ---------------------------


def _pushy_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"code": code, "error": message})


def pushy_errors(error: Exception, event: dict[str, Any]) -> Response:
    if isinstance(error, errors.Unauthenticated):
        return _pushy_error(401, "INVALID_API_KEY", "The provided API key is invalid.")
    if isinstance(error, errors.UnknownDeviceToken):
        return _pushy_error(400, "INVALID_DEVICE_TOKEN", "The provided device token is invalid.")
    if isinstance(error, errors.PayloadTooLarge):
        return _pushy_error(400, "PAYLOAD_TOO_LARGE", "The push payload is too large for a push service (Web Push: 3993 bytes of {id, notification, data}; FCM and APNs: 4096); shorten notification or data.")
    if isinstance(error, errors.NotFound) and error.what == "push":
        return _pushy_error(404, "INVALID_PUSH_ID", "The provided push ID is invalid or does not exist.")
    if isinstance(error, errors.InvalidCursor):
        return _pushy_error(400, "INVALID_PARAM", "Invalid parameter: cursor (not one this listing handed out).")
    if isinstance(error, errors.FieldError):
        return _pushy_error(400, "INVALID_PARAM", f"Invalid parameter: {error.field} ({error.detail or error.reason}).")
    if isinstance(error, errors.MalformedBody):
        return _pushy_error(400, "INVALID_PARAM", "The request body must be a JSON object.")
    if isinstance(error, errors.BodyTooLarge):
        return _pushy_error(400, "PAYLOAD_TOO_LARGE", "The request body is over 64 KiB.")
    if isinstance(error, errors.ConcurrentUpdate):
        return _pushy_error(503, "INTERNAL_ERROR", "Busy, please retry.")
    if isinstance(error, errors.RateLimited):
        return json_response(429, {"code": "RATE_LIMITED", "error": "Too many requests for this app; retry after the Retry-After header's seconds."}, retry_after_header(error))
    _log_unexpected(error)
    return _pushy_error(500, "INTERNAL_ERROR", "An internal error occurred.")


# -- docs/api.md §3, the device API (IMKIT): {"RC", "RM", "error": {"code", "message"}} --------


def _imkit_error(status: int, reason: str, code: str, message: str) -> Response:
    return json_response(status, {"RC": status, "RM": reason, "error": {"code": code, "message": message}})


# The device API names fields as its clients send them.
IMKIT_FIELD_NAMES = {"endpoint": "subscription.endpoint", "p256dh": "subscription.keys.p256dh", "auth": "subscription.keys.auth"}


def imkit_errors(error: Exception, event: dict[str, Any]) -> Response:
    if isinstance(error, errors.Unauthenticated):
        return _imkit_error(401, "Unauthorized", "INVALID_TOKEN", "Invalid or expired token")
    if isinstance(error, errors.FieldMissing) and error.field in ("type", "deviceId"):
        return _imkit_error(400, "Bad Request", "MISSING_PARAMETER", "type and deviceId are required")
    if isinstance(error, errors.FieldError):
        field = IMKIT_FIELD_NAMES.get(error.field, error.field)
        return _imkit_error(400, "Bad Request", "INVALID_PARAMETER", f"{field} is {_field_problem(error)}")
    if isinstance(error, errors.MalformedBody):
        return _imkit_error(400, "Bad Request", "INVALID_PARAMETER", "body must be a JSON object")
    if isinstance(error, errors.OwnedByAnotherUser):
        return _imkit_error(409, "Conflict", "DEVICE_OWNED_BY_ANOTHER_USER", "token belongs to another user")
    if isinstance(error, errors.BodyTooLarge):
        return _imkit_error(413, "Payload Too Large", "PAYLOAD_TOO_LARGE", "body is over 64 KiB")
    if isinstance(error, errors.ConcurrentUpdate):
        return _imkit_error(503, "Service Unavailable", "BUSY", "please retry")
    if isinstance(error, errors.RateLimited):
        body = {"RC": 429, "RM": "Too Many Requests", "error": {"code": "RATE_LIMITED", "message": "too many requests for this app"}}
        return json_response(429, body, retry_after_header(error))
    _log_unexpected(error)
    return _imkit_error(500, "Internal Server Error", "INTERNAL_ERROR", "internal error")


def _field_problem(error: errors.FieldError) -> str:
    if isinstance(error, errors.FieldMissing):
        return "required"
    if isinstance(error, errors.FieldTooLong):
        return "too long"
    return f"invalid ({error.detail})" if error.detail else "invalid"


# -- docs/api.md §5, the channel subscriptions API (Notiflows) -----------------------------------

ERROR_DOCS_URL = "/docs/errors"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}\Z")  # \Z: "$" also matches before a final newline


def notiflows_request_id(event: dict[str, Any]) -> str:
    """The client's x-request-id when it is a sane token, else one derived from API Gateway's
    request id; the same value goes in the response header and in every error body."""
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    offered = headers.get("x-request-id") or ""
    if _REQUEST_ID.match(offered):
        return offered
    gateway_id = (event.get("requestContext") or {}).get("requestId") or ""
    return "req_" + (re.sub(r"[^A-Za-z0-9]", "", gateway_id) or uuid.uuid4().hex)


def notiflows_response(event: dict[str, Any], status: int, body: object | None) -> Response:
    headers = {"x-request-id": notiflows_request_id(event)}
    if body is None:
        return Response(status_code=status, body="", headers=headers)
    return json_response(status, body, headers)


def _notiflows_error(event: dict[str, Any], status: int, code: str, message: str, details: dict[str, Any] | None = None) -> Response:
    request_id = notiflows_request_id(event)
    body = {
        "error": {
            "type": f"{ERROR_DOCS_URL}#{code}-{status}",
            "code": code,
            "message": message,
            "status": status,
            "request_id": request_id,
            "details": details or {},
        }
    }
    return json_response(status, body, {"x-request-id": request_id})


NOTIFLOWS_FIELD_NAMES = {"endpoint": "identifier", "p256dh": "settings.p256dh", "auth": "settings.auth"}


def notiflows_errors(error: Exception, event: dict[str, Any]) -> Response:
    if isinstance(error, errors.Unauthenticated):
        return _notiflows_error(event, 401, "unauthenticated", "Invalid API key or user token", {"auth": "api_key"})
    if isinstance(error, errors.NotFound):
        return _notiflows_error(event, 404, "not_found", f"{error.what.capitalize()} not found", {"resource": error.what})
    if isinstance(error, errors.InvalidValue) and error.detail == "invalid_uuid":
        return _notiflows_error(event, 400, "bad_request", f"{error.field} is not a UUID", {"reason": "invalid_uuid", "param": error.field})
    if isinstance(error, errors.FieldError):
        field = NOTIFLOWS_FIELD_NAMES.get(error.field, error.field)
        problem = _field_problem(error)
        reason = {errors.FieldMissing: "required", errors.FieldTooLong: "too_long"}.get(type(error), "invalid")
        return _notiflows_error(event, 400, "bad_request", f"{field} is {problem}",
                                {"reason": "invalid_param", "param": field, "fields": [{"field": field, "message": f"is {problem}", "reason": reason}]})
    if isinstance(error, errors.MalformedBody):
        return _notiflows_error(event, 400, "bad_request", "Request body is not a JSON object", {"reason": "invalid_json"})
    if isinstance(error, errors.OwnedByAnotherUser):
        return _notiflows_error(event, 409, "conflict", "identifier is subscribed by another user", {"param": "identifier"})
    if isinstance(error, errors.BodyTooLarge):
        return _notiflows_error(event, 413, "payload_too_large", "Request body is over 64 KiB", {"limit": 65536})
    if isinstance(error, errors.ConcurrentUpdate):
        return _notiflows_error(event, 503, "unavailable", "Please retry", {"retry_after": 1})
    if isinstance(error, errors.RateLimited):
        response = _notiflows_error(event, 429, "rate_limited", "Too many requests for this app",
                                    {"retry_after": error.retry_after, "window": "1s"})
        response.headers.update(retry_after_header(error))
        return response
    _log_unexpected(error)
    return _notiflows_error(event, 500, "internal_error", "Internal error")


# -- docs/api.md §1, WebSocket commands: {"cmd": "error", "src", "val"} --------------------------

WS_SUBSCRIPTION_SHAPE = "subscription must include endpoint, keys.p256dh and keys.auth"


def websocket_error_reason(command: str | None, error: Exception) -> str:
    """The documented `val` (docs/api.md §1) for an error of `command`."""
    if isinstance(error, errors.Unauthenticated):
        return "Invalid token" if command == "auth" else "Not authenticated"
    if isinstance(error, errors.RateLimited):
        return "Rate limited"
    if command == "push_subscribe":
        if isinstance(error, errors.FieldMissing) and error.field == "subscription":
            return "Missing subscription object"
        if isinstance(error, (errors.FieldMissing, errors.InvalidValue)):
            return WS_SUBSCRIPTION_SHAPE
        if isinstance(error, errors.InvalidEndpoint) or (isinstance(error, errors.FieldTooLong) and error.field == "endpoint"):
            return "Invalid push endpoint"
        if isinstance(error, (errors.InvalidP256dh, errors.InvalidAuthSecret, errors.FieldTooLong)):
            return "Invalid subscription keys"
        if isinstance(error, errors.OwnedByAnotherUser):
            return "Endpoint belongs to another user"
        _log_unexpected(error)
        return "Failed to save subscription"
    if command == "push_unsubscribe":
        if isinstance(error, errors.FieldMissing):
            return "Missing endpoint"
        if isinstance(error, errors.FieldError):
            return "Invalid push endpoint"
        _log_unexpected(error)
        return "Failed to remove subscription"
    if command == "push_get_vapid":
        _log_unexpected(error)
        return "VAPID keys not configured on this server"
    _log_unexpected(error)
    return "Internal error"


def websocket_error(command: str | None, reason: str) -> dict[str, Any]:
    return {"cmd": "error", "src": command, "val": reason}
