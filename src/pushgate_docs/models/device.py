"""docs/api.md §3, the device API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from pushgate_docs.models.base import AuthSecret, DeviceTypeName, EXAMPLE_AUTH, EXAMPLE_ENDPOINT, EXAMPLE_P256DH, Endpoint, P256dh, RequestModel, ResponseModel, absent


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
