"""What the e2e tests talk to the running local stack with, as its real clients would: a browser's
WebSocket (the `websockets` client), the operator CLI in a subprocess, and a browser's
PushSubscription.toJSON()."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from websockets.sync.client import ClientConnection, connect

from tests.e2e.local_stack import REPO, BrowserSubscription, LocalStackProcess

# A cold start of the $connect function (a worker process importing the layers) fits in this.
OPEN_TIMEOUT_SECONDS = 60
REPLY_TIMEOUT_SECONDS = 30
QUIET_SECONDS = 1.0  # how long a connection that should receive nothing is watched


def ws_url(stack: LocalStackProcess, key: str | None = None, token: str | None = None) -> str:
    query = {name: value for name, value in (("key", key), ("token", token)) if value is not None}
    return f"{stack.discovery['ws_url']}/" + (f"?{urlencode(query)}" if query else "")


DEMO_KEY = "the demo app's public key"


def open_ws(stack: LocalStackProcess, token: str | None = None, key: str | None = DEMO_KEY) -> ClientConnection:
    """A connection with the demo app's public key (or `key`; None: no key at all), optionally
    authenticated at connect. Refused: websockets.exceptions.InvalidStatus."""
    key = stack.demo()["public_key"] if key == DEMO_KEY else key
    return connect(ws_url(stack, key, token), open_timeout=OPEN_TIMEOUT_SECONDS)


def send(connection: ClientConnection, message: Any) -> Any:
    """One command and its reply (a dict is sent as JSON, a str as is)."""
    connection.send(message if isinstance(message, str) else json.dumps(message))
    return json.loads(connection.recv(timeout=REPLY_TIMEOUT_SECONDS))


def receives_nothing(connection: ClientConnection, wait: float = QUIET_SECONDS) -> bool:
    try:
        frame = connection.recv(timeout=wait)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected frame: {frame!r}")


def error(src: str | None, reason: str) -> dict[str, Any]:
    return {"cmd": "error", "src": src, "val": reason}


def web_subscription(subscription: BrowserSubscription) -> dict[str, Any]:
    """A browser's PushSubscription.toJSON()."""
    return {"endpoint": subscription.endpoint, "expirationTime": None, "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth}}


def subscribe_command(subscription: BrowserSubscription) -> dict[str, Any]:
    return {"cmd": "push_subscribe", "subscription": web_subscription(subscription)}


def pushgate_cli(stack: LocalStackProcess, *argv: str) -> dict[str, Any]:
    """The operator CLI as installed (the `pushgate` console script), against the running stack."""
    script = Path(sys.executable).with_name("pushgate")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "pushgate_cli.main"]
    result = subprocess.run(
        [*command, *argv, "--json", "--local-url", stack.http_url],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr + result.stdout
    return json.loads(result.stdout)


def user_token(stack: LocalStackProcess, user_id: str) -> str:
    """A user JWT from `pushgate token create`, signed with the demo app's development key."""
    return pushgate_cli(stack, "token", "create", "--app", stack.demo()["app_id"], "--user", user_id)["token"]


def create_app(stack: LocalStackProcess, name: str) -> dict[str, Any]:
    """Another tenant, from `pushgate app create` (its credentials as the CLI prints them)."""
    return pushgate_cli(stack, "app", "create", "--name", name)
