"""The command line of `pushgate subscriptions export|import` (transfer_commands.py), checked here
like every other command's, before any stack is contacted."""

from __future__ import annotations

import argparse

from pushgate_cli.transfer_formats import FORMATS


def add_subscription_commands(resources: argparse._SubParsersAction, common: argparse.ArgumentParser,
                              user_id: object) -> None:
    subscriptions = resources.add_parser(
        "subscriptions", help="export an app's subscriptions, or import them from a file"
    )
    actions = subscriptions.add_subparsers(dest="action", metavar="{export,import}", required=True)

    export = actions.add_parser(
        "export", parents=[common], help="write the app's subscriptions as JSON Lines (stdout, or --output)"
    )
    export.set_defaults(command="subscriptions export")
    export.add_argument("--app", required=True, metavar="APP_ID", help="the app_id printed by `app create`")
    export.add_argument(
        "--user", dest="users", action="append", metavar="USER_ID", type=user_id,
        help="only this user's subscriptions (repeatable); without it, the whole app",
    )
    export.add_argument("--output", "-o", metavar="FILE.jsonl", help="write here instead of stdout")

    load = actions.add_parser(
        "import", parents=[common], help="register the subscriptions of a file, each checked as the APIs check it"
    )
    load.set_defaults(command="subscriptions import")
    load.add_argument("--app", required=True, metavar="APP_ID", help="the app_id printed by `app create`")
    load.add_argument("file", metavar="FILE", help="the file to import")
    load.add_argument(
        "--format", dest="file_format", choices=FORMATS, default="jsonl",
        help="jsonl (from `subscriptions export`, the default), csv (endpoint,p256dh,auth,user_id) "
        "or onesignal-csv (OneSignal's subscriptions export)",
    )
