"""Turning each surface's request fields into the core's inputs (field names as clients send them)."""

from __future__ import annotations

from typing import Any

from pushgate.errors import FieldMissing, InvalidValue
from pushgate.http.request import query_params
from pushgate.models import DeviceType
from pushgate.services.subscriptions import Registration, WebSubscription, check_device_id, check_native_token
from pushgate.validation import EndpointPolicy


def lower_headers(event: dict[str, Any]) -> dict[str, str]:
    return {k.lower(): v for k, v in (event.get("headers") or {}).items()}


def device_type(value: object) -> DeviceType:
    try:
        return DeviceType(value)
    except ValueError as error:
        raise InvalidValue("type", "one of ios, ios-voip, android, fcm, web") from error


def device_target(body: dict[str, Any]) -> tuple[DeviceType, str]:
    """type and deviceId, both required (docs/api.md §3 MISSING_PARAMETER when either is absent)."""
    if body.get("type") in (None, "") or body.get("deviceId") in (None, ""):
        raise FieldMissing("type" if body.get("type") in (None, "") else "deviceId")
    return device_type(body["type"]), check_device_id(body["deviceId"])


def web_subscription(policy: EndpointPolicy, subscription: object) -> WebSubscription:
    """A browser's PushSubscription.toJSON(): {endpoint, keys: {p256dh, auth}}."""
    if subscription is None:
        raise FieldMissing("subscription")
    if not isinstance(subscription, dict):
        raise InvalidValue("subscription", "an object")
    keys = subscription.get("keys")
    keys = keys if isinstance(keys, dict) else {}
    return WebSubscription.parse(policy, subscription.get("endpoint"), keys.get("p256dh"), keys.get("auth"))


def device_registration(policy: EndpointPolicy, body: dict[str, Any]) -> Registration:
    kind, device_id = device_target(body)
    if kind is DeviceType.WEB:
        return Registration.web(web_subscription(policy, body.get("subscription")), device_id=device_id)
    return Registration(type=kind, token=check_native_token(body.get("token")), device_id=device_id)


def api_key(event: dict[str, Any]) -> object:
    """The secret key of the server-side API (docs/api.md §4): `?api_key=`."""
    return query_params(event).get("api_key")
