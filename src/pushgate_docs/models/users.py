"""A user's data: docs/api.md §3 `GET /me/devices`, §4 `/users/{user_id}`."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from pushgate_docs.models.base import DeviceTypeName, EXAMPLE_ENDPOINT, EpochSeconds, RequestModel, ResponseModel, SubscriptionStatusName, TopicName, UserId, absent
from pushgate_docs.models.device import ClientId


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
