"""docs/api.md §2, the account API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from pushgate_docs.models.base import AuthSecret, EXAMPLE_AUTH, EXAMPLE_ENDPOINT, EXAMPLE_P256DH, Endpoint, P256dh, RequestModel, ResponseModel, absent

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
