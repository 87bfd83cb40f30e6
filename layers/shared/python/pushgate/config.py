"""Deployment settings, read once from the environment so a missing variable fails at init."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def _host_list(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip().lower() for part in (value or "").split(",") if part.strip())


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
        )


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()
