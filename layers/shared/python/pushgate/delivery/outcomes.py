"""What a provider's answer means for the subscription and the message (docs/api.md §7): one table
for the three senders. Web Push is classified by status; FCM and APNs name a reason, which wins
over the status. Only a provider's word that the token is dead prunes (404/410, FCM UNREGISTERED,
APNs Unregistered/BadDeviceToken): a 400/401/403 is almost always our own credential or header
bug, and pruning on it would wipe every subscription at once."""

from __future__ import annotations

import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any


class OutcomeKind(StrEnum):
    SENT = "sent"  # 2xx: accepted by the push service (not necessarily delivered yet)
    GONE = "gone"  # 404/410: the subscription is dead; prune it
    RATE_LIMITED = "rate_limited"  # 429: retry no sooner than retry_after
    RETRY = "retry"  # 5xx, 408, timeout, connection error: retry with backoff
    REJECTED = "rejected"  # 400/401/403 and other 4xx: never prune; dead-letter and alarm
    TOO_LARGE = "too_large"  # 413: our payload bug; failed, not retried
    REDIRECTED = "redirected"  # 3xx: never followed; failure and alarm
    INVALID_SUBSCRIPTION = "invalid_subscription"  # stored p256dh/auth unusable; no request made
    BLOCKED = "blocked"  # the endpoint fails the endpoint policy; no request made
    INVALID_REQUEST = "invalid_request"  # FCM INVALID_ARGUMENT: failed, not retried, not pruned


RETRYABLE = frozenset({OutcomeKind.RATE_LIMITED, OutcomeKind.RETRY})
# Our side is broken (VAPID, headers, payload size, a push service moved): count it and raise an alarm.
ALARMING = frozenset({OutcomeKind.REJECTED, OutcomeKind.REDIRECTED, OutcomeKind.TOO_LARGE})


@dataclass(frozen=True)
class DeliveryOutcome:
    """The result of one delivery. `endpoint_id` is `log_id(endpoint)`; no field holds a secret."""

    kind: OutcomeKind
    endpoint_id: str
    status_code: int | None = None
    retry_after: float | None = None  # seconds, from Retry-After (429, and 503 when present)
    detail: str = ""  # safe to log: a status reason or an exception class name

    @property
    def retryable(self) -> bool:
        return self.kind in RETRYABLE

    @property
    def prune(self) -> bool:
        return self.kind is OutcomeKind.GONE

    @property
    def alarm(self) -> bool:
        return self.kind in ALARMING


def kind_for_status(status: int) -> OutcomeKind:
    if 200 <= status < 300:
        return OutcomeKind.SENT
    if 300 <= status < 400:
        return OutcomeKind.REDIRECTED
    if status in (404, 410):
        return OutcomeKind.GONE
    if status == 413:
        return OutcomeKind.TOO_LARGE
    if status == 429:
        return OutcomeKind.RATE_LIMITED
    if status == 408 or status >= 500:
        return OutcomeKind.RETRY
    if 400 <= status < 500:
        return OutcomeKind.REJECTED
    return OutcomeKind.RETRY  # 1xx or nonsense: nothing was accepted, nothing proves the subscription dead


class Provider(StrEnum):
    WEBPUSH = "webpush"
    FCM = "fcm"
    APNS = "apns"


# The reasons FCM HTTP v1 (error.details[].errorCode, else error.status) and APNs ({"reason"}) give.
# A reason not listed here is classified by its HTTP status.
PROVIDER_REASONS: dict[tuple[Provider, str], OutcomeKind] = {
    (Provider.FCM, "UNREGISTERED"): OutcomeKind.GONE,
    (Provider.FCM, "INVALID_ARGUMENT"): OutcomeKind.INVALID_REQUEST,
    (Provider.FCM, "SENDER_ID_MISMATCH"): OutcomeKind.REJECTED,
    (Provider.FCM, "THIRD_PARTY_AUTH_ERROR"): OutcomeKind.REJECTED,
    (Provider.FCM, "PERMISSION_DENIED"): OutcomeKind.REJECTED,
    (Provider.FCM, "UNAUTHENTICATED"): OutcomeKind.REJECTED,
    (Provider.FCM, "QUOTA_EXCEEDED"): OutcomeKind.RATE_LIMITED,
    (Provider.FCM, "RESOURCE_EXHAUSTED"): OutcomeKind.RATE_LIMITED,
    (Provider.FCM, "UNAVAILABLE"): OutcomeKind.RETRY,
    (Provider.FCM, "INTERNAL"): OutcomeKind.RETRY,
    (Provider.APNS, "Unregistered"): OutcomeKind.GONE,
    (Provider.APNS, "BadDeviceToken"): OutcomeKind.GONE,
    (Provider.APNS, "DeviceTokenNotForTopic"): OutcomeKind.REJECTED,
    (Provider.APNS, "TopicDisallowed"): OutcomeKind.REJECTED,
    (Provider.APNS, "BadTopic"): OutcomeKind.REJECTED,
    (Provider.APNS, "MissingTopic"): OutcomeKind.REJECTED,
    (Provider.APNS, "InvalidProviderToken"): OutcomeKind.REJECTED,
    (Provider.APNS, "MissingProviderToken"): OutcomeKind.REJECTED,
    (Provider.APNS, "ExpiredProviderToken"): OutcomeKind.REJECTED,  # the sender re-signs once first
    (Provider.APNS, "TooManyProviderTokenUpdates"): OutcomeKind.REJECTED,
    (Provider.APNS, "BadCertificate"): OutcomeKind.REJECTED,
    (Provider.APNS, "Forbidden"): OutcomeKind.REJECTED,
    (Provider.APNS, "BadPath"): OutcomeKind.REJECTED,  # a 404 about our URL, not about the device
    (Provider.APNS, "PayloadTooLarge"): OutcomeKind.TOO_LARGE,
    (Provider.APNS, "PayloadEmpty"): OutcomeKind.TOO_LARGE,
    (Provider.APNS, "TooManyRequests"): OutcomeKind.RATE_LIMITED,
    (Provider.APNS, "InternalServerError"): OutcomeKind.RETRY,
    (Provider.APNS, "ServiceUnavailable"): OutcomeKind.RETRY,
    (Provider.APNS, "Shutdown"): OutcomeKind.RETRY,
    (Provider.APNS, "IdleTimeout"): OutcomeKind.RETRY,
}


def outcome_for_provider(
    provider: Provider, status: int, reason: str | None, endpoint_id: str, retry_after: str | None = None, now: float | None = None
) -> DeliveryOutcome:
    """A native provider's answer: its reason if the table knows it, else its status. `detail`
    keeps the reason (a fixed vocabulary, safe to log and to show in failed counts)."""
    kind = PROVIDER_REASONS.get((provider, reason or ""), None) or kind_for_status(status)
    if kind is OutcomeKind.GONE and (provider, reason or "") not in PROVIDER_REASONS:
        # Only the provider's own word that the token is dead prunes: a bare 404 may be about our
        # URL (a wrong base URL in the deployment), and pruning on it would empty the app.
        kind = OutcomeKind.REJECTED
    seconds = parse_retry_after(retry_after, now) if kind in RETRYABLE else None
    return DeliveryOutcome(kind, endpoint_id, status, seconds, detail=reason or f"HTTP {status}")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value) if len(value) <= 10 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # an HTTP-date is always GMT
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def outcome_for_response(response: Any, endpoint_id: str, now: float | None = None) -> DeliveryOutcome:
    """Classify anything with `.status_code` and `.headers` (a requests.Response or our transport's).
    Never `if response:` - a requests.Response is falsy for every 4xx/5xx (pywebpush #168)."""
    status = int(response.status_code)
    kind = kind_for_status(status)
    retry_after = parse_retry_after(response.headers.get("Retry-After"), now) if kind in RETRYABLE else None
    return DeliveryOutcome(kind, endpoint_id, status, retry_after, detail=f"HTTP {status}")


def outcome_for_exception(exc: BaseException, endpoint_id: str, now: float | None = None) -> DeliveryOutcome:
    """An exception raised while sending. One that carries a response (requests.HTTPError,
    pywebpush.WebPushException) is classified by that response; the rest (timeouts, refused or
    reset connections, TLS failures) are transient. Only the class name is kept: exception texts
    of HTTP libraries quote the URL, whose path is the subscription's secret."""
    response = getattr(exc, "response", None)
    if response is not None and getattr(response, "status_code", None) is not None:
        return outcome_for_response(response, endpoint_id, now)
    return DeliveryOutcome(OutcomeKind.RETRY, endpoint_id, detail=type(exc).__name__)
