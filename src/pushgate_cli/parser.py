"""The command line of CONTRACT §0. Every input is checked here, before any stack is contacted,
so a typo costs no network round trip and gets the same clear message everywhere."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import NoReturn

from pushgate.errors import FieldError
from pushgate.services.sessions import MAX_SESSION_TTL, MIN_SESSION_TTL
from pushgate.validation import MAX_USER_ID_LENGTH, check_user_id
from pushgate_cli.errors import UsageError
from pushgate_cli.tokens import DEFAULT_TOKEN_TTL, MAX_TOKEN_TTL, MIN_TOKEN_TTL

# Options every command accepts, before or after the command words. Their defaults are
# SUPPRESS so that a value given before the command is not overwritten by the sub-parser's
# default; `parse_args` fills the real defaults in afterwards.
COMMON_DEFAULTS = {"json": False, "stack": None, "region": None, "local_url": None}


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


def _user_id(text: str) -> str:
    try:
        return check_user_id(text)
    except FieldError as error:
        raise argparse.ArgumentTypeError(f"must be 1 to {MAX_USER_ID_LENGTH} printable characters") from error


def _app_name(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


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
    resources = parser.add_subparsers(dest="resource", metavar="{app,session,token}", required=True)

    def create_command(resource: str, help_text: str) -> argparse.ArgumentParser:
        resource_parser = resources.add_parser(resource, help=help_text)
        actions = resource_parser.add_subparsers(dest="action", metavar="create", required=True)
        command = actions.add_parser("create", help=help_text, parents=[common])
        command.set_defaults(command=f"{resource} create")
        return command

    app = create_command("app", "create an app (tenant) with its keys and webpush channel")
    app.add_argument("--name", required=True, type=_app_name, help="a name for the app")

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
    return parser


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
