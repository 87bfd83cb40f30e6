"""Entry point of the `pushgate` console script: parse, reach the stack, run, print."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from botocore.exceptions import BotoCoreError, ClientError

from pushgate.errors import PushgateError
from pushgate_cli import commands, target
from pushgate_cli.errors import CliError
from pushgate_cli.output import emit, report_error
from pushgate_cli.parser import parse_args


def main(argv: Sequence[str] | None = None, connect: Callable[..., target.Stack] = target.connect) -> int:
    """Runs one command and returns the exit code. Tests pass `connect` to supply their own stack."""
    argv = list(sys.argv[1:] if argv is None else argv)
    # Known before parsing, so that even a usage error is reported in the form asked for.
    as_json = "--json" in argv
    try:
        args = parse_args(argv)
        stack = connect(stack_name=args.stack, region=args.region, local_url=args.local_url)
        output = commands.run(stack, args)
    except CliError as error:
        report_error(error, as_json)
        return error.exit_code
    except PushgateError as error:
        report_error(CliError(str(error)), as_json)
        return CliError.exit_code
    except (BotoCoreError, ClientError) as error:
        report_error(CliError(f"AWS request failed: {error}"), as_json)
        return CliError.exit_code
    emit(output, as_json)
    return output.exit_code


if __name__ == "__main__":
    sys.exit(main())
