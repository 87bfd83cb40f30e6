"""What reaches the terminal: with --json exactly one JSON object on stdout (a result or
{"error"}), otherwise short text; error messages always go to stderr as well."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, TextIO

from pushgate_cli.errors import CliError, UsageError


@dataclass(frozen=True)
class Output:
    data: dict[str, Any]  # the --json object
    text: str  # the human-readable form
    streamed: bool = False  # the command already wrote its result to stdout (JSON Lines): print nothing more
    exit_code: int = 0  # e.g. 1 when an import refused some rows but took the others


def emit(output: Output, as_json: bool, stdout: TextIO | None = None) -> None:
    stdout = stdout or sys.stdout
    if output.streamed:
        return
    print(json.dumps(output.data) if as_json else output.text, file=stdout)


def report_error(error: CliError, as_json: bool, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    if isinstance(error, UsageError) and error.usage:
        print(error.usage.rstrip(), file=stderr)
    print(f"pushgate: error: {error.message}", file=stderr)
    if as_json:
        print(json.dumps({"error": error.message}), file=stdout)
