"""The commands of docs/api.md §0. Each one delegates to the shared services and returns its result
in both forms (the --json object and the human text); nothing here prints."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from pushgate.models import App
from pushgate_cli import channel_commands, device_cap_command, limits_command, sweep_command, transfer_commands
from pushgate_cli.errors import CliError
from pushgate_cli.output import Output
from pushgate_cli.target import Stack
from pushgate_cli.tokens import DEFAULT_TOKEN_TTL, mint_user_token


def run(stack: Stack, args: argparse.Namespace) -> Output:
    """The parsed command line (see parser.py), run against the stack."""
    match args.command:
        case "app create":
            return create_app(stack, args.name)
        case "app limits":
            rates = limits_command.app_limits(stack, args.app, args.send, args.subscribe, args.reset)
            return device_cap_command.with_device_cap(stack, args.app, args.devices, args.reset, rates)
        case "session create":
            return create_session(stack, args.app, args.user, args.ttl)
        case "token create":
            return create_token(stack, args.app, args.user, args.ttl)
        case "channel add fcm":
            return channel_commands.add_fcm(stack, args.app, args.service_account_text)
        case "channel add apns":
            return channel_commands.add_apns(
                stack, args.app, args.key_text, args.key_id, args.team_id, args.bundle_id, args.environment
            )
        case "channel list":
            return channel_commands.list_channels(stack, args.app)
        case "channel remove":
            return channel_commands.remove_channel(stack, args.app, args.channel)
        case "sweep":
            return sweep_command.sweep_now(stack, args.stale_after_days)
        case "subscriptions export":
            return transfer_commands.export_subscriptions(stack, args.app, args.users, args.output)
        case "subscriptions import":
            return transfer_commands.import_subscriptions(stack, args.app, args.file, args.file_format)
    raise CliError(f"unknown command {args.command!r}")


def create_app(stack: Stack, name: str) -> Output:
    created = stack.apps.create_app(name)
    app = created.app
    data = created.credentials()
    lines = [
        f"Created app {name!r} on {stack.description}",
        f"  app_id      {app.app_id}",
        f"  account_id  {app.account_id}",
        # Only the hash is stored: this is the one chance to copy the secret key.
        f"  secret_key  {created.secret_key}  (shown only now; keep it server-side)",
        f"  public_key  {created.public_key}",
        *(
            f"  channel     {channel.channel_id} ({channel.type.value}), VAPID key {channel.vapid_public_key}"
            for channel in created.channels
        ),
        f"The development user-token private key is in SSM at {stack.apps.user_token_key_parameter(app.app_id)}"
        " (--json prints it); `pushgate token create` signs with it.",
    ]
    return Output(data, "\n".join(lines))


def create_session(stack: Stack, app_id: str, user_id: str, ttl: int | None = None) -> Output:
    app = _existing_app(stack, app_id)
    session_id, session = stack.services.sessions.create(app, user_id, ttl)
    data = {
        "session_id": session_id,
        "user_id": session.user_id,
        "account_id": session.account_id,
        "expires_at": session.expires_at,
    }
    lines = [
        f"session_id  {session_id}",
        f"user_id     {session.user_id}",
        f"account_id  {session.account_id}",
        f"expires_at  {session.expires_at} ({_utc(session.expires_at)})",
    ]
    return Output(data, "\n".join(lines))


def create_token(
    stack: Stack, app_id: str, user_id: str, ttl: int = DEFAULT_TOKEN_TTL, clock: Callable[[], float] = time.time
) -> Output:
    app = _existing_app(stack, app_id)
    token = mint_user_token(_development_key(stack, app), user_id, ttl, clock())
    # The bare token, so that `$(pushgate token create ...)` is the token itself.
    return Output({"token": token}, token)


def _existing_app(stack: Stack, app_id: str) -> App:
    app = stack.services.repository.get_app(app_id)
    if app is None:
        raise CliError(f"no app {app_id!r} on {stack.description}")
    return app


def _development_key(stack: Stack, app: App) -> str:
    parameter = stack.apps.user_token_key_parameter(app.app_id)
    try:
        return stack.secrets.get_secret(parameter)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ParameterNotFound":
            raise CliError(f"app {app.app_id} has no development user-token key in SSM at {parameter}") from error
        raise


def _utc(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
