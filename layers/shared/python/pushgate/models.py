"""Domain models. Secrets never appear in a repr: endpoints, keys and tokens are repr=False."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class SubscriptionStatus(StrEnum):
    ACTIVE = "ACTIVE"
    REMOVED = "REMOVED"  # the user unsubscribed (soft delete)
    EXPIRED = "EXPIRED"  # the push service answered 404/410


class DeviceType(StrEnum):
    WEB = "web"
    IOS = "ios"
    IOS_VOIP = "ios-voip"
    ANDROID = "android"
    FCM = "fcm"


class ChannelType(StrEnum):
    WEBPUSH = "webpush"
    FCM = "fcm"
    APNS = "apns"


class ApnsEnvironment(StrEnum):
    PRODUCTION = "production"
    SANDBOX = "sandbox"


# Which channel of its app a device is delivered through (fan-out picks it by the device's type).
CHANNEL_FOR_DEVICE = {
    DeviceType.WEB: ChannelType.WEBPUSH,
    DeviceType.ANDROID: ChannelType.FCM,
    DeviceType.FCM: ChannelType.FCM,
    DeviceType.IOS: ChannelType.APNS,
    DeviceType.IOS_VOIP: ChannelType.APNS,
}


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class RateLimits(_Model):
    """An app's own request rates (requests per second) where they differ from the deployment's
    (docs/limits.md); None: the deployment's rate for that group."""

    send: float | None = None
    subscribe: float | None = None


class App(_Model):
    app_id: str
    name: str
    account_id: int
    secret_key_hash: str = Field(repr=False)
    public_key_hash: str = Field(repr=False)
    user_token_keys: tuple[str, ...] = Field(default=(), repr=False)
    webpush_channel_id: str
    created_at: int
    # Set only by `pushgate app limits` (repository.limits), never written with the app's other fields.
    rate_limits: RateLimits = Field(default_factory=RateLimits, exclude=True)


class Channel(_Model):
    """A delivery provider's credentials for one app. The private part (VAPID key, service-account
    key, .p8 key) lives in SSM under `private_key_parameter`; the row holds only what is public."""

    channel_id: str
    app_id: str
    type: ChannelType
    created_at: int
    # webpush
    vapid_public_key: str | None = None
    vapid_private_key_parameter: str | None = None
    # fcm: from the service-account file
    fcm_project_id: str | None = None
    fcm_client_email: str | None = None
    fcm_private_key_id: str | None = None
    # apns: token-based authentication
    apns_key_id: str | None = None
    apns_team_id: str | None = None
    apns_bundle_id: str | None = None
    apns_environment: ApnsEnvironment | None = None
    # fcm and apns: the SSM SecureString holding the private key (PEM)
    private_key_parameter: str | None = None

    @property
    def secret_parameter(self) -> str | None:
        return self.vapid_private_key_parameter if self.type is ChannelType.WEBPUSH else self.private_key_parameter


class Session(_Model):
    app_id: str
    user_id: str
    account_id: int
    expires_at: int


class Caller(_Model):
    """An authenticated end user of an app."""

    app: App
    user_id: str


class WebPushKeys(_Model):
    p256dh: str = Field(repr=False)
    auth: str = Field(repr=False)


class Device(_Model):
    """One push subscription: a browser's Web Push endpoint or a native device token.

    The same endpoint is the same record whichever surface registered it (docs/api.md §6)."""

    app_id: str
    token_hash: str
    token: str = Field(repr=False)  # the endpoint URL for web, the platform token otherwise
    type: DeviceType
    user_id: str
    status: SubscriptionStatus
    subscription_id: int
    keys: WebPushKeys | None = None
    channel_id: str | None = None
    device_id: str | None = None
    created_at: int
    updated_at: int
    version: int = 1
    last_success_at: int | None = None
    last_failure_at: int | None = None
    failure_count: int = 0

    @property
    def active(self) -> bool:
        return self.status is SubscriptionStatus.ACTIVE


class Connection(_Model):
    """A WebSocket connection (docs/api.md §1): open once the app key is valid, authenticated once a
    session or user JWT has been presented."""

    connection_id: str
    app_id: str
    user_id: str | None = None
    connected_at: int
    expires_at: int
