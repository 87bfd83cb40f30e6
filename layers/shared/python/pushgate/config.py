"""Deployment settings, read once from the environment so a missing variable fails at init."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _rate(value: str | None) -> float:
    """Requests per second; 0 (or unset) is no limit (docs/limits.md)."""
    rate = float(value) if value and value.strip() else 0.0
    if not 0 <= rate <= 1000:
        raise ValueError(f"a request rate is 0 (off) to 1000 per second, not {value!r}")
    return rate


def _host_list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in (value or "").split(",") if part.strip())


def _app_list(value: str | None) -> tuple[str, ...]:
    """PUSHGATE_METRICS_APPS: app ids, comma-separated (CloudFormation joins a list that way)."""
    return tuple(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))


def _device_cap(value: str | None, default: int) -> int:
    cap = int(value) if value and value.strip() else default
    if cap < 1:
        raise ValueError(f"PUSHGATE_MAX_DEVICES_PER_USER must be at least 1, not {value!r}")
    return cap


@dataclass(frozen=True)
class Settings:
    table_name: str
    stage: str = "dev"
    ssm_prefix: str = "/pushgate/dev"
    extra_push_hosts: tuple[str, ...] = field(default_factory=tuple)
    development_mode: bool = False
    fanout_queue_url: str | None = None
    delivery_queue_url: str | None = None
    delivery_dead_letter_queue_url: str | None = None
    fcm_delivery_queue_url: str | None = None  # fan-out: where android and fcm devices go
    apns_delivery_queue_url: str | None = None  # fan-out: where ios and ios-voip devices go
    provider_urls: str = ""  # PUSHGATE_PROVIDER_URLS (pushgate.delivery.provider_urls); empty in production
    provider_ca_file: str | None = None  # a CA the native senders trust besides the public ones (fakes only)
    vapid_subject: str = "mailto:push@example.com"
    success_stamp_seconds: int = 604_800  # a week: services/delivery.SUCCESS_STAMP_WINDOW_SECONDS
    max_devices_per_user: int = 20  # services/device_cap; an app's own cap on its record wins
    stale_warning_push: bool = False  # the stale sweep warns devices a week before they expire
    # Per-app request rates (docs/limits.md); 0 is no limit. template.yaml gives every function
    # SendRatePerSecond and SubscribeRatePerSecond (100 and 50 by default), so only code run
    # outside a deployment (the CLI, tests of other things) goes unlimited.
    send_rate_per_second: float = 0.0
    subscribe_rate_per_second: float = 0.0
    # The apps whose metrics get an `app` dimension value of their own; all others share
    # app=other (pushgate.observability.AppMetrics, template.yaml's MetricsApps).
    metrics_apps: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, environ: os._Environ[str] | dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        stage = env.get("PUSHGATE_STAGE", "dev")
        return cls(
            table_name=env["TABLE_NAME"],
            stage=stage,
            ssm_prefix=env.get("PUSHGATE_SSM_PREFIX", f"/pushgate/{stage}").rstrip("/"),
            extra_push_hosts=_host_list(env.get("PUSHGATE_EXTRA_PUSH_HOSTS")),
            development_mode=_flag(env.get("PUSHGATE_DEVELOPMENT_MODE")),
            fanout_queue_url=env.get("FANOUT_QUEUE_URL") or None,
            delivery_queue_url=env.get("DELIVERY_QUEUE_URL") or None,
            delivery_dead_letter_queue_url=env.get("DELIVERY_DLQ_URL") or None,
            fcm_delivery_queue_url=env.get("FCM_DELIVERY_QUEUE_URL") or None,
            apns_delivery_queue_url=env.get("APNS_DELIVERY_QUEUE_URL") or None,
            provider_urls=env.get("PUSHGATE_PROVIDER_URLS", "").strip(),
            provider_ca_file=env.get("PUSHGATE_PROVIDER_CA_FILE") or None,
            vapid_subject=env.get("PUSHGATE_VAPID_SUBJECT") or "mailto:push@example.com",
            success_stamp_seconds=int(env.get("PUSHGATE_SUCCESS_STAMP_SECONDS") or 604_800),
            max_devices_per_user=_device_cap(env.get("PUSHGATE_MAX_DEVICES_PER_USER"), 20),
            stale_warning_push=_flag(env.get("PUSHGATE_STALE_WARNING_PUSH")),
            send_rate_per_second=_rate(env.get("PUSHGATE_SEND_RATE_PER_SECOND")),
            subscribe_rate_per_second=_rate(env.get("PUSHGATE_SUBSCRIBE_RATE_PER_SECOND")),
            metrics_apps=_app_list(env.get("PUSHGATE_METRICS_APPS")),
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
