"""Domain errors. Surfaces never see these directly: `pushgate.http.envelopes` maps each to the
surface's own error shape, so a new surface adds a mapping, not new exceptions."""

from __future__ import annotations


class PushgateError(Exception):
    """Base class of every error the core raises on purpose."""


class Unauthenticated(PushgateError):
    """No credential, an unknown or expired one, or one that does not verify."""


class Forbidden(PushgateError):
    """A valid credential that does not grant this resource (e.g. another account's path)."""


class FieldError(PushgateError):
    """Something wrong with one named input field; `reason` says what."""

    reason = "invalid"

    def __init__(self, field: str, detail: str | None = None) -> None:
        super().__init__(f"{field}: {self.reason}" + (f" ({detail})" if detail else ""))
        self.field = field
        self.detail = detail


class FieldMissing(FieldError):
    reason = "required"


class FieldTooLong(FieldError):
    reason = "too_long"


class InvalidEndpoint(FieldError):
    reason = "invalid_endpoint"


class InvalidP256dh(FieldError):
    reason = "invalid_p256dh"


class InvalidAuthSecret(FieldError):
    reason = "invalid_auth"


class InvalidValue(FieldError):
    """A field with the wrong type or outside its allowed values."""


class BodyTooLarge(PushgateError):
    """The request body is over the 64 KiB limit of docs/api.md §6."""


class MalformedBody(PushgateError):
    """A body that cannot be parsed as what its Content-Type says."""


class OwnedByAnotherUser(PushgateError):
    """The endpoint or token is held by another user of the app, and the caller did not prove the
    same browser (docs/api.md §6, ownership)."""


class NotFound(PushgateError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} not found")
        self.what = what


class ConcurrentUpdate(PushgateError):
    """Optimistic concurrency lost too many times in a row; safe for the client to retry."""


class UnknownDeviceToken(PushgateError):
    """docs/api.md §4: the token is not an active subscription of this app."""


class InvalidCursor(PushgateError):
    """A pagination cursor that this server did not hand out for this listing."""


class PayloadTooLarge(PushgateError):
    """The push would not fit a provider: the Web Push payload over 3993 bytes of plaintext (RFC 8291
    §4, docs/api.md §4), or the FCM message or APNs payload over 4096 bytes (5120 for VoIP)."""


class RateLimited(PushgateError):
    """The app is over its request rate for this API group (docs/limits.md); `retry_after` is in
    whole seconds, for the Retry-After header."""

    def __init__(self, group: str, retry_after: int) -> None:
        super().__init__(f"rate limited ({group})")
        self.group = group
        self.retry_after = retry_after
