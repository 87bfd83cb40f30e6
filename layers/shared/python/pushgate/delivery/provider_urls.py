"""Where the native providers are. Fixed in code for production; a deployment may point them
elsewhere (the local stack's and the tests' loopback fakes) only through its own configuration,
PUSHGATE_PROVIDER_URLS, never through anything a client or a channel's credentials say."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

FCM = "fcm"
FCM_TOKEN = "fcm-token"
APNS = "apns"
APNS_SANDBOX = "apns-sandbox"

PRODUCTION: Mapping[str, str] = {
    FCM: "https://fcm.googleapis.com",
    FCM_TOKEN: "https://oauth2.googleapis.com/token",
    APNS: "https://api.push.apple.com",
    APNS_SANDBOX: "https://api.sandbox.push.apple.com",
}


def parse_overrides(setting: str | None) -> dict[str, str]:
    """`name=https://host[:port][/path]`, comma-separated, names from PRODUCTION. Anything else
    fails at start, not at the first delivery."""
    overrides: dict[str, str] = {}
    for entry in (setting or "").split(","):
        if not entry.strip():
            continue
        name, _, url = entry.strip().partition("=")
        name, url = name.strip(), url.strip()
        if name not in PRODUCTION:
            raise ValueError(f"PUSHGATE_PROVIDER_URLS: unknown provider {name!r} (known: {', '.join(PRODUCTION)})")
        parts = urlsplit(url)
        if parts.scheme != "https" or not parts.hostname or parts.username or parts.query or parts.fragment:
            raise ValueError(f"PUSHGATE_PROVIDER_URLS: {name} must be an https URL without user-info, query or fragment")
        overrides[name] = url.rstrip("/")
    return overrides


def provider_urls(setting: str | None) -> dict[str, str]:
    return {**PRODUCTION, **parse_overrides(setting)}
