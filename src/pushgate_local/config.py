"""The local stack's settings, all from the environment (docs/api.md §8), read once at start."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pushgate_local.template import REPO_ROOT

HOST = "127.0.0.1"  # never reachable from another machine
DEFAULT_HTTP_PORT = 3000
DEFAULT_WS_PORT = 3001
DEFAULT_AWS_PORT = 4510
DEFAULT_FAKE_FCM_PORT = 3002
DEFAULT_FAKE_APNS_PORT = 3003
DEFAULT_DATA_DIR = REPO_ROOT / ".pushgate-local"
LOCAL_STAGE = "local"
SHUTDOWN_POLL_SECONDS = 0.1  # how often the servers check for a stop request (stdlib default: 0.5)
# Environment variables that set a template parameter of the local deployment.
PARAMETER_VARIABLES = {
    "PUSHGATE_SEND_RATE_PER_SECOND": "SendRatePerSecond",
    "PUSHGATE_SUBSCRIBE_RATE_PER_SECOND": "SubscribeRatePerSecond",
    "PUSHGATE_MAX_DEVICES_PER_USER": "MaxDevicesPerUser",
    "PUSHGATE_STALE_WARNING_PUSH": "StaleWarningPush",
}


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdigit() or int(raw) > 65535:
        raise ValueError(f"{name}={raw!r} is not a port number (0 picks a free port)")
    return int(raw)


def free_port() -> int:
    """A port nothing listens on right now (the OS's pick)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class LocalConfig:
    http_port: int = DEFAULT_HTTP_PORT
    ws_port: int = DEFAULT_WS_PORT
    aws_port: int = DEFAULT_AWS_PORT
    fake_fcm_port: int = DEFAULT_FAKE_FCM_PORT
    fake_apns_port: int = DEFAULT_FAKE_APNS_PORT
    data_dir: Path = DEFAULT_DATA_DIR
    extra_push_hosts: str = ""
    development_mode: str | None = None  # None: the template's default
    # Template parameters passed through as given (None: the template's default), e.g. low
    # request rates for a test of the limits (docs/limits.md).
    parameters: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> "LocalConfig":
        env = os.environ if environ is None else environ
        development_mode = env.get("PUSHGATE_DEVELOPMENT_MODE", "").strip().lower()
        parameters = tuple((name, env[variable].strip()) for variable, name in PARAMETER_VARIABLES.items() if env.get(variable, "").strip())
        return cls(
            http_port=_port(env, "PUSHGATE_HTTP_PORT", DEFAULT_HTTP_PORT),
            ws_port=_port(env, "PUSHGATE_WS_PORT", DEFAULT_WS_PORT),
            aws_port=_port(env, "PUSHGATE_AWS_PORT", DEFAULT_AWS_PORT),
            fake_fcm_port=_port(env, "PUSHGATE_FAKE_FCM_PORT", DEFAULT_FAKE_FCM_PORT),
            fake_apns_port=_port(env, "PUSHGATE_FAKE_APNS_PORT", DEFAULT_FAKE_APNS_PORT),
            data_dir=Path(env.get("PUSHGATE_LOCAL_DATA") or DEFAULT_DATA_DIR).expanduser().resolve(),
            extra_push_hosts=env.get("PUSHGATE_EXTRA_PUSH_HOSTS", "").strip(),
            development_mode=development_mode or None,
            parameters=parameters,
        )

    def parameter_overrides(self) -> dict[str, str]:
        """Template parameters as the local stack deploys them."""
        overrides = {"Stage": LOCAL_STAGE, "ExtraPushHosts": self.extra_push_hosts}
        if self.development_mode is not None:
            overrides["DevelopmentMode"] = self.development_mode
        overrides.update(self.parameters)
        return overrides
