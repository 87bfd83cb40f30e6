"""The demo app of the local stack: created once through the shared core (the same AppService the
operator CLI uses), its credentials kept in <data dir>/demo.json, and on every start a fresh
session and a request that works as pasted."""

from __future__ import annotations

import json
import os
import secrets
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pushgate.models import App
from pushgate.services.apps import AppService
from pushgate.validation import b64url_encode
from pushgate.wiring import Services

DEMO_FILE = "demo.json"
DEMO_APP_NAME = "demo"
DEMO_USER = "demo-user"


@dataclass(frozen=True)
class DemoApp:
    app: App
    credentials: dict[str, Any]
    created_now: bool


def ensure_demo_app(services: Services, apps: AppService, data_dir: Path) -> DemoApp:
    """The demo app of an earlier start if its data survived, else a new one."""
    path = data_dir / DEMO_FILE
    if path.exists():
        credentials = json.loads(path.read_text(encoding="utf-8"))
        app = services.repository.get_app(credentials["app_id"])
        if app is not None:
            return DemoApp(app, credentials, created_now=False)
    created = apps.create_app(DEMO_APP_NAME)
    credentials = created.credentials()
    data_dir.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(credentials, indent=2) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)  # a secret key and a private key
    return DemoApp(created.app, credentials, created_now=True)


def demo_credentials(data_dir: Path) -> dict[str, Any]:
    """The demo app's credentials as ensure_demo_app kept them (read by the local demo routes)."""
    return json.loads((data_dir / DEMO_FILE).read_text(encoding="utf-8"))


def _example_browser_keys() -> tuple[str, str]:
    """A real P-256 public key and auth secret, as a browser's PushSubscription carries them."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return b64url_encode(point), b64url_encode(secrets.token_bytes(16))


def subscribe_example(http_url: str, account_id: int, session_id: str) -> str:
    p256dh, auth = _example_browser_keys()
    query = urlencode(
        {
            "session_id": session_id,
            "endpoint": f"https://fcm.googleapis.com/fcm/send/demo-{secrets.token_urlsafe(12)}",
            "key_p256dh": p256dh,
            "key_auth": auth,
        }
    )
    return f"curl '{http_url}/{account_id}/push_subscribe?{query}'"


def websocket_example(ws_url: str, public_key: str, session_id: str) -> str:
    """The websockets library's interactive client (in the virtualenv), connected as the demo user."""
    query = urlencode({"key": public_key, "token": session_id})
    return f"{shlex.quote(sys.executable)} -m websockets '{ws_url}/?{query}'"


def banner(
    demo: DemoApp,
    session_id: str,
    session_expires_at: int,
    urls: dict[str, str],
    data_dir: Path,
    demo_channels: dict[str, str] | None = None,
) -> str:
    credentials = demo.credentials
    channel = credentials["channels"][0]
    origin = "created now" if demo.created_now else "from an earlier start"
    return "\n".join(
        [
            "",
            "pushgate local stack is running",
            f"  HTTP API          {urls['http_url']}   (PUSHGATE_HTTP_PORT)",
            f"  WebSocket API     {urls['ws_url']}   (PUSHGATE_WS_PORT)",
            f"  AWS endpoint      {urls['aws_endpoint_url']}   (AWS_ENDPOINT_URL for boto3 and the aws CLI)",
            f"  stack discovery   {urls['http_url']}/_pushgate/local",
            f"  demo page         {urls['http_url']}/demo/   (subscribe this browser, push to yourself)",
            f"  API docs          {urls['http_url']}/docs   (Swagger UI, try-it-out against this stack)",
            f"  data              {data_dir}",
            "",
            f"Demo app ({origin}; credentials in {data_dir / DEMO_FILE})",
            f"  app_id            {credentials['app_id']}",
            f"  account_id        {credentials['account_id']}",
            f"  secret key        {credentials['secret_key']}",
            f"  public key        {credentials['public_key']}",
            f"  webpush channel   {channel['id']}",
            f"  VAPID public key  {channel['vapid_public_key']}",
            *(f"  {provider + ' channel':<18}{channel_id}" for provider, channel_id in sorted((demo_channels or {}).items())),
            "  user-token key    (RS256 private key for user JWTs: user_token_private_key in demo.json)",
            "",
            f"Session for user {DEMO_USER!r} (expires at {session_expires_at}): {session_id}",
            "",
            "Subscribe a browser (this request works as pasted):",
            f"  {subscribe_example(urls['http_url'], credentials['account_id'], session_id)}",
            "",
            "Talk to the WebSocket API (then type {\"cmd\":\"push_get_vapid\"}):",
            f"  {websocket_example(urls['ws_url'], credentials['public_key'], session_id)}",
            "",
            "More sessions:",
            f"  curl -X POST '{urls['http_url']}/sessions?api_key={credentials['secret_key']}' "
            "-H 'content-type: application/json' -d '{\"user_id\":\"alice\"}'",
            "",
            "Fake native providers (what they accepted: GET <url>/_fake/received):",
            f"  FCM + OAuth       {urls.get('fake_fcm_url', '')}   (PUSHGATE_FAKE_FCM_PORT)",
            f"  APNs              {urls.get('fake_apns_url', '')}   (PUSHGATE_FAKE_APNS_PORT)",
            "",
            "Ctrl-C stops the stack (data is kept).",
            "",
        ]
    )
