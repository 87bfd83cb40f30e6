"""`pushgate app limits --devices N` (docs/limits.md "Devices per user"): an app's own cap on the
devices one of its users keeps, stored on its app record beside its request rates. It composes with
the rates' command: the rates are shown and set first, then the cap is added to what it prints."""

from __future__ import annotations

import argparse

from pushgate_cli.errors import CliError
from pushgate_cli.output import Output
from pushgate_cli.target import Stack

MAX_DEVICES_PER_USER = 1000  # every new device of a user reads all of theirs: keep that Query small
# A warm function keeps an app's cap this long (pushgate.services.device_cap.OVERRIDE_CACHE_SECONDS).
TAKES_EFFECT_SECONDS = 30


def _device_count(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= MAX_DEVICES_PER_USER:
        raise argparse.ArgumentTypeError(f"must be a whole number of devices from 1 to {MAX_DEVICES_PER_USER}, got {text!r}")
    return int(text)


def add_devices_option(limits: argparse.ArgumentParser) -> None:
    limits.add_argument(
        "--devices",
        metavar="N",
        type=_device_count,
        help="active devices one user keeps; one more evicts their least recently registered "
        "(--reset goes back to the deployment's MaxDevicesPerUser)",
    )


def with_device_cap(stack: Stack, app_id: str, devices: int | None, reset: bool, limits: Output) -> Output:
    """`limits` (the rates' output, the app known to exist) with the app's device cap, set first
    when --devices or --reset asks. `devices` is in the JSON only when the app has its own cap."""
    repository = stack.services.repository
    changed = devices is not None or reset
    if changed and not repository.set_device_cap(app_id, devices):
        raise CliError(f"no app {app_id!r} on {stack.description}")
    own = repository.device_cap_override(app_id)
    data = {**limits.data, **({"devices": own} if own is not None else {})}
    line = f"Devices per user: {own} (the app's own)" if own is not None else "Devices per user: the deployment's (MaxDevicesPerUser)"
    lines = limits.text.split("\n")
    warm = [i for i, text in enumerate(lines) if text.startswith("Warm functions")]
    if warm:
        lines.insert(warm[0], line)
    else:
        lines.append(line)
        if changed:
            lines.append(f"Warm functions apply the change within {TAKES_EFFECT_SECONDS} s.")
    return Output(data, "\n".join(lines))
