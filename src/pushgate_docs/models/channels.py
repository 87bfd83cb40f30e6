"""docs/api.md §5, the channel subscriptions API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from pushgate_docs.models.base import AuthSecret, EXAMPLE_AUTH, EXAMPLE_CHANNEL_ID, EXAMPLE_ENDPOINT, EXAMPLE_P256DH, Endpoint, P256dh, RequestModel, ResponseModel, absent


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
