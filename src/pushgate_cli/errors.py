"""The two ways a command line can fail, each with the exit code the shell sees."""

from __future__ import annotations


class CliError(Exception):
    """A failure reported to the operator as one line (the command ran, or tried to, and failed)."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(CliError):
    """The command line itself is wrong; exit code 2, as argparse and most Unix tools use."""

    exit_code = 2

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage
