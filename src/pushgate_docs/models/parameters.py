"""Path, query and header parameters, turned into OpenAPI parameter objects."""

from __future__ import annotations

from pydantic import Field

from pushgate_docs.models.base import EXAMPLE_CHANNEL_ID, RequestModel, TopicName, absent


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
