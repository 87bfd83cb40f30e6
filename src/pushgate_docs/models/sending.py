"""docs/api.md §4, the topics and sending API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field

from pushgate_docs.models.base import DeviceTypeName, EXAMPLE_ENDPOINT, EpochSeconds, RequestModel, ResponseModel, SubscriptionStatusName, TopicName, UserId, absent

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
