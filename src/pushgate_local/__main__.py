"""`python -m pushgate_local` (what `make run` runs): start the local stack, serve until Ctrl-C or
SIGTERM, then stop it cleanly (workers killed, data snapshotted)."""

from __future__ import annotations

import signal
import sys
import threading

from pushgate_local import bootstrap
from pushgate_local.config import LocalConfig
from pushgate_local.intrinsics import InvalidParameter, UnsupportedIntrinsic
from pushgate_local.stack import LocalStack
from pushgate_local.template import UnsupportedTemplate


PORT_VARIABLES_HINT = (
    "Ports come from PUSHGATE_HTTP_PORT, PUSHGATE_WS_PORT, PUSHGATE_AWS_PORT, PUSHGATE_FAKE_FCM_PORT and "
    "PUSHGATE_FAKE_APNS_PORT (0: a free one)."
)


def _restored_summary(restored: dict[str, int] | None) -> str:
    if restored is None:
        return "no earlier data: starting fresh"
    return f"restored {restored['items']} table items and {restored['parameters']} SSM parameters"


def main() -> int:
    try:
        config = LocalConfig.from_env()
    except ValueError as error:
        print(f"pushgate-local: {error}", file=sys.stderr)
        return 2

    stopping = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        stopping.set()
        signal.signal(signum, signal.SIG_DFL)  # a second Ctrl-C ends the process at once

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    stack = LocalStack(config)
    try:
        started = stack.start()
        print(f"pushgate-local: {_restored_summary(started.restored)}", file=sys.stderr)
        banner = bootstrap.banner(
            started.demo, started.session_id, started.session_expires_at, stack.discovery(), config.data_dir, started.demo_channels
        )
        print(banner, flush=True)
        stack.serve()
    except OSError as error:  # most likely a port in use
        print(f"pushgate-local: cannot start: {error}. {PORT_VARIABLES_HINT}", file=sys.stderr)
        stack.stop()
        return 1
    except (InvalidParameter, UnsupportedIntrinsic, UnsupportedTemplate) as error:  # a PUSHGATE_* value, or the template
        print(f"pushgate-local: cannot start: {error}", file=sys.stderr)
        stack.stop()
        return 2
    except BaseException:
        stack.stop()
        raise

    stopping.wait()
    print("pushgate-local: stopping (saving data)...", file=sys.stderr, flush=True)
    stack.stop()
    print("pushgate-local: stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
