"""The HTTP wire contract (docs/api.md §0 `POST /sessions`, §2-§5) as pydantic v2 models.

These models exist only to document the API (docs/openapi.json is generated from them); the
Lambda functions never import them, so they cost no cold-start time. They are written from the
contract, not derived from the handlers, and tests/contract/test_openapi.py checks the real
handlers' responses against them.

Conventions:
- Request models ignore unknown fields, as the server does (docs/api.md §6).
- Response models forbid unknown fields, so a field the code starts returning without documenting
  it fails the contract tests.
- An optional field that is simply absent on the wire (never `null`) is declared with `absent()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# -- building blocks ----------------------------------------------------------------------------

DeviceTypeName = Literal["ios", "ios-voip", "android", "fcm", "web"]
SubscriptionStatusName = Literal["ACTIVE", "REMOVED", "EXPIRED"]

EXAMPLE_ENDPOINT = "https://fcm.googleapis.com/fcm/send/dAPq1-example-subscription"
EXAMPLE_P256DH = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
EXAMPLE_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
EXAMPLE_CHANNEL_ID = "0b7e6c1e-4a8f-4f4e-9d6c-3f1f2a9c8d01"
BASE64URL_PATTERN = r"^[A-Za-z0-9_-]+={0,2}$"
TOPIC_PATTERN = r"^[a-zA-Z0-9\-_.]{1,100}$"


def _drop_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def absent(description: str, **kwargs: Any) -> Any:
    """An optional field that is left out rather than sent as null (no `default: null` in the schema)."""
    return Field(default=None, description=description, json_schema_extra=_drop_default, **kwargs)


Endpoint = Annotated[
    str,
    Field(
        min_length=1,
        max_length=1024,
        description=(
            "The browser's push endpoint (PushSubscription.endpoint): an https URL on port 443, without "
            "user-info, whose host is a known push service (fcm.googleapis.com, "
            "updates.push.services.mozilla.com, web.push.apple.com, *.notify.windows.com, ...), at most "
            "1024 characters, no whitespace or control characters (docs/api.md §6)."
        ),
        examples=[EXAMPLE_ENDPOINT],
    ),
]
P256dh = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=BASE64URL_PATTERN,
        description="base64url (padding optional) of the 65-byte uncompressed P-256 public key of the browser.",
        examples=[EXAMPLE_P256DH],
    ),
]
AuthSecret = Annotated[
    str,
    Field(
        min_length=1,
        max_length=255,
        pattern=BASE64URL_PATTERN,
        description="base64url (padding optional) of the browser's 16-byte authentication secret.",
        examples=[EXAMPLE_AUTH],
    ),
]
UserId = Annotated[
    str,
    Field(min_length=1, max_length=256, description="The app's id for the user: 1-256 printable characters.", examples=["user-42"]),
]
TopicName = Annotated[
    str,
    Field(pattern=TOPIC_PATTERN, description="A topic name: case-sensitive, [a-zA-Z0-9-_.], 1-100 characters.", examples=["news"]),
]
EpochSeconds = Annotated[int, Field(ge=0, description="Unix time, seconds.", examples=[1795536000])]


class RequestModel(BaseModel):
    """Unknown fields are ignored (docs/api.md §6); the schema leaves additionalProperties open."""

    model_config = ConfigDict(extra="ignore")


class ResponseModel(BaseModel):
    """Exactly the fields the server returns."""

    model_config = ConfigDict(extra="forbid")


# -- §0 POST /sessions --------------------------------------------------------------------------------


class CreateSessionRequest(RequestModel):
    """Mint a session for one of the app's users (the app's backend, with its secret key)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"user_id": "user-42", "ttl": 3600}]})

    user_id: UserId
    ttl: int = Field(default=86400, ge=60, le=2592000, description="Lifetime in seconds, 60 to 2592000 (30 days); default 86400.")


class CreateSessionResponse(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"session_id": "ses_3k2J9x0mQn1VbQ4z8sYtLw6pRfHcUe5a", "user_id": "user-42", "expires_at": 1795453200}]}
    )

    session_id: str = Field(
        description="The opaque session id (only its hash is stored). Use it as `session_id` (§2), `IM-Authorization` (§3) or the WebSocket `token` (§1)."
    )
    user_id: UserId
    expires_at: EpochSeconds


# -- §2 Account API ---------------------------------------------------------------------------------

SessionId = Annotated[
    str,
    Field(
        description=(
            "The user's session id (from `POST /sessions` or `pushgate session create`); a user JWT signed with "
            "one of the app's user-token keys is accepted in its place. A guest `token` is not."
        ),
        examples=["ses_3k2J9x0mQn1VbQ4z8sYtLw6pRfHcUe5a"],
    ),
]


class AccountPushSubscribeQuery(RequestModel):
    """The parameters of `GET /{account_id}/push_subscribe` (all required)."""

    session_id: SessionId
    endpoint: Endpoint
    key_p256dh: P256dh
    key_auth: AuthSecret


class AccountPushSubscribeBody(RequestModel):
    """The parameters of `POST /{account_id}/push_subscribe`, as a JSON object or a form. Each one is
    required, here or in the query string; where both name a field the body wins."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"session_id": "ses_3k2J9x0mQn1VbQ4z8sYtLw6pRfHcUe5a", "endpoint": EXAMPLE_ENDPOINT, "key_p256dh": EXAMPLE_P256DH, "key_auth": EXAMPLE_AUTH}
            ]
        }
    )

    session_id: SessionId = absent("Required here or in the query string.")
    endpoint: Endpoint = absent("Required here or in the query string (max 1024 characters).")
    key_p256dh: P256dh = absent("Required here or in the query string (max 255 characters).")
    key_auth: AuthSecret = absent("Required here or in the query string (max 255 characters).")


class AccountPushUnsubscribeQuery(RequestModel):
    """The parameters of `GET /{account_id}/push_unsubscribe` (all required)."""

    session_id: SessionId
    endpoint: Annotated[str, Field(min_length=1, max_length=1024, description="The endpoint to remove.", examples=[EXAMPLE_ENDPOINT])]


class AccountPushUnsubscribeBody(RequestModel):
    """The parameters of `POST /{account_id}/push_unsubscribe`, as a JSON object or a form; each is
    required here or in the query string."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"session_id": "ses_3k2J9x0mQn1VbQ4z8sYtLw6pRfHcUe5a", "endpoint": EXAMPLE_ENDPOINT}]})

    session_id: SessionId = absent("Required here or in the query string.")
    endpoint: str = absent("The endpoint to remove. Required here or in the query string (max 1024 characters).", max_length=1024)


class AccountSubscribeData(ResponseModel):
    push_subscription_id: int = Field(
        ge=1, description="Positive integer, unique within the account; the same id when an existing subscription is reactivated."
    )
    operation_status: Literal["SUCCESS"]


class AccountSubscribeResponse(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"data": {"push_subscription_id": 123, "operation_status": "SUCCESS"}}]})

    data: AccountSubscribeData


class AccountUnsubscribeData(ResponseModel):
    operation_status: Literal["SUCCESS"]


class AccountUnsubscribeResponse(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"data": {"operation_status": "SUCCESS"}}]})

    data: AccountUnsubscribeData


class AccountError(ResponseModel):
    """The account API's error envelope. Field errors come with HTTP **200** and an `error_no` of
    8501-8510 (subscribe) or 8601-8602 (unsubscribe); other errors repeat the HTTP status in
    `error_no`. See docs/errors.md."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"error_no": 8501, "error_message": "endpoint is required"}]})

    error_no: int = Field(description="8501-8510 / 8601-8602 for field errors (HTTP 200), else the HTTP status.")
    error_message: str


# -- §3 Device API ----------------------------------------------------------------------------------


class PushSubscriptionKeys(RequestModel):
    p256dh: P256dh
    auth: AuthSecret


class PushSubscriptionJSON(RequestModel):
    """A browser's `PushSubscription.toJSON()`."""

    endpoint: Endpoint
    keys: PushSubscriptionKeys
    expirationTime: int | None = Field(default=None, description="Sent by browsers; ignored.")


DeviceId = Annotated[
    str,
    Field(min_length=1, max_length=256, description="The app's identifier of the device: 1-256 printable characters.", examples=["pixel-8-uuid-002"]),
]
ClientId = Annotated[
    str,
    Field(min_length=1, max_length=256, description="The user to act for; required with `IM-API-KEY`, ignored otherwise.", examples=["user-42"]),
]


class DeviceSubscribeRequest(RequestModel):
    """One record per (user, type, deviceId): subscribing again replaces its token. Native types carry
    `token`; `web` carries `subscription`."""

    model_config = ConfigDict(
        json_schema_extra={
            "allOf": [
                {"if": {"properties": {"type": {"const": "web"}}, "required": ["type"]}, "then": {"required": ["subscription"]}, "else": {"required": ["token"]}}
            ],
            "examples": [
                {"type": "fcm", "deviceId": "pixel-8-uuid-002", "token": "fcm-registration-token"},
                {"type": "web", "deviceId": "browser-7f3a", "subscription": {"endpoint": EXAMPLE_ENDPOINT, "keys": {"p256dh": EXAMPLE_P256DH, "auth": EXAMPLE_AUTH}}},
            ],
        }
    )

    type: DeviceTypeName
    deviceId: DeviceId
    token: str = absent(
        "The platform's device token (native types): printable ASCII without spaces, at most 4096 characters.",
        min_length=1,
        max_length=4096,
        pattern=r"^[\x21-\x7e]+$",
    )
    subscription: PushSubscriptionJSON = absent("The browser's PushSubscription.toJSON() (type `web`).")
    clientId: ClientId = absent("The user to act for; required with `IM-API-KEY`, ignored otherwise.")


class DeviceUnsubscribeRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"type": "fcm", "deviceId": "pixel-8-uuid-002"}]})

    type: DeviceTypeName
    deviceId: DeviceId
    clientId: ClientId = absent("The user to act for; required with `IM-API-KEY`, ignored otherwise.")


class ImkitResult(ResponseModel):
    n: int = Field(ge=0, le=1, description="Records affected: 1 on subscribe; 0 or 1 on unsubscribe.")
    ok: Literal[1]


class ImkitSuccess(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}}]})

    RC: Literal[0]
    RM: Literal["OK"]
    result: ImkitResult


class ImkitErrorDetail(ResponseModel):
    code: str
    message: str


class ImkitError(ResponseModel):
    """The device API's error envelope: `RC` repeats the HTTP status, `RM` is its reason phrase."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"RC": 401, "RM": "Unauthorized", "error": {"code": "INVALID_TOKEN", "message": "Invalid or expired token"}}]
        }
    )

    RC: int
    RM: str
    error: ImkitErrorDetail


# -- §4 Topics and sending API ----------------------------------------------------------------------------------

DeviceToken = Annotated[
    str,
    Field(
        min_length=1,
        description="A native device's platform token, or a web subscription's endpoint URL, registered in this app.",
        examples=["a6345d0278adc55d3474f5"],
    ),
]


class TopicsSubscribeRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"token": "a6345d0278adc55d3474f5", "topics": ["news", "media"]}]})

    token: DeviceToken
    topics: list[TopicName] = Field(min_length=1, max_length=100, description="1-100 topic names.")


class TopicsUnsubscribeRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"token": "a6345d0278adc55d3474f5", "topics": ["news"]}, {"token": "a6345d0278adc55d3474f5", "topics": ["*"]}]})

    token: DeviceToken
    topics: Annotated[list[TopicName], Field(min_length=1, max_length=100)] | tuple[Literal["*"]] = Field(
        description='1-100 topic names, or `["*"]` to unsubscribe from every topic.'
    )


class PushySuccess(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"success": True}]})

    success: Literal[True]


class TopicSummary(ResponseModel):
    name: TopicName
    subscribers: int = Field(ge=1, description="The exact number of subscribed devices (topics without any are not listed).")


class TopicListResponse(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"topics": [{"name": "news", "subscribers": 2}]}]})

    topics: list[TopicSummary]


class TopicSubscribersResponse(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"subscribers": ["a6345d0278adc55d3474f5"], "pagination": "/topics/news?cursor=eyJQSyI6Ii4uLiJ9"}]}
    )

    subscribers: list[str] = Field(max_length=1000, description="Device tokens, at most 1000 a page.")
    pagination: str | None = Field(
        description=(
            "The next page's URL, relative to the API and without `api_key` (add yours), or null on the last page."
        )
    )


class DeviceRecord(ResponseModel):
    type: DeviceTypeName
    user_id: UserId
    status: SubscriptionStatusName = Field(description="ACTIVE; REMOVED (unsubscribed); EXPIRED (the push service answered 404/410).")
    date: EpochSeconds = Field(description="When the device was first registered (Unix time, seconds).")


class DeviceResponse(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"device": {"type": "web", "user_id": "user-42", "status": "ACTIVE", "date": 1795449600}, "subscriptions": ["news"]}]
        }
    )

    device: DeviceRecord
    subscriptions: list[TopicName] = Field(description="The topics the device is subscribed to.")


class PushNotification(RequestModel):
    title: str
    body: str
    icon: str = absent("An icon URL.")
    url: str = absent("The URL to open when the notification is clicked.")


class SendPushRequest(RequestModel):
    """The push. Web Push delivers the JSON `{"id", "notification"?, "data"?}`, which must fit in 3993
    bytes; FCM and APNs get the same fields in their own shapes, each within 4096 bytes (else
    `PAYLOAD_TOO_LARGE`). Data keys FCM reserves (`from`, `message_type`, `notification`, `id`, `google.*`,
    `gcm.*`) are refused. Delivery is asynchronous: follow it with `GET /pushes/{push_id}`."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"to": "/topics/news", "notification": {"title": "Hello", "body": "World", "url": "https://example.com/"}, "data": {"article": 42}},
                {"to": ["a6345d0278adc55d3474f5", EXAMPLE_ENDPOINT], "data": {"ping": True}, "time_to_live": 3600, "urgency": "high"},
            ]
        }
    )

    to: str | list[str] = Field(
        description=(
            'A device token; a list of up to 10000 tokens; `"/topics/NAME"`; a list of up to 100 of those (tokens and '
            'topics cannot be mixed); or `"/users/USER_ID"` (a string, not in a list): every active device of the user. '
            "Tokens unknown to the app are counted as failed, not refused."
        ),
        examples=["/topics/news"],
    )
    data: Any = absent("Any JSON value, delivered as `data`.")
    notification: PushNotification = absent("Shown by the service worker of the pushgate client.")
    time_to_live: int = Field(default=86400, ge=0, le=2419200, description="Seconds the push services may keep it; default 86400, at most 2419200 (28 days).")
    urgency: Literal["very-low", "low", "normal", "high"] = Field(default="normal", description="RFC 8030 urgency.")
    collapse_key: str = absent("Replaces an undelivered push with the same key (the Web Push `Topic`).", min_length=1, max_length=256)
    skip_online: bool = Field(
        default=False,
        description=(
            "true: leave out the devices of users who have an authenticated WebSocket connection open (docs/api.md §1) "
            "when the push is fanned out; they are counted in `skipped_online`, not in `targeted`."
        ),
    )


class PushCreated(ResponseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"success": True, "id": "5f1c0e2a9b7d4c3e8a6f01b2c4"}]})

    success: Literal[True]
    id: str = Field(description="The push id, for `GET /pushes/{push_id}` and `DELETE /pushes/{push_id}`.")


class PushCounts(ResponseModel):
    targeted: int = Field(ge=0, description="Devices the push was expanded to so far.")
    sent: int = Field(ge=0, description="Accepted by the push service.")
    failed: int = Field(ge=0, description="Failed for good (unknown token, refused, dead-lettered).")
    pruned: int = Field(ge=0, description="The push service said the subscription is gone (404/410); it was marked EXPIRED.")
    pending: int = Field(ge=0, description="Targeted and not yet in any other count.")
    cancelled: int = Field(ge=0, description="Not sent because the push was cancelled.")
    skipped_online: int = absent(
        "Only for a push sent with `skip_online`: devices left out because their user had an authenticated WebSocket open.", ge=0
    )


class PushState(ResponseModel):
    id: str
    date: EpochSeconds = Field(description="When the push was created (Unix time, seconds).")
    status: Literal["sending", "done", "cancelled"]
    counts: PushCounts
    failed_reasons: dict[str, int] = Field(
        description=(
            "How many of `failed` failed for each reason: `no_channel` (the app has no channel for that device type), "
            "`unknown_device` (a token not registered or no longer active), `expired` (its time to live ran out in the "
            "queues), `rejected` (the provider refused our request: a configuration alarm), `invalid_request` (FCM "
            "INVALID_ARGUMENT), `too_large`, `retries_exhausted`, `redirected`, `invalid_subscription`, `blocked`, "
            "`not_pruned` (the provider said the token is gone but it was re-registered meanwhile)."
        )
    )


class PushStatusResponse(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "push": {
                        "id": "5f1c0e2a9b7d4c3e8a6f01b2c4",
                        "date": 1795449600,
                        "status": "sending",
                        "counts": {"targeted": 4, "sent": 1, "failed": 1, "pruned": 1, "pending": 1, "cancelled": 0},
                        "failed_reasons": {"no_channel": 1},
                    }
                }
            ]
        }
    )

    push: PushState


class PushyError(ResponseModel):
    """The server-side API's error envelope (also `POST /sessions`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"code": "INVALID_DEVICE_TOKEN", "error": "The provided device token is invalid."}]})

    code: str
    error: str = Field(description="Human-readable text.")


# -- §5 Channel subscriptions API ----------------------------------------------------------------


class ChannelSubscriptionSettings(RequestModel):
    endpoint: Endpoint = absent("When present, must equal `identifier`.")
    p256dh: P256dh
    auth: AuthSecret


class ChannelSubscriptionUpsertRequest(RequestModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"identifier": EXAMPLE_ENDPOINT, "settings": {"p256dh": EXAMPLE_P256DH, "auth": EXAMPLE_AUTH}}]}
    )

    identifier: Endpoint
    settings: ChannelSubscriptionSettings


class ChannelSubscriptionDeleteRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"identifier": EXAMPLE_ENDPOINT}]})

    identifier: Annotated[str, Field(min_length=1, max_length=1024, description="The subscription to remove (its endpoint URL).")]


class ChannelSubscription(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "q1Hd2v0fKc8xT7rN4bWmYs3ZpLgA9eUj",
                    "channel_id": EXAMPLE_CHANNEL_ID,
                    "identifier": EXAMPLE_ENDPOINT,
                    "created_at": "2026-11-23T16:00:00Z",
                    "updated_at": "2026-11-23T16:00:00Z",
                }
            ]
        }
    )

    id: str = Field(description="The subscription's id (derived from the identifier; stable across updates).")
    channel_id: str = Field(description="The channel (UUID).", json_schema_extra={"format": "uuid"})
    identifier: str = Field(description="The endpoint URL.")
    created_at: datetime
    updated_at: datetime


class ChannelSubscriptionList(ResponseModel):
    items: list[ChannelSubscription] = Field(description="The caller's active subscriptions in this channel.")


class NotiflowsFieldError(ResponseModel):
    field: str = Field(examples=["settings.p256dh"])
    message: str = Field(examples=["is invalid (not base64url)"])
    reason: Literal["required", "too_long", "invalid"]


class NotiflowsErrorDetails(ResponseModel):
    """What the error is about; which keys are present depends on the code (docs/errors.md)."""

    reason: Literal["invalid_uuid", "invalid_param", "invalid_json"] = absent("bad_request: what kind of problem.")
    param: str = absent("bad_request, conflict: the offending parameter.")
    fields: list[NotiflowsFieldError] = absent("bad_request: one entry per invalid field.")
    auth: Literal["api_key"] = absent("unauthenticated: the credential that failed.")
    resource: str = absent("not_found: what was not found.", examples=["channel"])
    limit: int = absent("payload_too_large: the body limit in bytes.")
    retry_after: int = absent("unavailable, rate_limited: seconds to wait before retrying.")
    window: Literal["1s"] = absent("rate_limited: the period rates are counted over (docs/limits.md).")


class NotiflowsErrorBody(ResponseModel):
    type: str = Field(description="`/docs/errors#<code>-<status>`: where docs/errors.md explains the code.", examples=["/docs/errors#not_found-404"])
    code: str
    message: str
    status: int = Field(description="The HTTP status, repeated.")
    request_id: str = Field(description="Equals the `x-request-id` response header.")
    details: NotiflowsErrorDetails


class NotiflowsError(ResponseModel):
    """Every non-2xx response of the channel subscriptions API."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "error": {
                        "type": "/docs/errors#not_found-404",
                        "code": "not_found",
                        "message": "Channel not found",
                        "status": 404,
                        "request_id": "req_JKJaXmPLvHcESHA",
                        "details": {"resource": "channel"},
                    }
                }
            ]
        }
    )

    error: NotiflowsErrorBody


# -- path, query and header parameters (turned into OpenAPI parameter objects) ---------------------


class AccountPath(RequestModel):
    account_id: int = Field(ge=1, description="The app's account number (`account_id` of `pushgate app create`); must be the session's account.", examples=[42])


class TopicPath(RequestModel):
    topic: TopicName


class DevicePath(RequestModel):
    token: str = Field(
        min_length=1,
        description="The device token, URL-encoded (a web subscription's token is its endpoint URL, so its `/` are sent as `%2F`).",
        examples=["a6345d0278adc55d3474f5", "https%3A%2F%2Ffcm.googleapis.com%2Ffcm%2Fsend%2FdAPq1-example-subscription"],
    )


class TopicSubscribersQuery(RequestModel):
    cursor: str = absent("Opaque; taken from the previous page's `pagination` URL.", max_length=2048)


class PushPath(RequestModel):
    push_id: str = Field(description="The id `POST /push` returned.", examples=["5f1c0e2a9b7d4c3e8a6f01b2c4"])


class ChannelPath(RequestModel):
    channel_id: str = Field(
        description="The channel's id (a UUID; the app's web push channel is listed by `pushgate app create`).",
        examples=[EXAMPLE_CHANNEL_ID],
        json_schema_extra={"format": "uuid"},
    )


class NotiflowsRequestHeaders(RequestModel):
    x_request_id: str = absent(
        "Your id for this request: echoed in the `x-request-id` response header and in error bodies when it matches "
        "`^[A-Za-z0-9._:-]{1,128}$`; otherwise the server makes one.",
        alias="x-request-id",
    )


# -- a user's data (docs/api.md §3 GET /me/devices, §4 /users/{user_id}) ---------------------------


class UserPath(RequestModel):
    user_id: UserId


class UserSubscriptionsQuery(RequestModel):
    cursor: str = absent("Opaque; taken from the previous page's `pagination` URL.", max_length=2048)


class UserSubscription(ResponseModel):
    type: DeviceTypeName
    device_id: str = absent("The device API's `deviceId` (§3), when the device was registered through it.")
    endpoint: str = absent("A web subscription's endpoint URL (type `web`).")
    token: str = absent("A native device's platform token (the other types).")
    status: SubscriptionStatusName = Field(description="ACTIVE; REMOVED (unsubscribed); EXPIRED (the push service answered 404/410).")
    created_at: EpochSeconds = Field(description="When the device was first registered (Unix time, seconds).")
    updated_at: EpochSeconds = Field(description="Its last registration or status change (Unix time, seconds).")
    topics: list[TopicName] = Field(description="The topics it is subscribed to (none once it is no longer active).")


class UserSubscriptionsResponse(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "subscriptions": [
                        {"type": "web", "endpoint": EXAMPLE_ENDPOINT, "status": "ACTIVE", "created_at": 1795449600,
                         "updated_at": 1795449600, "topics": ["news"]},
                        {"type": "ios", "device_id": "iphone-15-uuid-001", "token": "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad",
                         "status": "REMOVED", "created_at": 1795449600, "updated_at": 1795536000, "topics": []},
                    ],
                    "pagination": None,
                }
            ]
        }
    )

    subscriptions: list[UserSubscription] = Field(max_length=100, description="The user's subscriptions of every surface and status, at most 100 a page.")
    pagination: str | None = Field(
        description="The next page's URL, relative to the API and without `api_key` (add yours), or null on the last page."
    )


class ErasedCounts(ResponseModel):
    subscriptions: int = Field(ge=0, description="Web subscriptions deleted (registered through any surface).")
    devices: int = Field(ge=0, description="Native devices deleted.")
    topics: int = Field(ge=0, description="Topic subscriptions deleted (each topic's count lowered with it).")
    connections: int = Field(ge=0, description="Authenticated WebSocket connection records deleted.")


class UserErasureResponse(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"success": True, "removed": {"subscriptions": 1, "devices": 2, "topics": 3, "connections": 1}, "complete": True}
            ]
        }
    )

    success: Literal[True]
    removed: ErasedCounts = Field(description="What this call deleted (a repeated call counts nothing twice).")
    complete: bool = Field(
        description="true: nothing of the user is left. false: this call's time ran out first; call again (safe to repeat)."
    )


class MyDevicesQuery(RequestModel):
    clientId: ClientId = absent("The user to act for; required with `IM-API-KEY`, ignored otherwise.")


class MyDevice(ResponseModel):
    type: DeviceTypeName
    deviceId: str | None = Field(description="The `deviceId` it was registered with through this API, else null.")
    endpoint: str = absent("A web subscription's endpoint URL (type `web`).")
    token: str = absent("A native device's platform token (the other types).")
    createdAt: EpochSeconds = Field(description="When it was first registered (Unix time, seconds).")
    updatedAt: EpochSeconds = Field(description="Its last registration (Unix time, seconds).")


class MyDevicesResult(ResponseModel):
    n: int = Field(ge=0, description="How many devices are listed.")
    devices: list[MyDevice]


class MyDevicesResponse(ResponseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"RC": 0, "RM": "OK", "result": {"n": 1, "devices": [
                    {"type": "ios", "deviceId": "iphone-15-uuid-001", "token": "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad",
                     "createdAt": 1795449600, "updatedAt": 1795449600}]}}
            ]
        }
    )

    RC: Literal[0]
    RM: Literal["OK"]
    result: MyDevicesResult
