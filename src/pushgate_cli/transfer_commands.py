"""`pushgate subscriptions export` and `pushgate subscriptions import` (docs/import-export.md).

Export writes JSON Lines, one subscription a line, to --output or to stdout (then the summary goes
to stderr, so that `> file.jsonl` holds the records only). Import reads a file in one of
transfer_formats.FORMATS and reports each refused row with its line number; with a terminal on
stderr it draws a progress bar there, and nothing when stderr is a file or a pipe.

The endpoint policy is the APIs' (docs/api.md §6), with the extra push hosts named in this
process's PUSHGATE_EXTRA_PUSH_HOSTS: set it as the stack has it to import loopback endpoints."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import TextIO

from pushgate.models import App
from pushgate.services.subscriptions import SubscriptionService
from pushgate.services.transfer import TransferService
from pushgate.validation import EndpointPolicy
from pushgate_cli.errors import CliError
from pushgate_cli.output import Output
from pushgate_cli.target import Stack
from pushgate_cli.transfer_formats import count_records, read_records

PROGRESS_BAR_WIDTH = 30
MAX_ERRORS_SHOWN = 20  # in the text summary; --json lists every one


def _app(stack: Stack, app_id: str) -> App:
    app = stack.services.repository.get_app(app_id)
    if app is None:
        raise CliError(f"no app {app_id!r} on {stack.description}")
    return app


def transfer_service(stack: Stack) -> TransferService:
    subscriptions = SubscriptionService(stack.services.repository, EndpointPolicy.from_setting(_extra_hosts()))
    return TransferService(stack.services.repository, subscriptions)


def _extra_hosts() -> tuple[str, ...]:
    """Read as the functions read it (pushgate.config)."""
    raw = os.environ.get("PUSHGATE_EXTRA_PUSH_HOSTS", "")
    return tuple(part.strip().lower() for part in raw.split(",") if part.strip())


def export_subscriptions(stack: Stack, app_id: str, user_ids: list[str] | None, output_path: str | None,
                         stdout: TextIO | None = None) -> Output:
    app = _app(stack, app_id)
    records = transfer_service(stack).export(app, user_ids or None)
    if output_path is None:
        stream = stdout or sys.stdout
        count = _write_lines(records, stream)
        print(f"exported {count} subscriptions of app {app_id}", file=sys.stderr)
        return Output({"exported": count, "app_id": app_id}, "", streamed=True)
    try:
        with open(output_path, "w", encoding="utf-8") as file:
            count = _write_lines(records, file)
    except OSError as error:
        raise CliError(f"cannot write {output_path!r}: {error.strerror or error}") from error
    return Output({"exported": count, "app_id": app_id, "output": output_path},
                  f"exported {count} subscriptions of app {app_id} to {output_path}")


def _write_lines(records: object, stream: TextIO) -> int:
    count = 0
    for record in records:  # type: ignore[attr-defined]
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        count += 1
    stream.flush()
    return count


def import_subscriptions(
    stack: Stack, app_id: str, path: str, file_format: str, stderr: TextIO | None = None
) -> Output:
    stderr = stderr or sys.stderr
    try:
        with open(path, encoding="utf-8-sig", newline="") as file:
            text = file.read()
    except (OSError, UnicodeDecodeError) as error:
        raise CliError(f"cannot read {path!r}: {getattr(error, 'strerror', None) or error}") from error
    app = _app(stack, app_id)
    progress = _progress_bar(stderr, count_records(text, file_format)) if stderr.isatty() else None
    report = transfer_service(stack).import_records(app, read_records(text, file_format), progress)
    if progress is not None:
        stderr.write("\n")
    data = {"app_id": app_id, **report.as_dict()}
    lines = [f"imported into app {app_id}: {report.created} created, {report.updated} already there (updated), "
             f"{report.skipped} skipped (not active), {len(report.errors)} refused"]
    lines += [f"  line {error.line}: {error.message}" for error in report.errors[:MAX_ERRORS_SHOWN]]
    if len(report.errors) > MAX_ERRORS_SHOWN:
        lines.append(f"  ... and {len(report.errors) - MAX_ERRORS_SHOWN} more (--json lists them all)")
    # Some rows refused: the valid ones are in, and the exit status says not everything was.
    return Output(data, "\n".join(lines), exit_code=1 if report.errors else 0)


def _progress_bar(stream: TextIO, total: int) -> Callable[[int], None]:
    def show(done: int) -> None:
        filled = PROGRESS_BAR_WIDTH * done // total if total else PROGRESS_BAR_WIDTH
        stream.write(f"\r[{'#' * filled}{'.' * (PROGRESS_BAR_WIDTH - filled)}] {done}/{total}")
        stream.flush()

    return show
