"""The building blocks of the wire-contract models: shared field types, examples, and the request and response base classes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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
