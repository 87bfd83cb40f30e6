"""Locust users that subscribe new browsers through each surface of the local stack (docs/api.md
§1, §2, §3, §5), one request name per surface so that locust's stats give each its own rate,
errors and percentiles.

Run by bench/load/run.py, which writes the JSON file named by PUSHGATE_LOAD_CONFIG: the stack's
URLs, the demo app's public values, the users with their sessions and JWTs (minted up front, so
the measured requests are subscriptions only), a pool of valid browser keys, and each locust
user's pace. Every subscription has a new endpoint on the loopback push service, so none of them
conflicts with another (docs/api.md §6 ownership) and each one is a creation."""

from __future__ import annotations

import itertools
import json
import os
import random
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from locust import User, constant_throughput, task
from locust.contrib.fasthttp import FastHttpUser
from websockets.sync.client import connect

from bench.load.surfaces import ACCOUNT_API, CHANNEL_API, DEVICE_API, WEBSOCKET, WEBSOCKET_CONNECT

with open(os.environ["PUSHGATE_LOAD_CONFIG"]) as _file:
    CONFIG: dict[str, Any] = json.load(_file)

PACE = constant_throughput(CONFIG["requests_per_second_per_user"])
_identities = itertools.count()
WS_TIMEOUT_SECONDS = 60


def _identity() -> dict[str, str]:
    users = CONFIG["users"]
    return users[next(_identities) % len(users)]


def _new_subscription() -> tuple[str, str, str]:
    """A fresh endpoint on the loopback push service, with a valid browser key pair."""
    p256dh, auth = random.choice(CONFIG["keys"])
    return f"{CONFIG['endpoint_prefix']}{uuid.uuid4().hex}", p256dh, auth


class AccountApiUser(FastHttpUser):
    """docs/api.md §2: GET /{account_id}/push_subscribe with a session."""

    wait_time = PACE

    def on_start(self) -> None:
        self.session_id = _identity()["session_id"]

    @task
    def subscribe(self) -> None:
        endpoint, p256dh, auth = _new_subscription()
        query = urlencode({"session_id": self.session_id, "endpoint": endpoint, "key_p256dh": p256dh, "key_auth": auth})
        with self.client.get(f"/{CONFIG['account_id']}/push_subscribe?{query}", name=ACCOUNT_API, catch_response=True) as response:
            # Field errors come back as HTTP 200 with error_no (the seed's envelope).
            if response.status_code != 200 or (response.json().get("data") or {}).get("operation_status") != "SUCCESS":
                response.failure(f"{response.status_code} {response.text[:200]}")


class DeviceApiUser(FastHttpUser):
    """docs/api.md §3: POST /me/subscribe, type web, with IM-CLIENT-KEY and a session."""

    wait_time = PACE

    def on_start(self) -> None:
        self.headers = {"IM-CLIENT-KEY": CONFIG["public_key"], "IM-Authorization": _identity()["session_id"]}

    @task
    def subscribe(self) -> None:
        endpoint, p256dh, auth = _new_subscription()
        body = {"type": "web", "deviceId": f"browser-{uuid.uuid4().hex}", "subscription": {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}}
        with self.client.post("/me/subscribe", json=body, headers=self.headers, name=DEVICE_API, catch_response=True) as response:
            if response.status_code != 200 or response.json().get("RC") != 0:
                response.failure(f"{response.status_code} {response.text[:200]}")


class ChannelApiUser(FastHttpUser):
    """docs/api.md §5: POST /user/v1/channels/{channel_id}/subscriptions with a user JWT."""

    wait_time = PACE

    def on_start(self) -> None:
        self.headers = {"x-notiflows-api-key": CONFIG["public_key"], "x-notiflows-user-key": _identity()["jwt"]}

    @task
    def subscribe(self) -> None:
        endpoint, p256dh, auth = _new_subscription()
        body = {"identifier": endpoint, "settings": {"p256dh": p256dh, "auth": auth}}
        path = f"/user/v1/channels/{CONFIG['channel_id']}/subscriptions"
        with self.client.post(path, json=body, headers=self.headers, name=CHANNEL_API, catch_response=True) as response:
            if response.status_code != 201:
                response.failure(f"{response.status_code} {response.text[:200]}")


class WebSocketUser(User):
    """docs/api.md §1: a connection authenticated at connect (user JWT), then push_subscribe on it.
    The connection is kept, as a page keeps its socket, so the subscribe commands are what is
    measured; a refused or broken connection counts as one failed `websocket connect` and is opened
    again at the next task."""

    wait_time = PACE

    def on_start(self) -> None:
        self.url = f"{CONFIG['ws_url']}/?{urlencode({'key': CONFIG['public_key'], 'token': _identity()['jwt']})}"
        self.connection: Any = None

    def on_stop(self) -> None:
        if self.connection is not None:
            self.connection.close()

    def _report(self, name: str, started: float, reply: str, exception: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="WS", name=name, response_time=(time.perf_counter() - started) * 1000,
            response_length=len(reply), exception=exception, context={},
        )

    @task
    def subscribe(self) -> None:
        if self.connection is None:
            started = time.perf_counter()
            try:
                self.connection = connect(self.url, open_timeout=WS_TIMEOUT_SECONDS)
            except Exception as error:  # noqa: BLE001 - refused (e.g. HTTP 500) or timed out
                self._report(WEBSOCKET_CONNECT, started, "", error)
                return
        endpoint, p256dh, auth = _new_subscription()
        command = {"cmd": "push_subscribe", "subscription": {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}}}
        started = time.perf_counter()
        exception: Exception | None = None
        reply = ""
        try:
            self.connection.send(json.dumps(command))
            reply = str(self.connection.recv(timeout=WS_TIMEOUT_SECONDS))
            if json.loads(reply) != {"cmd": "push_subscribed", "success": True}:
                exception = RuntimeError(reply[:200])
        except Exception as error:  # noqa: BLE001 - every failure is one failed request in the stats
            exception = error
            self.connection.close()
            self.connection = None
        self._report(WEBSOCKET, started, reply, exception)
