"""docs/api.md §0 `POST /sessions`."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from pushgate_docs.models.base import EpochSeconds, RequestModel, ResponseModel, UserId


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
