"""The e2e tests' Web Push service: web-push-testing (npm, tests/e2e/push-service/), run by serve.js
on the loopback interface. An implementation independent of pushgate: it hands out subscriptions
bound to an app's VAPID public key, checks every request's VAPID JWT (ES256) and decrypts the
aes128gcm body, so a message it reports is what a browser would have shown its service worker."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from pushgate_local.config import free_port

PUSH_SERVICE_DIR = Path(__file__).resolve().parent / "push-service"
NPM_CI = f"npm ci --no-audit --no-fund --prefix {PUSH_SERVICE_DIR.relative_to(PUSH_SERVICE_DIR.parents[2])}"
PUSH_SERVICE_START_SECONDS = 15


def _missing_push_service() -> str | None:
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not on PATH: the delivery tests' push service needs Node.js 20+, then `{NPM_CI}`"
    if not (PUSH_SERVICE_DIR / "node_modules" / "web-push-testing").is_dir():
        return f"the push service's npm packages are not installed: run `{NPM_CI}` (make test does)"
    return None


# -- the push service -----------------------------------------------------------------------------


@dataclass(frozen=True)
class PushSubscription:
    """A browser's subscription at the push service: what PushSubscription.toJSON() gives a page."""

    endpoint: str
    p256dh: str
    auth: str
    client_hash: str

    def to_json(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


class LoopbackPushService:
    """web-push-testing run by serve.js in the foreground; it ends when its stdin closes."""

    def __init__(self, log_path: Path) -> None:
        self.log_path = log_path
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def control_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def push_host(self) -> str:
        """The endpoints' host:port, as PUSHGATE_EXTRA_PUSH_HOSTS names it."""
        return f"localhost:{self.port}"

    def start(self) -> None:
        for _ in range(3):  # a free port can be taken before node binds it (pytest -n 2): pick another
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                self.process = subprocess.Popen(
                    ["node", "serve.js", str(self.port)],
                    cwd=PUSH_SERVICE_DIR,
                    stdin=subprocess.PIPE,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            if self._wait_until_serving():
                return
        self.stop()
        pytest.fail(f"the push service did not start\n{self.log_path.read_text()}")

    def _wait_until_serving(self) -> bool:
        assert self.process is not None
        deadline = time.monotonic() + PUSH_SERVICE_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if requests.post(f"{self.control_url}/status", timeout=2).ok:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        return False

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.stdin is not None:
            self.process.stdin.close()  # serve.js exits when its stdin closes
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def subscribe(self, application_server_key: str) -> PushSubscription:
        """pushManager.subscribe({userVisibleOnly: true, applicationServerKey})."""
        response = requests.post(
            f"{self.control_url}/subscribe",
            json={"applicationServerKey": application_server_key, "userVisibleOnly": "true"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert data["endpoint"] == f"http://{self.push_host}/notify/{data['clientHash']}"
        return PushSubscription(data["endpoint"], data["keys"]["p256dh"], data["keys"]["auth"], data["clientHash"])

    def messages(self, subscription: PushSubscription) -> list[Any]:
        """Every payload the service accepted for the subscription, decrypted, oldest first."""
        response = requests.post(
            f"{self.control_url}/get-notifications", json={"clientHash": subscription.client_hash}, timeout=10
        )
        assert response.status_code == 200, response.text
        return [json.loads(message) for message in response.json()["data"]["messages"]]

    def requests(self, subscription: PushSubscription) -> list[dict[str, Any]]:
        """Each request received for the subscription (serve.js): push headers and VAPID claims."""
        response = requests.post(
            f"{self.control_url}/get-requests", json={"clientHash": subscription.client_hash}, timeout=10
        )
        assert response.status_code == 200, response.text
        return response.json()["data"]["requests"]

    def log(self) -> str:
        return self.log_path.read_text()[-5000:]

    def expire(self, subscription: PushSubscription) -> None:
        """From now on the service answers 410 Gone to pushes for the subscription."""
        response = requests.post(f"{self.control_url}/expire-subscription/{subscription.client_hash}", timeout=10)
        assert response.status_code == 200, response.text


@contextmanager
def running_push_service(log_path: Path) -> Iterator[LoopbackPushService]:
    """A started service, stopped on the way out; the test skips, saying why, where Node.js or the
    npm packages are missing."""
    reason = _missing_push_service()
    if reason is not None:
        pytest.skip(reason)
    service = LoopbackPushService(log_path)
    service.start()
    try:
        yield service
    finally:
        service.stop()
