"""Every error each HTTP surface returns: code, HTTP status, text and meaning.

One table feeds the OpenAPI document (each operation's error responses and descriptions) and
docs/errors.md. tests/contract/test_openapi.py runs the real envelope mappers of
`pushgate.http.envelopes` over every domain error and checks each answer is listed here, and
drives the handlers to check each operation returns what it documents."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from pushgate_docs import models


@dataclass(frozen=True)
class Surface:
    key: str  # anchors in docs/errors.md start with it (except the channel API's, see anchor())
    title: str
    section: str  # of docs/api.md
    envelope: type[BaseModel]
    code_field: str  # how the code is named in the body, for tables
    example: str


ACCOUNT = Surface(
    "account", "Account API", "§2", models.AccountError, "error_no",
    '{"error_no": 8501, "error_message": "endpoint is required"}',
)
SERVER = Surface(
    "server", "Topics and sending API, and POST /sessions", "§4, §0", models.PushyError, "code",
    '{"code": "INVALID_DEVICE_TOKEN", "error": "The provided device token is invalid."}',
)
DEVICE = Surface(
    "device", "Device API", "§3", models.ImkitError, "error.code",
    '{"RC": 401, "RM": "Unauthorized", "error": {"code": "INVALID_TOKEN", "message": "Invalid or expired token"}}',
)
CHANNEL = Surface(
    "channel", "Channel subscriptions API", "§5", models.NotiflowsError, "error.code",
    '{"error": {"type": "/docs/errors#not_found-404", "code": "not_found", "message": "Channel not found", '
    '"status": 404, "request_id": "req_JKJaXmPLvHcESHA", "details": {"resource": "channel"}}}',
)
SURFACES = (ACCOUNT, SERVER, DEVICE, CHANNEL)


@dataclass(frozen=True)
class ErrorCode:
    surface: Surface
    code: int | str
    status: int
    message: str | tuple[str, ...] | None  # the exact text (or texts), or None when it names the field or the problem
    meaning: str
    message_forms: tuple[str, ...] = ()  # how a variable message reads, for the docs
    reason_phrase: str | None = None  # the device API's RM
    details: str | None = None  # the channel API's `details` keys

    @property
    def anchor(self) -> str:
        """`<code>-<status>`: the channel API's `type` is `/docs/errors#<code>-<status>`. The other
        surfaces prefix their key, since their codes overlap (INTERNAL_ERROR-500 on two of them)."""
        bare = f"{self.code}-{self.status}"
        return bare if self.surface is CHANNEL else f"{self.surface.key}-{bare}"

    @property
    def texts(self) -> tuple[str, ...]:
        """The exact texts this error can carry; empty when the text varies."""
        if self.message is None:
            return ()
        return (self.message,) if isinstance(self.message, str) else self.message

    @property
    def shown_message(self) -> str:
        """The text(s) as Markdown code spans, for tables."""
        return " or ".join(f"`{text}`" for text in (self.texts or self.message_forms)) or "(varies)"


def _account(number: int, status: int, message: str, meaning: str) -> ErrorCode:
    return ErrorCode(ACCOUNT, number, status, message, meaning)


ACCOUNT_ERRORS = (
    _account(8501, 200, "endpoint is required", "`endpoint` is missing or empty."),
    _account(8502, 200, "key_p256dh is required", "`key_p256dh` is missing or empty."),
    _account(8503, 200, "key_auth is required", "`key_auth` is missing or empty."),
    _account(8504, 200, "endpoint is too long", "`endpoint` is longer than 1024 characters."),
    _account(8505, 200, "key_p256dh is too long", "`key_p256dh` is longer than 255 characters."),
    _account(8506, 200, "key_auth is too long", "`key_auth` is longer than 255 characters."),
    _account(8507, 200, "endpoint is not a valid push service URL",
             "`endpoint` is not an https URL (port 443, no user-info, no whitespace) on a known push service, or not a string."),
    _account(8508, 200, "key_p256dh is not a valid P-256 public key",
             "`key_p256dh` is not base64url of a 65-byte uncompressed point on P-256."),
    _account(8509, 200, "key_auth must be 16 bytes", "`key_auth` is not base64url of exactly 16 bytes."),
    _account(8510, 200, "endpoint belongs to another user",
             "Another user of the app holds this endpoint and the keys differ (not the same browser); nothing changed."),
    _account(8601, 200, "endpoint is required", "unsubscribe: `endpoint` is missing, empty or not a string."),
    _account(8602, 200, "endpoint is too long", "unsubscribe: `endpoint` is longer than 1024 characters."),
    _account(400, 400, "Malformed request", "The body cannot be read as its Content-Type says (a JSON body must be an object)."),
    _account(401, 401, "Unauthorized", "Missing, unknown or expired `session_id` (or an invalid user JWT), or a guest `token` instead of a session."),
    _account(403, 403, "Forbidden", "The `account_id` of the path is not the session's account."),
    _account(413, 413, "Request body too large", "The body is over 64 KiB."),
    _account(503, 503, "Busy, please retry", "Concurrent changes to the same subscription; safe to retry."),
    _account(429, 429, "Too Many Requests", "The app is over its request rate for this API (docs/limits.md); retry after the `Retry-After` header's seconds."),
    _account(500, 500, "Internal error", "Unexpected server error."),
)

SERVER_ERRORS = (
    ErrorCode(SERVER, "INVALID_API_KEY", 401, "The provided API key is invalid.",
              "`api_key` is missing, unknown, or not this app's secret key (a public key is refused)."),
    ErrorCode(SERVER, "INVALID_DEVICE_TOKEN", 400, "The provided device token is invalid.",
              "The token is not registered in this app (to subscribe or unsubscribe topics: or it is no longer active)."),
    ErrorCode(SERVER, "INVALID_PARAM", 400, None,
              "A parameter is missing or invalid (a topic name, the topics list, `token`, `user_id`, `ttl`, a pagination "
              "cursor, `to`, `notification`, `time_to_live`, `urgency`, `collapse_key`), or the body is not a JSON object.",
              message_forms=("Invalid parameter: <name> (<problem>).", "The request body must be a JSON object.")),
    ErrorCode(SERVER, "PAYLOAD_TOO_LARGE", 400,
              ("The request body is over 64 KiB.", "The push payload is too large for a push service (Web Push: 3993 bytes of {id, notification, data}; FCM and APNs: 4096); shorten notification or data."),
              "The body is over 64 KiB; or (`POST /push`) the push would not fit a provider: the Web Push payload `{id, notification, data}` over 3993 bytes, the FCM message's data and notification over 4096 (data values are sent as strings, nested values JSON-encoded), or the APNs payload over 4096 (5120 for VoIP)."),
    ErrorCode(SERVER, "INVALID_PUSH_ID", 404, "The provided push ID is invalid or does not exist.",
              "No push with this id in this app."),
    ErrorCode(SERVER, "INTERNAL_ERROR", 503, "Busy, please retry.", "Concurrent changes; safe to retry."),
    ErrorCode(SERVER, "RATE_LIMITED", 429, "Too many requests for this app; retry after the Retry-After header's seconds.",
              "The app is over its request rate for this API (docs/limits.md); retry after the `Retry-After` header's seconds."),
    ErrorCode(SERVER, "INTERNAL_ERROR", 500, "An internal error occurred.", "Unexpected server error."),
)

DEVICE_ERRORS = (
    ErrorCode(DEVICE, "INVALID_TOKEN", 401, "Invalid or expired token",
              "`IM-CLIENT-KEY` is not the app's public key, `IM-Authorization` is not a valid session or user JWT of "
              "the app, or `IM-API-KEY` is not its secret key.", reason_phrase="Unauthorized"),
    ErrorCode(DEVICE, "MISSING_PARAMETER", 400, "type and deviceId are required", "`type` or `deviceId` is missing or empty.",
              reason_phrase="Bad Request"),
    ErrorCode(DEVICE, "INVALID_PARAMETER", 400, None,
              "Any other bad input: the message names the field (`type`, `deviceId`, `token`, `subscription`, "
              "`subscription.endpoint`, `subscription.keys.p256dh`, `subscription.keys.auth`, `clientId`), or the body "
              "is not a JSON object.",
              message_forms=("<field> is required", "<field> is too long", "<field> is invalid (<why>)", "body must be a JSON object"),
              reason_phrase="Bad Request"),
    ErrorCode(DEVICE, "DEVICE_OWNED_BY_ANOTHER_USER", 409, "token belongs to another user",
              "Another user of the app holds this token or endpoint (a web subscription moves only with identical keys).",
              reason_phrase="Conflict"),
    ErrorCode(DEVICE, "PAYLOAD_TOO_LARGE", 413, "body is over 64 KiB", "The body is over 64 KiB.", reason_phrase="Payload Too Large"),
    ErrorCode(DEVICE, "BUSY", 503, "please retry", "Concurrent changes to the same device; safe to retry.", reason_phrase="Service Unavailable"),
    ErrorCode(DEVICE, "RATE_LIMITED", 429, "too many requests for this app", "The app is over its request rate for this API (docs/limits.md); retry after the `Retry-After` header's seconds.", reason_phrase="Too Many Requests"),
    ErrorCode(DEVICE, "INTERNAL_ERROR", 500, "internal error", "Unexpected server error.", reason_phrase="Internal Server Error"),
)

CHANNEL_ERRORS = (
    ErrorCode(CHANNEL, "bad_request", 400, None,
              "`channel_id` is not a UUID; `identifier` or `settings` is missing or invalid (including "
              "`settings.endpoint` differing from `identifier`); or the body is not a JSON object.",
              message_forms=("<param> is not a UUID", "<field> is required", "<field> is too long", "<field> is invalid (<why>)",
                             "Request body is not a JSON object"),
              details="`reason` (`invalid_uuid`, `invalid_param` or `invalid_json`), `param`, `fields[{field, message, reason}]`"),
    ErrorCode(CHANNEL, "unauthenticated", 401, "Invalid API key or user token",
              "`x-notiflows-api-key` is not the app's public key, or `x-notiflows-user-key` is not a valid RS256 user "
              "JWT of the app (or missing).", details='`auth`: `"api_key"`'),
    ErrorCode(CHANNEL, "not_found", 404, "Channel not found", "No web push channel with this id in the app.",
              details='`resource`: `"channel"`'),
    ErrorCode(CHANNEL, "conflict", 409, "identifier is subscribed by another user",
              "Another user of the app holds this endpoint and the keys differ (not the same browser); nothing changed.",
              details='`param`: `"identifier"`'),
    ErrorCode(CHANNEL, "payload_too_large", 413, "Request body is over 64 KiB", "The body is over 64 KiB.", details="`limit`: 65536"),
    ErrorCode(CHANNEL, "unavailable", 503, "Please retry", "Concurrent changes to the same subscription; safe to retry.",
              details="`retry_after`: 1"),
    ErrorCode(CHANNEL, "rate_limited", 429, "Too many requests for this app", "The app is over its request rate for this API (docs/limits.md); retry after the `Retry-After` header's seconds.",
              details="`retry_after`: seconds, as the `Retry-After` header; `window`: `\"1s\"` (rates are per second)"),
    ErrorCode(CHANNEL, "internal_error", 500, "Internal error", "Unexpected server error.", details="(empty)"),
)

ERRORS: tuple[ErrorCode, ...] = ACCOUNT_ERRORS + SERVER_ERRORS + DEVICE_ERRORS + CHANNEL_ERRORS


def error(surface: Surface, code: int | str, status: int | None = None) -> ErrorCode:
    found = [e for e in ERRORS if e.surface is surface and e.code == code and (status is None or e.status == status)]
    if len(found) != 1:
        raise KeyError(f"{surface.key}: {code} {status or ''}: {len(found)} catalog entries")
    return found[0]


def errors_of(surface: Surface, *codes: int | str | tuple[str, int]) -> tuple[ErrorCode, ...]:
    """Catalog entries by code, or by (code, status) where a code has several statuses."""
    return tuple(error(surface, *c) if isinstance(c, tuple) else error(surface, c) for c in codes)
