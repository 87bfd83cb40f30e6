"""What each HTTP route of template.yaml does on the wire, keyed by (method, path).

The routes themselves come from template.yaml (`pushgate_local.template.http_routes`); this
table only describes them. A route in the template that is missing here, or an entry here that is
not in the template, makes `build_openapi()` fail."""

from __future__ import annotations

from dataclasses import dataclass, replace

from pydantic import BaseModel

from pushgate_docs import models
from pushgate_docs.catalog import ACCOUNT, CHANNEL, DEVICE, SERVER, ErrorCode, Surface, errors_of


@dataclass(frozen=True)
class Tag:
    name: str
    description: str


SESSIONS_TAG = Tag("Sessions", "docs/api.md §0. The app's backend mints sessions for its users with its secret key.")
ACCOUNT_TAG = Tag(
    "Account API",
    "docs/api.md §2. Browser subscriptions authenticated by a session. Parameters come from the query string (GET) or "
    "the query string, a form or a JSON body (POST). Field errors are HTTP **200** with an `error_no`.",
)
DEVICE_TAG = Tag(
    "Device API",
    "docs/api.md §3. Native device tokens and web subscriptions, per (user, type, deviceId). Client-side: "
    "`IM-CLIENT-KEY` + `IM-Authorization`; server-side: `IM-API-KEY` + `clientId` in the body.",
)
TOPICS_TAG = Tag(
    "Topics and sending API",
    "docs/api.md §4. Server-side only: `?api_key=` with the app's secret key on every call. A device token is a native "
    "device's platform token or a web subscription's endpoint URL, registered in this app through any surface.",
)
CHANNEL_TAG = Tag(
    "Channel subscriptions API",
    "docs/api.md §5. A user's web push subscriptions in one channel. Every response carries `x-request-id`; every "
    "non-2xx body is `{\"error\": {type, code, message, status, request_id, details}}`.",
)
TAGS = (SESSIONS_TAG, ACCOUNT_TAG, DEVICE_TAG, TOPICS_TAG, CHANNEL_TAG)

SECRET_KEY_AUTH = ({"SecretApiKey": []},)
DEVICE_AUTH = ({"ImClientKey": [], "ImAuthorization": []}, {"ImApiKey": []})
CHANNEL_AUTH = ({"NotiflowsApiKey": [], "NotiflowsUserKey": []}, {"NotiflowsApiKey": [], "NotiflowsUserId": []})


@dataclass(frozen=True)
class Success:
    status: int
    model: type[BaseModel] | None  # None: no body
    description: str


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    surface: Surface
    tag: Tag
    summary: str
    description: str
    successes: tuple[Success, ...]
    errors: tuple[ErrorCode, ...]
    security: tuple[dict[str, list[str]], ...] = ()
    path_params: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    query_required: bool = True
    query_note: str = ""
    headers: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_media_types: tuple[str, ...] = ("application/json",)
    body_required: bool = True
    body_description: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return self.method, self.path


ACCOUNT_SUBSCRIBE_ERRORS = errors_of(ACCOUNT, *range(8501, 8511), 400, 401, 403, 413, 503, 500)
ACCOUNT_UNSUBSCRIBE_ERRORS = errors_of(ACCOUNT, 8601, 8602, 400, 401, 403, 413, 500)

_SUBSCRIBE_TEXT = (
    "Creates the caller's subscription for `endpoint`, or reactivates the existing one with the same endpoint "
    "(status back to ACTIVE, keys refreshed, **same** `push_subscription_id`). An endpoint held by another user "
    "of the app moves to the caller only with identical keys (the same browser); otherwise `error_no` 8510.\n\n"
    "Checks run in this order: every required field (8501-8503), every length (8504-8506), then validity "
    "(8507-8509)."
)
_UNSUBSCRIBE_TEXT = (
    "Soft-deletes (status REMOVED) the caller's subscription with this endpoint. Succeeds when nothing matched, "
    "including another user's endpoint (which is left unchanged)."
)
_POST_NOTE = "May be sent in the body instead; where both name a field the body wins."


def _account_subscribe(method: str) -> Operation:
    post = method == "POST"
    return Operation(
        method=method,
        path="/{account_id}/push_subscribe",
        surface=ACCOUNT,
        tag=ACCOUNT_TAG,
        summary="Subscribe the caller's browser" + (" (form or JSON body)" if post else " (query string)"),
        description=_SUBSCRIBE_TEXT,
        successes=(Success(200, models.AccountSubscribeResponse, "Subscribed (created or reactivated)."),),
        errors=ACCOUNT_SUBSCRIBE_ERRORS,
        path_params=models.AccountPath,
        query=models.AccountPushSubscribeQuery,
        query_required=not post,
        query_note=_POST_NOTE if post else "",
        body=models.AccountPushSubscribeBody if post else None,
        body_media_types=("application/json", "application/x-www-form-urlencoded"),
        body_required=False,
    )


def _account_unsubscribe(method: str) -> Operation:
    post = method == "POST"
    return Operation(
        method=method,
        path="/{account_id}/push_unsubscribe",
        surface=ACCOUNT,
        tag=ACCOUNT_TAG,
        summary="Unsubscribe the caller's browser" + (" (form or JSON body)" if post else " (query string)"),
        description=_UNSUBSCRIBE_TEXT,
        successes=(Success(200, models.AccountUnsubscribeResponse, "Unsubscribed, or nothing of the caller's matched."),),
        errors=ACCOUNT_UNSUBSCRIBE_ERRORS,
        path_params=models.AccountPath,
        query=models.AccountPushUnsubscribeQuery,
        query_required=not post,
        query_note=_POST_NOTE if post else "",
        body=models.AccountPushUnsubscribeBody if post else None,
        body_media_types=("application/json", "application/x-www-form-urlencoded"),
        body_required=False,
    )


_NOT_FOUND_OR_NOT_UUID = (
    "`channel_id` must be a UUID (else `bad_request`, `details.reason` `invalid_uuid`) naming the app's web push "
    "channel (else `not_found`)."
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="POST",
        path="/sessions",
        surface=SERVER,
        tag=SESSIONS_TAG,
        summary="Create a session for a user",
        description=(
            "The app's backend mints a session for one of its users, with the app's secret key. The session id "
            "authenticates that user on the account API (`session_id`), the device API (`IM-Authorization`) and the "
            "WebSocket API (`token`). Errors use the topics API's envelope `{\"code\", \"error\"}`."
        ),
        successes=(Success(201, models.CreateSessionResponse, "Created."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_PARAM", "PAYLOAD_TOO_LARGE", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        body=models.CreateSessionRequest,
    ),
    _account_subscribe("GET"),
    _account_subscribe("POST"),
    _account_unsubscribe("GET"),
    _account_unsubscribe("POST"),
    Operation(
        method="POST",
        path="/me/subscribe",
        surface=DEVICE,
        tag=DEVICE_TAG,
        summary="Register a device token or web subscription",
        description=(
            "Registers the user's device. `type` is one of `ios`, `ios-voip`, `android`, `fcm`, `web`; native types "
            "carry `token` (the platform token), `web` carries `subscription` (the browser's "
            "`PushSubscription.toJSON()`). One record per (user, type, deviceId): subscribing again replaces its "
            "token. A token or endpoint held by another user is refused (409) unless it is the same browser "
            "(identical keys)."
        ),
        successes=(Success(200, models.ImkitSuccess, "Registered (`result.n` is 1)."),),
        errors=errors_of(DEVICE, "INVALID_TOKEN", "MISSING_PARAMETER", "INVALID_PARAMETER", "DEVICE_OWNED_BY_ANOTHER_USER",
                         "PAYLOAD_TOO_LARGE", "BUSY", "INTERNAL_ERROR"),
        security=DEVICE_AUTH,
        body=models.DeviceSubscribeRequest,
    ),
    Operation(
        method="POST",
        path="/me/unsubscribe",
        surface=DEVICE,
        tag=DEVICE_TAG,
        summary="Remove the user's device registration",
        description=(
            "Removes the user's record for (type, deviceId). Idempotent: `result.n` is the number of records "
            "removed, 0 when nothing matched. Works even if the token has expired at the provider."
        ),
        successes=(Success(200, models.ImkitSuccess, "Done; `result.n` is 0 or 1."),),
        errors=errors_of(DEVICE, "INVALID_TOKEN", "MISSING_PARAMETER", "INVALID_PARAMETER", "PAYLOAD_TOO_LARGE", "INTERNAL_ERROR"),
        security=DEVICE_AUTH,
        body=models.DeviceUnsubscribeRequest,
    ),
    Operation(
        method="GET",
        path="/me/devices",
        surface=DEVICE,
        tag=DEVICE_TAG,
        summary="List the user's devices",
        description=(
            "The user's active devices of every type, whichever surface registered them, oldest first. A GET has no "
            "body: server-side, name the user with `?clientId=`."
        ),
        successes=(Success(200, models.MyDevicesResponse, "The devices."),),
        errors=errors_of(DEVICE, "INVALID_TOKEN", "INVALID_PARAMETER", "INTERNAL_ERROR"),
        security=DEVICE_AUTH,
        query=models.MyDevicesQuery,
        query_required=False,
    ),
    Operation(
        method="POST",
        path="/topics/subscribe",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="Subscribe a device to topics",
        description=(
            "Subscribes an active device token of the app (a native token or a web endpoint, registered through any "
            "surface) to 1-100 topics. Topics are case-sensitive and match `^[a-zA-Z0-9-_.]{1,100}$`."
        ),
        successes=(Success(200, models.PushySuccess, "Subscribed."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_DEVICE_TOKEN", "INVALID_PARAM", "PAYLOAD_TOO_LARGE", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        body=models.TopicsSubscribeRequest,
    ),
    Operation(
        method="POST",
        path="/topics/unsubscribe",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="Unsubscribe a device from topics",
        description="Unsubscribes an active device token of the app from the given topics; `[\"*\"]` removes every topic.",
        successes=(Success(200, models.PushySuccess, "Unsubscribed."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_DEVICE_TOKEN", "INVALID_PARAM", "PAYLOAD_TOO_LARGE", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        body=models.TopicsUnsubscribeRequest,
    ),
    Operation(
        method="GET",
        path="/topics",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="List the app's topics",
        description="Every topic with at least one subscriber, with its exact subscriber count.",
        successes=(Success(200, models.TopicListResponse, "The topics."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
    ),
    Operation(
        method="GET",
        path="/topics/{topic}",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="List a topic's subscribers",
        description="The device tokens subscribed to the topic, 1000 a page; follow `pagination` (adding your `api_key`) for the next page.",
        successes=(Success(200, models.TopicSubscribersResponse, "One page of subscribers."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_PARAM", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        path_params=models.TopicPath,
        query=models.TopicSubscribersQuery,
    ),
    Operation(
        method="GET",
        path="/devices/{token}",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="Get a device and its topics",
        description=(
            "A token's record and its topics. Removed and expired devices are returned too (their `status` says so); "
            "a token never registered in this app is `INVALID_DEVICE_TOKEN`."
        ),
        successes=(Success(200, models.DeviceResponse, "The device."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_DEVICE_TOKEN", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        path_params=models.DevicePath,
    ),
    Operation(
        method="GET",
        path="/users/{user_id}/subscriptions",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="List a user's subscriptions",
        description=(
            "The user's web subscriptions and native devices, registered through any surface, in every status, with "
            "their topics; 100 a page: follow `pagination` (adding your `api_key`) for the next page."
        ),
        successes=(Success(200, models.UserSubscriptionsResponse, "One page of subscriptions."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_PARAM", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        path_params=models.UserPath,
        query=models.UserSubscriptionsQuery,
    ),
    Operation(
        method="DELETE",
        path="/users/{user_id}",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="Erase a user",
        description=(
            "Deletes (not soft-deletes) every subscription and device of the user, registered through any surface, "
            "their topic subscriptions and their authenticated WebSocket connection records. Push records keep only "
            "counts. A call works for a bounded time: `complete: false` means more is left, call again. Idempotent: "
            "a repeated or retried call counts nothing twice, and a device that has moved to another user is left alone."
        ),
        successes=(Success(200, models.UserErasureResponse, "Erased, or partly erased (`complete: false`)."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_PARAM", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        path_params=models.UserPath,
    ),
    Operation(
        method="POST",
        path="/push",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="Send a push",
        description=(
            "Checks the push (payload size included), records it and queues its targets; delivery is asynchronous "
            "(docs/api.md §7). `to` is a token, a list of tokens, `\"/topics/NAME\"`, a list of those, or "
            "`\"/users/USER_ID\"` (all the user's active devices). The Web Push payload is the JSON "
            "`{\"id\", \"notification\"?, \"data\"?}`; over 3993 bytes (or over FCM's or APNs's 4096 in their shapes) it is "
            "refused with `PAYLOAD_TOO_LARGE`. Devices of type `ios`/`ios-voip` are sent through the app's apns channel, "
            "`android`/`fcm` through its fcm channel; without one they count as failed (`failed_reasons.no_channel`)."
        ),
        successes=(Success(200, models.PushCreated, "Accepted for delivery."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_PARAM", "PAYLOAD_TOO_LARGE", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        body=models.SendPushRequest,
    ),
    Operation(
        method="GET",
        path="/pushes/{push_id}",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="Get a push's status and counts",
        description="The push's status (`sending`, `done` or `cancelled`) and live delivery counts.",
        successes=(Success(200, models.PushStatusResponse, "The push."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_PUSH_ID", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        path_params=models.PushPath,
    ),
    Operation(
        method="DELETE",
        path="/pushes/{push_id}",
        surface=SERVER,
        tag=TOPICS_TAG,
        summary="Cancel a push",
        description="Cancels whatever of the push is not yet sent (counted as `cancelled`). Idempotent.",
        successes=(Success(200, models.PushySuccess, "Cancelled."),),
        errors=errors_of(SERVER, "INVALID_API_KEY", "INVALID_PUSH_ID", ("INTERNAL_ERROR", 500)),
        security=SECRET_KEY_AUTH,
        path_params=models.PushPath,
    ),
    Operation(
        method="POST",
        path="/user/v1/channels/{channel_id}/subscriptions",
        surface=CHANNEL,
        tag=CHANNEL_TAG,
        summary="Create or update a channel subscription",
        description=(
            "Subscribes the user's browser in the channel. For web push, `identifier` is the endpoint URL and "
            "`settings.endpoint`, when present, must equal it. 201 when the subscription was created (or moved to "
            "this user, or reactivated), 200 when the user's active subscription was updated in place. An "
            "identifier held by another user is `conflict` unless the keys are identical (the same browser). "
            + _NOT_FOUND_OR_NOT_UUID
        ),
        successes=(
            Success(201, models.ChannelSubscription, "Created."),
            Success(200, models.ChannelSubscription, "Updated in place."),
        ),
        errors=errors_of(CHANNEL, "bad_request", "unauthenticated", "not_found", "conflict", "payload_too_large", "unavailable", "internal_error"),
        security=CHANNEL_AUTH,
        path_params=models.ChannelPath,
        headers=models.NotiflowsRequestHeaders,
        body=models.ChannelSubscriptionUpsertRequest,
    ),
    Operation(
        method="GET",
        path="/user/v1/channels/{channel_id}/subscriptions",
        surface=CHANNEL,
        tag=CHANNEL_TAG,
        summary="List the user's channel subscriptions",
        description="The user's active subscriptions in the channel. " + _NOT_FOUND_OR_NOT_UUID,
        successes=(Success(200, models.ChannelSubscriptionList, "The subscriptions."),),
        errors=errors_of(CHANNEL, "bad_request", "unauthenticated", "not_found", "internal_error"),
        security=CHANNEL_AUTH,
        path_params=models.ChannelPath,
        headers=models.NotiflowsRequestHeaders,
    ),
    Operation(
        method="DELETE",
        path="/user/v1/channels/{channel_id}/subscriptions",
        surface=CHANNEL,
        tag=CHANNEL_TAG,
        summary="Remove a channel subscription",
        description=(
            "Removes the user's subscription with this identifier. 204 also when it was not subscribed (or is "
            "another user's, which is left unchanged). " + _NOT_FOUND_OR_NOT_UUID
        ),
        successes=(Success(204, None, "Removed, or there was nothing to remove. Empty body."),),
        errors=errors_of(CHANNEL, "bad_request", "unauthenticated", "not_found", "payload_too_large", "internal_error"),
        security=CHANNEL_AUTH,
        path_params=models.ChannelPath,
        headers=models.NotiflowsRequestHeaders,
        body=models.ChannelSubscriptionDeleteRequest,
    ),
)

# Every route counts against its app's request rate (docs/limits.md), so every one may answer 429.
RATE_LIMITED = {ACCOUNT: 429, SERVER: "RATE_LIMITED", DEVICE: "RATE_LIMITED", CHANNEL: "rate_limited"}
OPERATIONS = tuple(replace(op, errors=(*op.errors, *errors_of(op.surface, RATE_LIMITED[op.surface]))) for op in OPERATIONS)

BY_ROUTE: dict[tuple[str, str], Operation] = {op.key: op for op in OPERATIONS}
if len(BY_ROUTE) != len(OPERATIONS):
    raise RuntimeError("pushgate_docs.operations: two entries for the same route")
