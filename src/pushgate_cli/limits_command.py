"""`pushgate app limits` (docs/limits.md): an app's own request rates, stored on its app record,
where the deployment's SendRatePerSecond / SubscribeRatePerSecond do not suit it."""

from __future__ import annotations

from pushgate.models import App, RateLimits
from pushgate.services.limits import GROUPS, Rate
from pushgate_cli.errors import CliError
from pushgate_cli.output import Output
from pushgate_cli.target import Stack

# A warm function keeps an app's record this long (pushgate.credentials.Authenticator).
TAKES_EFFECT_SECONDS = 30


def app_limits(stack: Stack, app_id: str, send: float | None, subscribe: float | None, reset: bool) -> Output:
    """Show the app's own rates; with --send / --subscribe set them (the other group keeps its
    own), with --reset go back to the deployment's for both."""
    app = _existing_app(stack, app_id)
    changed = reset or send is not None or subscribe is not None
    if changed:
        current = RateLimits() if reset else app.rate_limits
        limits = RateLimits(send=send if send is not None else current.send,
                            subscribe=subscribe if subscribe is not None else current.subscribe)
        if not stack.services.repository.set_rate_limits(app.app_id, limits):
            raise CliError(f"no app {app_id!r} on {stack.description}")
    else:
        limits = app.rate_limits
    groups = {group: _described(getattr(limits, group)) for group in GROUPS}
    data = {"app_id": app.app_id, **groups}
    lines = [f"Request rates of app {app.app_id} on {stack.description}:"]
    for group, rate in groups.items():
        shown = f"{rate['per_second']:g}/s, bursts of {rate['burst']}" if rate else "the deployment's (template parameter)"
        lines.append(f"  {group:<10} {shown}")
    if changed:
        lines.append(f"Warm functions apply the change within {TAKES_EFFECT_SECONDS} s.")
    return Output(data, "\n".join(lines))


def _described(per_second: float | None) -> dict[str, float | int] | None:
    """The app's own rate of a group as `--json` prints it; None: the deployment's."""
    if per_second is None:
        return None
    return {"per_second": per_second, "burst": Rate.per_second_with_burst(per_second).burst}


def _existing_app(stack: Stack, app_id: str) -> App:
    app = stack.services.repository.get_app(app_id)
    if app is None:
        raise CliError(f"no app {app_id!r} on {stack.description}")
    return app
