"""The local stack started as `make run` starts it (`python -m pushgate_local` in a subprocess), on
free ports with its own data dir, and what a client of it has at hand: what the end-to-end and
browser tests start (tests/e2e/conftest.py) and what the load test starts (bench/load/run.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import requests

from pushgate_local.config import free_port

REPO = Path(__file__).resolve().parents[2]  # src/pushgate_local/process.py
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30
# A loopback "push service", accepted through PUSHGATE_EXTRA_PUSH_HOSTS (docs/api.md §6).
LOOPBACK_PUSH_HOST = "127.0.0.1:9"


class StackFailed(RuntimeError):
    """The stack did not start or stop; the message ends with its logs."""


@dataclass
class LocalStackProcess:
    data_dir: Path
    log_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    discovery: dict[str, Any] = field(default_factory=dict)
    starts: int = 0

    @property
    def http_url(self) -> str:
        return self.discovery["http_url"]

    @property
    def stdout_path(self) -> Path:
        return self.log_dir / f"stdout-{self.starts}.log"

    @property
    def stderr_path(self) -> Path:
        return self.log_dir / f"stderr-{self.starts}.log"

    def logs(self) -> str:
        stderr = self.stderr_path.read_text()[-20000:]
        return f"--- stdout ---\n{self.stdout_path.read_text()}\n--- stderr (end) ---\n{stderr}"

    def start(self) -> None:
        self.starts += 1
        # Files, not pipes: nobody reads a pipe while the tests run, and a full one blocks the stack.
        with open(self.stdout_path, "wb") as stdout, open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "pushgate_local"], cwd=REPO, env=self.env, stdout=stdout, stderr=stderr
            )
        url = f"http://127.0.0.1:{self.env['PUSHGATE_HTTP_PORT']}/_pushgate/local"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise StackFailed(f"the local stack exited with {self.process.returncode}\n{self.logs()}")
            try:
                # The port is bound early and answers once the stack serves: a read may wait a while.
                response = requests.get(url, timeout=10)
            except (requests.ConnectionError, requests.Timeout):
                time.sleep(0.2)
                continue
            if response.ok:
                self.discovery = response.json()
                return
        self.stop()
        raise StackFailed(f"the local stack did not answer on {url} within {START_TIMEOUT_SECONDS} s\n{self.logs()}")

    def stop(self) -> int | None:
        """SIGTERM, as a terminal's Ctrl-C or a process manager would; returns the exit status."""
        if self.process is None or self.process.poll() is not None:
            return self.process.returncode if self.process else None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise StackFailed(f"the local stack did not stop within {STOP_TIMEOUT_SECONDS} s\n{self.logs()}")

    def restart(self) -> None:
        self.stop()
        self.start()

    # -- what a client or the operator has at hand -------------------------------------------

    def demo(self) -> dict[str, Any]:
        return json.loads((self.data_dir / "demo.json").read_text())

    def aws_client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.discovery["aws_endpoint_url"],
            region_name=self.discovery["region"],
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_session(self, user_id: str, secret_key: str | None = None) -> str:
        """POST /sessions, as the app's backend mints a session for one of its users."""
        response = requests.post(
            f"{self.http_url}/sessions",
            params={"api_key": secret_key or self.demo()["secret_key"]},
            json={"user_id": user_id},
            timeout=30,
        )
        if response.status_code != 201:  # the body, not the URL: its query holds the secret key
            raise StackFailed(f"POST /sessions answered {response.status_code}: {response.text}")
        return response.json()["session_id"]


def stack_environment(data_dir: Path, extra_push_hosts: str = LOOPBACK_PUSH_HOST) -> dict[str, str]:
    """This process's environment without its AWS and pushgate settings, and free ports."""
    env = {name: value for name, value in os.environ.items() if not name.startswith(("AWS_", "PUSHGATE_"))}
    env.update(
        PUSHGATE_HTTP_PORT=str(free_port()),
        PUSHGATE_WS_PORT=str(free_port()),
        PUSHGATE_AWS_PORT=str(free_port()),
        PUSHGATE_FAKE_FCM_PORT=str(free_port()),
        PUSHGATE_FAKE_APNS_PORT=str(free_port()),
        PUSHGATE_LOCAL_DATA=str(data_dir),
        PUSHGATE_EXTRA_PUSH_HOSTS=extra_push_hosts,
    )
    return env


@contextmanager
def running_stack(base: Path, extra_push_hosts: str = LOOPBACK_PUSH_HOST, extra_env: dict[str, str] | None = None) -> Iterator[LocalStackProcess]:
    """A stack with its data and logs under `base`, allowed to send to `extra_push_hosts` (a
    loopback push service), with `extra_env` on top (template parameters, say), stopped on the way out."""
    env = stack_environment(base / "data", extra_push_hosts) | (extra_env or {})
    stack = LocalStackProcess(data_dir=base / "data", log_dir=base, env=env)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()
