"""The one place where domain errors become each surface's error envelope.

Each surface of the contract words errors its own way (doBoard's error_no with HTTP 200, Pushy's
{code, error}, ...). Services raise `pushgate.errors`; a surface's handler picks its envelope here."""

from __future__ import annotations

import json
from collections.abc import Callable

from aws_lambda_powertools.event_handler import Response

from pushgate import errors
from pushgate.observability import logger

ErrorMapper = Callable[[Exception], Response]


def json_response(status: int, body: object, headers: dict[str, str] | None = None) -> Response:
    return Response(
        status_code=status,
        content_type="application/json",
        body=json.dumps(body, separators=(",", ":")),
        headers=headers or {},
    )


def _log_unexpected(error: Exception) -> None:
    if not isinstance(error, errors.PushgateError):
        logger.exception("unhandled error")


# -- CONTRACT §2, the account API (doBoard) ------------------------------------------------

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
    def to_response(error: Exception) -> Response:
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
        _log_unexpected(error)
        return _account_error(500, 500, "Internal error")

    return to_response


account_subscribe_errors = account_errors(ACCOUNT_SUBSCRIBE_FIELD_ERRORS)
account_unsubscribe_errors = account_errors(ACCOUNT_UNSUBSCRIBE_FIELD_ERRORS)


# -- CONTRACT §4, the server-side API (Pushy): {"code", "error"} ---------------------------


def _pushy_error(status: int, code: str, message: str) -> Response:
    return json_response(status, {"code": code, "error": message})


def pushy_errors(error: Exception) -> Response:
    if isinstance(error, errors.Unauthenticated):
        return _pushy_error(401, "INVALID_API_KEY", "The provided API key is invalid.")
    if isinstance(error, errors.FieldError):
        return _pushy_error(400, "INVALID_PARAM", f"Invalid parameter: {error.field} ({error.detail or error.reason}).")
    if isinstance(error, errors.MalformedBody):
        return _pushy_error(400, "INVALID_PARAM", "The request body must be a JSON object.")
    if isinstance(error, errors.BodyTooLarge):
        return _pushy_error(400, "PAYLOAD_TOO_LARGE", "The request body is over 64 KiB.")
    if isinstance(error, errors.ConcurrentUpdate):
        return _pushy_error(503, "INTERNAL_ERROR", "Busy, please retry.")
    _log_unexpected(error)
    return _pushy_error(500, "INTERNAL_ERROR", "An internal error occurred.")
