"""Registering and removing subscriptions, with the ownership rule of docs/api.md §6.

Every surface (WebSocket, account API, device API, channel API) comes through here, so the same
endpoint or native token is the same record whichever door it came in by."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

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
from pushgate.observability import app_metrics
from pushgate.repository import ConditionFailed, Repository
from pushgate.validation import (
    MAX_ENDPOINT_LENGTH,
    MAX_KEY_FIELD_LENGTH,
    EndpointPolicy,
    check_auth_secret,
    check_p256dh,
)

if TYPE_CHECKING:
    from pushgate.services.device_cap import DeviceCap

MAX_ATTEMPTS = 5
# Per app (observability.AppMetrics): subscriptions newly active for a user, whichever surface,
# and the ones a user or the app removed (unsubscribed, replaced by a new token, erased).
CREATED_METRIC = "SubscriptionsCreated"
REMOVED_METRIC = "SubscriptionsRemoved"
MAX_NATIVE_TOKEN_LENGTH = 4096
MAX_DEVICE_ID_LENGTH = 256
_NATIVE_TOKEN = re.compile(r"^[\x21-\x7e]+\Z")  # \Z: "$" also matches before a final newline
_INVALID = {"endpoint": InvalidEndpoint, "p256dh": InvalidP256dh, "auth": InvalidAuthSecret}


def policy_error(field: str) -> FieldError:
    """A non-string value is reported as that field being invalid."""
    return _INVALID[field](field, "must be a string")


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
        for name, value in fields.items():
            if not isinstance(value, str):
                raise policy_error(name)
        policy.check(endpoint)  # type: ignore[arg-type]
        return cls(endpoint, WebPushKeys(p256dh=check_p256dh(p256dh), auth=check_auth_secret(auth)))  # type: ignore[arg-type]


def check_native_token(token: object, field: str = "token") -> str:
    if token is None or token == "":
        raise FieldMissing(field)
    if not isinstance(token, str) or not _NATIVE_TOKEN.match(token):
        raise InvalidValue(field, "printable characters without spaces")
    if len(token) > MAX_NATIVE_TOKEN_LENGTH:
        raise FieldTooLong(field)
    return token


def check_device_id(device_id: object, field: str = "deviceId") -> str:
    if device_id is None or device_id == "":
        raise FieldMissing(field)
    if not isinstance(device_id, str) or not device_id.isprintable():
        raise InvalidValue(field, "a string of printable characters")
    if len(device_id) > MAX_DEVICE_ID_LENGTH:
        raise FieldTooLong(field)
    return device_id


def check_unsubscribe_endpoint(endpoint: object, field: str = "endpoint") -> str:
    """Only presence and length: an endpoint that was never valid simply matches nothing."""
    if endpoint is None or endpoint == "":
        raise FieldMissing(field)
    if not isinstance(endpoint, str):
        raise InvalidValue(field, "must be a string")
    if len(endpoint) > MAX_ENDPOINT_LENGTH:
        raise FieldTooLong(field)
    return endpoint


@dataclass(frozen=True)
class Registration:
    """What a client registers: a web subscription (token = endpoint, with keys) or a native token."""

    type: DeviceType
    token: str
    keys: WebPushKeys | None = None
    channel_id: str | None = None
    device_id: str | None = None

    @classmethod
    def web(cls, subscription: WebSubscription, channel_id: str | None = None, device_id: str | None = None) -> "Registration":
        return cls(DeviceType.WEB, subscription.endpoint, subscription.keys, channel_id, device_id)


@dataclass(frozen=True)
class Registered:
    device: Device
    created: bool  # False when the caller already held this subscription, active


def device_pointer_hash(user_id: str, device_type: DeviceType, device_id: str) -> str:
    return hashlib.sha256("\x00".join((user_id, device_type.value, device_id)).encode()).hexdigest()


class SubscriptionService:
    def __init__(self, repository: Repository, policy: EndpointPolicy, clock: Callable[[], float] = time.time,
                 device_cap: DeviceCap | None = None) -> None:
        self._repository = repository
        self.policy = policy
        self._clock = clock
        self._device_cap = device_cap  # None: no cap (tests of other things)

    # -- registering ---------------------------------------------------------------------------

    def register(self, caller: Caller, registration: Registration, enforce_cap: bool = True) -> Registered:
        """Create, reactivate, refresh or (same browser only) move the subscription; a device newly
        active for the caller may evict their oldest over the cap (services.device_cap)."""
        app_id, key = caller.app.app_id, token_hash(registration.token)
        for _ in range(MAX_ATTEMPTS):
            current = self._repository.get_device(app_id, key)
            held_by_caller = current is not None and current.active and current.user_id == caller.user_id
            if current is not None and current.active and current.user_id != caller.user_id:
                # Only the same browser (identical keys) may move; native tokens cannot prove it.
                if current.keys is None or current.keys != registration.keys:
                    raise OwnedByAnotherUser()
            now = int(self._clock())
            device = Device(
                app_id=app_id,
                token_hash=key,
                token=registration.token,
                type=registration.type,
                user_id=caller.user_id,
                status=SubscriptionStatus.ACTIVE,
                subscription_id=current.subscription_id if current else self._repository.next_subscription_id(app_id),
                keys=registration.keys,
                channel_id=registration.channel_id or (current.channel_id if current else None) or self._default_channel(caller, registration),
                device_id=registration.device_id or (current.device_id if current and current.user_id == caller.user_id else None),
                created_at=current.created_at if current else now,
                updated_at=now,
                version=current.version + 1 if current else 1,
            )
            try:
                self._repository.save_device(device, expected_version=current.version if current else None)
            except ConditionFailed:
                continue  # someone changed it between our read and write: decide again on fresh state
            # Fan-out reads the edges instead of the device: they carry its keys, and its user for skip_online.
            if current is not None and (current.keys != device.keys or current.type != device.type or current.user_id != device.user_id):
                self._repository.refresh_topic_edges(device)
            if enforce_cap and not held_by_caller:
                self._enforce_cap(device)
            if not held_by_caller:
                app_metrics.add(app_id, CREATED_METRIC)
            return Registered(device, created=not held_by_caller)
        raise ConcurrentUpdate()

    def _enforce_cap(self, device: Device, gone: tuple[str, ...] = ()) -> None:
        if self._device_cap is not None:
            self._device_cap.enforce(device, gone)

    @staticmethod
    def _default_channel(caller: Caller, registration: Registration) -> str | None:
        return caller.app.webpush_channel_id if registration.type is DeviceType.WEB else None

    def subscribe_web(self, caller: Caller, subscription: WebSubscription) -> Device:
        return self.register(caller, Registration.web(subscription)).device

    def register_in_channel(self, caller: Caller, subscription: WebSubscription, channel_id: str) -> Registered:
        return self.register(caller, Registration.web(subscription, channel_id))

    def subscribe_device(self, caller: Caller, registration: Registration) -> Device:
        """docs/api.md §3: one record per (user, type, deviceId); re-subscribing replaces its token."""
        assert registration.device_id is not None
        pointer = device_pointer_hash(caller.user_id, registration.type, registration.device_id)
        newly_active = False  # over every attempt: a retry finds the device already the caller's
        for _ in range(MAX_ATTEMPTS):
            previous = self._repository.get_device_pointer(caller.app.app_id, pointer)
            # The cap is counted once the deviceId's old token is gone: a new token replaces it.
            registered = self.register(caller, registration, enforce_cap=False)
            device, newly_active = registered.device, newly_active or registered.created
            if previous == device.token_hash:
                if newly_active:
                    self._enforce_cap(device)
                return device
            try:
                self._repository.set_device_pointer(caller.app.app_id, pointer, device.token_hash, expected=previous)
            except ConditionFailed:
                continue  # a concurrent subscribe of the same deviceId moved the pointer: go again
            replaced = previous is not None and self._deactivate(caller, previous, only_device_id=registration.device_id)
            if newly_active:
                self._enforce_cap(device, gone=(previous,) if replaced else ())
            return device
        raise ConcurrentUpdate()

    # -- removing ------------------------------------------------------------------------------

    def _deactivate(self, caller: Caller, key: str, only_device_id: str | None = None,
                    status: SubscriptionStatus = SubscriptionStatus.REMOVED) -> bool:
        """Soft-delete the caller's active subscription and drop its topics. False when there was
        nothing of the caller's to remove (absent, inactive, another user's)."""
        app_id = caller.app.app_id
        if only_device_id is not None:
            current = self._repository.get_device(app_id, key)
            if current is None or current.device_id != only_device_id:
                return False  # the old token now serves another deviceId: leave it
        if not self._repository.set_device_status(app_id, key, caller.user_id, status, int(self._clock())):
            return False
        app_metrics.add(app_id, REMOVED_METRIC)
        for topic in self._repository.device_topics(app_id, key):
            self._repository.remove_topic(app_id, key, topic)
        return True

    def unsubscribe_token(self, caller: Caller, token: str) -> bool:
        return self._deactivate(caller, token_hash(token))

    def unsubscribe_web(self, caller: Caller, endpoint: str) -> bool:
        return self.unsubscribe_token(caller, endpoint)

    def unsubscribe_device(self, caller: Caller, device_type: DeviceType, device_id: str) -> int:
        """docs/api.md §3: the number of records removed (0 or 1); idempotent."""
        pointer = device_pointer_hash(caller.user_id, device_type, device_id)
        key = self._repository.get_device_pointer(caller.app.app_id, pointer)
        if key is None:
            return 0
        removed = self._deactivate(caller, key, only_device_id=device_id)
        self._repository.delete_device_pointer(caller.app.app_id, pointer, expected=key)
        return 1 if removed else 0

    # -- reading -------------------------------------------------------------------------------

    def active_for_user(self, caller: Caller, channel_id: str | None = None) -> list[Device]:
        devices = self._repository.user_devices(caller.app.app_id, caller.user_id)
        return [d for d in devices if d.active and (channel_id is None or d.channel_id == channel_id)]
