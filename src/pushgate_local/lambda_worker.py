"""One Lambda execution environment: imports the handler once (the cold start), then runs
invocations one at a time, as the python3.13 runtime does.

Run as a script by `lambda_runtime` (never imported there, and importing nothing of the local
stack, so the handler's sys.path is only what Lambda would give it):

    python -P lambda_worker.py <code dir> <layer python dir>...

The handler comes from $_HANDLER (module.function), like in Lambda. The protocol is JSON lines:
invocations on the original stdin, results on the original stdout. Both are moved off fds 0 and 1
first, so whatever the handler prints (Powertools logs to stdout) goes to stderr, i.e. the logs."""

from __future__ import annotations

import decimal
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any, TextIO


class LambdaFault(Exception):
    """A runtime-level failure, reported with the runtime's own error types."""

    def __init__(self, error_type: str, message: str) -> None:
        super().__init__(message)
        self.error_type = error_type


class LambdaContext:
    """The context object of the python3.13 runtime, attribute for attribute."""

    def __init__(self, request_id: str, invoked_function_arn: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]  # a str in the real runtime too
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.identity = None
        self.client_context = None
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, message: str) -> None:
        sys.stdout.write(message)

    def __repr__(self) -> str:
        return f"LambdaContext(aws_request_id={self.aws_request_id!r}, function_name={self.function_name!r})"


def load_handler(handler: str) -> Any:
    """Import the handler the way the runtime does, with the runtime's error types."""
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise LambdaFault("Runtime.MalformedHandlerName", f"Bad handler '{handler}': not enough values to unpack")
    try:
        module = importlib.import_module(module_name.replace("/", "."))
    except ImportError as error:
        raise LambdaFault("Runtime.ImportModuleError", f"Unable to import module '{module_name}': {error}") from error
    except SyntaxError as error:
        raise LambdaFault("Runtime.UserCodeSyntaxError", f"Syntax error in module '{module_name}': {error}") from error
    try:
        return getattr(module, function_name)
    except AttributeError:
        message = f"Handler '{function_name}' missing on module '{module_name}'"
        raise LambdaFault("Runtime.HandlerNotFound", message) from None


def error_payload(error: BaseException, request_id: str | None = None) -> dict[str, Any]:
    """The error document Lambda returns for a failed invocation, logged as the runtime logs it."""
    error_type = error.error_type if isinstance(error, LambdaFault) else type(error).__name__
    # The handler's frames only: this file plays the runtime, whose frames Lambda does not show.
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if frame.filename != __file__]
    stack_trace = traceback.format_list(frames)
    payload: dict[str, Any] = {"errorMessage": str(error), "errorType": error_type, "stackTrace": stack_trace}
    if request_id:
        payload["requestId"] = request_id
    print(f"[ERROR] {error_type}: {error}\nTraceback (most recent call last):\n{''.join(stack_trace)}", file=sys.stderr)
    return payload


def _lambda_json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):  # the runtime's marshaller accepts Decimal (DynamoDB numbers)
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


class Channel:
    """The protocol: private copies of the original stdin/stdout, then fds 0/1 moved away."""

    def __init__(self) -> None:
        self._in: TextIO = os.fdopen(os.dup(0), "r", encoding="utf-8")
        self._out: TextIO = os.fdopen(os.dup(1), "w", encoding="utf-8")
        os.dup2(2, 1)  # the handler's stdout now goes to the logs
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)
        sys.stdout.reconfigure(line_buffering=True)

    def send(self, message: dict[str, Any]) -> None:
        try:
            line = json.dumps(message, default=_lambda_json_default)
        except (TypeError, ValueError) as error:
            fault = LambdaFault("Runtime.MarshalError", f"Unable to marshal response: {error}")
            request_id = message.get("request_id")
            line = json.dumps({"type": "error", "request_id": request_id, "error": error_payload(fault, request_id)})
        self._out.write(line + "\n")
        self._out.flush()

    def messages(self) -> Any:
        for line in self._in:
            if line.strip():
                yield json.loads(line)


def main(python_paths: list[str]) -> int:
    sys.path[:0] = python_paths
    channel = Channel()
    started = time.monotonic()
    try:
        handler = load_handler(os.environ["_HANDLER"])
    except Exception as error:  # an init error fails this environment; the next invoke starts anew
        channel.send({"type": "init_error", "error": error_payload(error)})
        return 1
    channel.send({"type": "ready", "init_ms": (time.monotonic() - started) * 1000})
    for message in channel.messages():
        request_id = message["request_id"]
        context = LambdaContext(request_id, message["invoked_function_arn"], message["deadline_ms"])
        try:
            result = handler(message["event"], context)
        except Exception as error:
            channel.send({"type": "error", "request_id": request_id, "error": error_payload(error, request_id)})
        else:
            channel.send({"type": "result", "request_id": request_id, "payload": result})
    return 0  # the parent closed our stdin: the environment is being shut down


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
