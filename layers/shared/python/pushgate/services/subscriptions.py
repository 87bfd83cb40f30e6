"""Registering and removing Web Push subscriptions, with the ownership rule of CONTRACT §6.

Every surface (WebSocket, account API, device API, channel API) comes through here, so the same
endpoint is the same record whichever door it came in by."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pushgate.errors import (
    ConcurrentUpdate,
    FieldError,
    FieldMissing,
    FieldTooLong,
    InvalidAuthSecret,
    InvalidEndpoint,
    InvalidP256dh,
    InvalidValue,
    OwnedByAnotherUser,
)
from pushgate.identifiers import token_hash
from pushgate.models import Caller, Device, DeviceType, SubscriptionStatus, WebPushKeys
from pushgate.repository import ConditionFailed, Repository
from pushgate.validation import (
    MAX_ENDPOINT_LENGTH,
    MAX_KEY_FIELD_LENGTH,
    EndpointPolicy,
    check_auth_secret,
    check_p256dh,
)

MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class WebSubscription:
    endpoint: str
    keys: WebPushKeys

    @classmethod
    def parse(cls, policy: EndpointPolicy, endpoint: object, p256dh: object, auth: object) -> "WebSubscription":
        """Checks in the order clients are told about them: every required field first, then every
        length, then validity (so the first error reported is the most basic one)."""
        fields = {"endpoint": endpoint, "p256dh": p256dh, "auth": auth}
        for name, value in fields.items():
            if value is None or value == "":
                raise FieldMissing(name)
        for name, value in fields.items():
            limit = MAX_ENDPOINT_LENGTH if name == "endpoint" else MAX_KEY_FIELD_LENGTH
            if isinstance(value, str) and len(value) > limit:
                raise FieldTooLong(name)
        if not isinstance(endpoint, str):
            raise policy_error("endpoint")
        policy.check(endpoint)
        for name in ("p256dh", "auth"):
            if not isinstance(fields[name], str):
                raise policy_error(name)
        return cls(endpoint, WebPushKeys(p256dh=check_p256dh(p256dh), auth=check_auth_secret(auth)))  # type: ignore[arg-type]


_INVALID = {"endpoint": InvalidEndpoint, "p256dh": InvalidP256dh, "auth": InvalidAuthSecret}


def policy_error(field: str) -> FieldError:
    """A non-string value is reported as that field being invalid."""
    return _INVALID[field](field, "must be a string")


def check_unsubscribe_endpoint(endpoint: object) -> str:
    if endpoint is None or endpoint == "":
        raise FieldMissing("endpoint")
    if not isinstance(endpoint, str):
        raise InvalidValue("endpoint", "must be a string")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise FieldTooLong("endpoint")
    return endpoint


class SubscriptionService:
    def __init__(self, repository: Repository, policy: EndpointPolicy, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self.policy = policy
        self._clock = clock

    def subscribe_web(self, caller: Caller, subscription: WebSubscription) -> Device:
        """Create, reactivate or (same browser only) move the subscription; returns it as stored."""
        app_id, key = caller.app.app_id, token_hash(subscription.endpoint)
        for _ in range(MAX_ATTEMPTS):
            current = self._repository.get_device(app_id, key)
            if current is not None and current.active and current.user_id != caller.user_id:
                if current.keys != subscription.keys:
                    raise OwnedByAnotherUser()
            now = int(self._clock())
            device = Device(
                app_id=app_id,
                token_hash=key,
                token=subscription.endpoint,
                type=DeviceType.WEB,
                user_id=caller.user_id,
                status=SubscriptionStatus.ACTIVE,
                subscription_id=current.subscription_id if current else self._repository.next_subscription_id(app_id),
                keys=subscription.keys,
                channel_id=caller.app.webpush_channel_id,
                device_id=current.device_id if current and current.user_id == caller.user_id else None,
                created_at=current.created_at if current else now,
                updated_at=now,
                version=current.version + 1 if current else 1,
            )
            try:
                self._repository.save_device(device, expected_version=current.version if current else None)
            except ConditionFailed:
                continue  # someone changed it between our read and write: decide again on fresh state
            return device
        raise ConcurrentUpdate()

    def unsubscribe_web(self, caller: Caller, endpoint: str) -> bool:
        """Soft-delete the caller's subscription; False (and nothing changed) when the caller holds
        no active subscription for that endpoint."""
        return self._repository.set_device_status(
            caller.app.app_id, token_hash(endpoint), caller.user_id, SubscriptionStatus.REMOVED, int(self._clock())
        )
