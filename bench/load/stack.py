"""The local stack as `make run` starts it (`python -m pushgate_local` in a subprocess), on free
ports with its own data dir, allowed to send to a loopback push service; as tests/e2e/local_stack.py
does for the tests, without pytest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from pushgate_local.config import free_port

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30


class StackProcess:
    def __init__(self, work_dir: Path, extra_push_host: str) -> None:
        self.work_dir = work_dir
        self.data_dir = work_dir / "data"
        env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "PUSHGATE_"))}
        env.update(
            PUSHGATE_HTTP_PORT=str(free_port()),
            PUSHGATE_WS_PORT=str(free_port()),
            PUSHGATE_AWS_PORT=str(free_port()),
            PUSHGATE_FAKE_FCM_PORT=str(free_port()),
            PUSHGATE_FAKE_APNS_PORT=str(free_port()),
            PUSHGATE_LOCAL_DATA=str(self.data_dir),
            PUSHGATE_EXTRA_PUSH_HOSTS=extra_push_host,
        )
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.discovery: dict[str, Any] = {}

    @property
    def http_url(self) -> str:
        return self.discovery["http_url"]

    @property
    def stderr_path(self) -> Path:
        return self.work_dir / "stack-stderr.log"

    def demo(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "demo.json").read_text())

    def start(self) -> None:
        # Files, not pipes: nobody reads a pipe during the run, and a full one would block the stack.
        with open(self.work_dir / "stack-stdout.log", "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pushgate_local"], cwd=REPO, env=self.env, stdout=stdout, stderr=stderr
            )
        url = f"http://127.0.0.1:{self.env['PUSHGATE_HTTP_PORT']}/_pushgate/local"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the local stack exited with {self.process.returncode}; see {self.stderr_path}")
            try:
                response = requests.get(url, timeout=10)
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
                continue
            if response.ok:
                self.discovery = response.json()
                return
        self.stop()
        raise RuntimeError(f"the local stack did not answer within {START_TIMEOUT_SECONDS} s; see {self.stderr_path}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def create_session(self, user_id: str) -> str:
        """POST /sessions, as the app's backend mints a session for one of its users."""
        response = requests.post(
            f"{self.http_url}/sessions", params={"api_key": self.demo()["secret_key"]}, json={"user_id": user_id}, timeout=60
        )
        if response.status_code != 201:  # no URL in the message: its query holds the secret key
            raise RuntimeError(f"POST /sessions answered {response.status_code}")
        return response.json()["session_id"]
