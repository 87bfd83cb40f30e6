"""The command line of docs/api.md §0. Every input is checked here, before any stack is contacted,
so a typo costs no network round trip and gets the same clear message everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

from pushgate.errors import FieldError
from pushgate.models import ApnsEnvironment
from pushgate.services.limits import MAX_RATE_PER_SECOND
from pushgate.services.provider_channels import ChannelCredentialError, check_bundle_id, check_key_id, check_team_id
from pushgate.services.sessions import MAX_SESSION_TTL, MIN_SESSION_TTL
from pushgate.validation import MAX_USER_ID_LENGTH, check_user_id
from pushgate_cli.device_cap_command import add_devices_option
from pushgate_cli.errors import UsageError
from pushgate_cli.tokens import DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, MIN_TOKEN_TTL
from pushgate_cli.transfer_parser import add_subscription_commands

# Options every command accepts, before or after the command words. Their defaults are
# SUPPRESS so that a value given before the command is not overwritten by the sub-parser's
# default; `parse_args` fills the real defaults in afterwards.
COMMON_DEFAULTS = {"json": False, "stack": None, "region": None, "local_url": None}
# Credential files are a few KiB; anything far larger is the wrong file, not worth reading.
MAX_CREDENTIAL_FILE_BYTES = 64 * 1024


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # Raise instead of exiting, so main can report usage errors in the requested form (--json).
        raise UsageError(message, self.format_usage())


def _ttl(low: int, high: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            seconds = int(text)
        except ValueError:
            seconds = None
        if seconds is None or not low <= seconds <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number of seconds from {low} to {high}, got {text!r}")
        return seconds

    return parse


def _days(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 36_500:
        raise argparse.ArgumentTypeError(f"must be a whole number of days from 1 to 36500, got {text!r}")
    return int(text)


def _user_id(text: str) -> str:
    try:
        return check_user_id(text)
    except FieldError as error:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_USER_ID_LENGTH} printable characters") from error


def _app_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _credential_file(path: str) -> str:
    """The text of a key file, read here so an unreadable path fails before any stack is contacted."""
    try:
        with open(path, "rb") as file:
            raw = file.read(MAX_CREDENTIAL_FILE_BYTES + 1)
    except OSError as error:
        raise argparse.ArgumentTypeError(f"cannot read {path!r}: {error.strerror or error}") from None
    if len(raw) > MAX_CREDENTIAL_FILE_BYTES:
        raise argparse.ArgumentTypeError(f"{path!r} is over {MAX_CREDENTIAL_FILE_BYTES // 1024} KiB: not a key file")
    try:
        return raw.decode("utf-8-sig")  # editors on Windows may have added a byte-order mark
    except UnicodeDecodeError:
        raise argparse.ArgumentTypeError(f"{path!r} is not UTF-8 text: not a key file") from None


def _checked(check: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse type from one of the channel service's checks, so both say the same thing."""

    def parse(text: str) -> str:
        try:
            return check(text)
        except ChannelCredentialError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def _common_options() -> argparse.ArgumentParser:
    options = _Parser(add_help=False)
    group = options.add_argument_group("output and target")
    group.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print exactly one JSON object on stdout"
    )
    group.add_argument(
        "--stack", metavar="NAME", default=argparse.SUPPRESS, help="a deployed stack (uses your AWS credentials)"
    )
    group.add_argument("--region", metavar="REGION", default=argparse.SUPPRESS, help="the deployed stack's region")
    group.add_argument(
        "--local-url",
        metavar="URL",
        default=argparse.SUPPRESS,
        help="the local stack's HTTP API (default http://127.0.0.1:$PUSHGATE_HTTP_PORT, port 3000)",
    )
    return options


def build_parser() -> argparse.ArgumentParser:
    common = _common_options()
    parser = _Parser(
        prog="pushgate", description="Operate a pushgate stack: local by default, or --stack NAME.", parents=[common]
    )
    resources = parser.add_subparsers(dest="resource", metavar="{app,session,token,channel,sweep,subscriptions}", required=True)

    actions_of: dict[str, argparse._SubParsersAction] = {}

    def create_command(resource: str, help_text: str, metavar: str = "create") -> argparse.ArgumentParser:
        resource_parser = resources.add_parser(resource, help=help_text)
        actions = actions_of[resource] = resource_parser.add_subparsers(dest="action", metavar=metavar, required=True)
        command = actions.add_parser("create", help=help_text, parents=[common])
        command.set_defaults(command=f"{resource} create")
        return command

    app = create_command("app", "create an app (tenant) with its keys and webpush channel; or set its limits", "{create,limits}")
    app.add_argument("--name", required=True, type=_app_name, help="a name for the app")
    _add_app_limits(actions_of["app"], common)
    add_devices_option(actions_of["app"].choices["limits"])

    session = create_command("session", "create a session for a user of an app")
    session.add_argument("--app", required=True, metavar="APP_ID", help="the app_id printed by `app create`")
    session.add_argument("--user", required=True, metavar="USER_ID", type=_user_id, help="the app's id for the user")
    session.add_argument(
        "--ttl", metavar="SECONDS", type=_ttl(MIN_SESSION_TTL, MAX_SESSION_TTL), help="lifetime (default 86400)"
    )

    token = create_command("token", "create a user JWT signed with the app's development key")
    token.add_argument("--app", required=True, metavar="APP_ID", help="the app_id printed by `app create`")
    token.add_argument("--user", required=True, metavar="USER_ID", type=_user_id, help="the token's sub")
    token.add_argument(
        "--ttl",
        metavar="SECONDS",
        type=_ttl(MIN_TOKEN_TTL, MAX_TOKEN_TTL),
        default=DEFAULT_TOKEN_TTL,
        help=f"lifetime (default {DEFAULT_TOKEN_TTL})",
    )
    _add_channel_commands(resources, common)
    add_subscription_commands(resources, common, _user_id)
    sweep = resources.add_parser(
        "sweep", help="run the stale-subscription sweep now (docs/lifecycle.md)", parents=[common]
    )
    sweep.set_defaults(command="sweep")
    sweep.add_argument("--now", action="store_true", required=True, help="run it now, as its daily schedule does")
    sweep.add_argument(
        "--stale-after-days",
        metavar="DAYS",
        type=_days,
        help="expire what was not seen for this many days (default: the stack's StaleAfterDays)",
    )
    return parser


def _rate(text: str) -> float:
    """Requests per second of an app's own limit (docs/limits.md): more than 0, at most 1000."""
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of requests per second") from None
    if not 0 < rate <= MAX_RATE_PER_SECOND:
        raise argparse.ArgumentTypeError(f"a rate is more than 0 and at most {MAX_RATE_PER_SECOND} requests per second")
    return rate


def _add_app_limits(actions: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`app limits`: show or set an app's own request rates (docs/limits.md)."""
    limits = actions.add_parser("limits", help="show or set the app's own request rates (docs/limits.md)", parents=[common])
    limits.set_defaults(command="app limits")
    limits.add_argument("--app", required=True, metavar="APP_ID", help="the app_id printed by `app create`")
    limits.add_argument("--send", metavar="N", type=_rate, help="server-side API requests per second (bursts of 2N)")
    limits.add_argument("--subscribe", metavar="N", type=_rate, help="subscription requests per second, every client surface (bursts of 2N)")
    limits.add_argument("--reset", action="store_true", help="back to the deployment's rates (SendRatePerSecond, SubscribeRatePerSecond)")


def _add_channel_commands(resources: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """`channel add fcm|apns`, `channel list`, `channel remove`: the one resource whose first
    action takes a provider word before its options."""
    channel = resources.add_parser("channel", help="an app's delivery channels: add fcm or apns, list, remove")
    actions = channel.add_subparsers(dest="action", metavar="{add,list,remove}", required=True)

    def command(parent: argparse._SubParsersAction, name: str, help_text: str, words: str) -> argparse.ArgumentParser:
        parser = parent.add_parser(name, help=help_text, parents=[common])
        parser.set_defaults(command=words)
        parser.add_argument("--app", required=True, metavar="APP_ID", help="the app_id printed by `app create`")
        return parser

    add = actions.add_parser("add", help="add the app's fcm or apns channel (one of each per app)")
    providers = add.add_subparsers(dest="provider", metavar="{fcm,apns}", required=True)

    fcm = command(providers, "fcm", "add a Firebase Cloud Messaging channel", "channel add fcm")
    fcm.add_argument(
        "--service-account",
        dest="service_account_text",
        required=True,
        metavar="FILE.json",
        type=_credential_file,
        help="the service account key file from the Firebase console (its private key goes to SSM)",
    )

    apns = command(providers, "apns", "add an Apple Push Notification service channel", "channel add apns")
    apns.add_argument(
        "--key-file",
        dest="key_text",
        required=True,
        metavar="AuthKey_XXXX.p8",
        type=_credential_file,
        help="the APNs auth key (.p8) from Apple (it goes to SSM)",
    )
    apns.add_argument(
        "--key-id", required=True, metavar="KEY_ID", type=_checked(check_key_id), help="the key's 10-character Key ID"
    )
    apns.add_argument(
        "--team-id", required=True, metavar="TEAM_ID", type=_checked(check_team_id), help="your 10-character Team ID"
    )
    apns.add_argument(
        "--bundle-id",
        required=True,
        metavar="BUNDLE_ID",
        type=_checked(check_bundle_id),
        help="the iOS app's bundle id, which APNs calls the topic",
    )
    apns.add_argument(
        "--environment",
        choices=[environment.value for environment in ApnsEnvironment],
        default=ApnsEnvironment.PRODUCTION.value,
        help="production (App Store, TestFlight) or sandbox (development builds); default production",
    )

    command(actions, "list", "list the app's channels, webpush included", "channel list")
    remove = command(actions, "remove", "remove an fcm or apns channel and its key in SSM", "channel remove")
    remove.add_argument("--channel", required=True, metavar="CHANNEL_ID", help="the id printed by `channel list`")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    args = build_parser().parse_args(argv)
    for name, default in COMMON_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, default)
    if args.stack and args.local_url:
        raise UsageError("--stack and --local-url name different stacks: give one")
    if args.region and not args.stack:
        raise UsageError("--region applies to a deployed stack: give --stack NAME too")
    return args
