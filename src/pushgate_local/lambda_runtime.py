"""Lambda emulation: each function runs in long-lived worker processes (`lambda_worker.py`), one
invocation at a time per worker, like Lambda execution environments.

A function's first invocation starts a worker (the cold start); concurrent invocations start more,
up to a small cap; idle workers are reused (warm starts). A worker that overruns the function's
Timeout is killed and replaced by a fresh one on the next invocation, as Lambda does."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pushgate_local.aws_endpoint import FAKE_CREDENTIALS
from pushgate_local.intrinsics import REGION, StackContext
from pushgate_local.template import FunctionSpec, layer_python_dir

WORKER_SCRIPT = Path(__file__).with_name("lambda_worker.py")
MAX_WORKERS_PER_FUNCTION = 4
INIT_TIMEOUT_SECONDS = 10.0  # Lambda's limit for the init phase
PYTHON_RUNTIME = "python3.13"

LogSink = Callable[[str], None]
_log_lock = threading.Lock()


def stderr_log(prefix: str) -> LogSink:
    def write(line: str) -> None:
        with _log_lock:
            sys.stderr.write(f"[{prefix}] {line.rstrip()}\n")
            sys.stderr.flush()

    return write


@dataclass(frozen=True)
class FunctionDeployment:
    """Everything a worker needs to host one function, intrinsics already resolved."""

    logical_id: str
    name: str
    arn: str
    handler: str
    code_dir: Path
    timeout: float
    memory: int = 128
    python_paths: tuple[Path, ...] = ()  # the layers' python dirs, after the code dir
    environment: dict[str, str] = field(default_factory=dict)
    region: str = REGION


def deployment_from_template(spec: FunctionSpec, context: StackContext) -> FunctionDeployment:
    # A layer without a python/ dir in the source tree is built from a lock file (the DepsLayer):
    # locally its packages are the virtualenv's, installed from the same lock.
    layer_dirs = tuple(path for layer in spec.layers if (path := layer_python_dir(layer, context.template)).is_dir())
    environment = {
        # No X-Ray daemon here: the template's `Tracing: Active` is an AWS-side setting.
        "POWERTOOLS_TRACE_DISABLED": "true",
        **context.environment(spec.environment),
        "AWS_ENDPOINT_URL": context.aws_endpoint_url,
        **FAKE_CREDENTIALS,
    }
    return FunctionDeployment(
        logical_id=spec.logical_id,
        name=context.physical_name(spec.logical_id),
        arn=context.arn(spec.logical_id),
        handler=spec.handler,
        code_dir=spec.code_uri.resolve(),
        timeout=spec.timeout,
        memory=spec.memory,
        python_paths=layer_dirs,
        environment=environment,
        region=context.region,
    )


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation: a payload, or a Lambda error document."""

    request_id: str
    payload: Any = None
    error: dict[str, Any] | None = None
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        return self.error is not None


def _error(error_type: str, message: str) -> dict[str, Any]:
    """A Lambda error document, for failures of the runtime rather than of the handler."""
    return {"errorType": error_type, "errorMessage": message}


def _lambda_environment(deployment: FunctionDeployment, log_stream: str) -> dict[str, str]:
    """The worker's whole environment: the function's variables plus the ones Lambda reserves."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        **deployment.environment,
        "_HANDLER": deployment.handler,
        "AWS_REGION": deployment.region,
        "AWS_DEFAULT_REGION": deployment.region,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_{PYTHON_RUNTIME}",
        "AWS_LAMBDA_FUNCTION_NAME": deployment.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(deployment.memory),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{deployment.name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
        "LAMBDA_TASK_ROOT": str(deployment.code_dir),
        "PYTHONUNBUFFERED": "1",  # logs reach the terminal as they are written
    }


class Worker:
    """One execution environment: a `lambda_worker.py` process and the threads reading it."""

    def __init__(self, deployment: FunctionDeployment, log: LogSink) -> None:
        self._deployment = deployment
        self._log = log
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        log_stream = time.strftime("%Y/%m/%d/[$LATEST]", time.gmtime()) + uuid.uuid4().hex
        self._process = subprocess.Popen(
            [sys.executable, "-P", str(WORKER_SCRIPT), str(deployment.code_dir), *map(str, deployment.python_paths)],
            cwd=deployment.code_dir,
            env=_lambda_environment(deployment, log_stream),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            # Its own process group: Ctrl-C reaches the stack, which then stops workers itself.
            process_group=0,
        )
        threading.Thread(target=self._read_protocol, daemon=True).start()
        threading.Thread(target=self._forward_logs, daemon=True).start()

    def _read_protocol(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            try:
                self._messages.put(json.loads(line))
            except ValueError:
                self._log(f"protocol: ignored a line that is not JSON: {line[:200]!r}")
        self._messages.put({"type": "exit"})

    def _forward_logs(self) -> None:
        assert self._process.stderr is not None
        for line in self._process.stderr:
            self._log(line)

    @property
    def alive(self) -> bool:
        return self._process.poll() is None

    def _next_message(self, timeout: float) -> dict[str, Any] | None:
        try:
            return self._messages.get(timeout=max(timeout, 0))
        except queue.Empty:
            return None

    def wait_ready(self) -> dict[str, Any] | None:
        """None once the handler is imported; else the init error (the worker is then gone)."""
        message = self._next_message(INIT_TIMEOUT_SECONDS)
        if message is not None and message["type"] == "ready":
            self._log(f"INIT_REPORT Init Duration: {message['init_ms']:.2f} ms")
            return None
        self.kill()
        if message is None:
            return _error("Runtime.InitTimeout", f"Init phase exceeded {INIT_TIMEOUT_SECONDS:.0f} seconds")
        if message["type"] == "init_error":
            return message["error"]
        return self._exit_error()

    def invoke(self, request_id: str, event: Any) -> Invocation:
        timeout = self._deployment.timeout
        deadline = time.time() + timeout
        request = {
            "request_id": request_id,
            "invoked_function_arn": self._deployment.arn,
            "deadline_ms": int(deadline * 1000),
            "event": event,
        }
        try:
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
        except (BrokenPipeError, OSError):
            return Invocation(request_id, error=self._exit_error(request_id))
        message = self._next_message(deadline - time.time())
        if message is None:
            self.kill()
            text = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            return Invocation(request_id, error=_error("Sandbox.Timedout", text), timed_out=True)
        if message["type"] == "result":
            return Invocation(request_id, payload=message["payload"])
        if message["type"] == "error":
            return Invocation(request_id, error=message["error"])
        return Invocation(request_id, error=self._exit_error(request_id))

    def _exit_error(self, request_id: str = "") -> dict[str, Any]:
        try:
            status = self._process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
            status = self._process.returncode
        prefix = f"RequestId: {request_id} " if request_id else ""
        return _error("Runtime.ExitError", f"{prefix}Error: Runtime exited with error: exit status {status}")

    def kill(self) -> None:
        if self.alive:
            try:
                os.killpg(self._process.pid, signal.SIGKILL)  # the handler's own children too
            except ProcessLookupError:
                pass
        self._process.wait()
        try:
            if self._process.stdin is not None:
                self._process.stdin.close()
        except OSError:
            pass  # the pipe's far end is gone already


_SHUTTING_DOWN = _error("Runtime.Unavailable", "the local stack is shutting down")


class _NoWorker(Exception):
    """No execution environment could take the invocation; `error` says why, as Lambda would."""

    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error["errorMessage"])
        self.error = error


class FunctionPool:
    """The execution environments of one function."""

    def __init__(
        self, deployment: FunctionDeployment, max_workers: int = MAX_WORKERS_PER_FUNCTION, log: LogSink | None = None
    ) -> None:
        self.deployment = deployment
        self._max_workers = max_workers
        self._log = log or stderr_log(deployment.logical_id)
        self._idle: list[Worker] = []
        self._live = 0
        self._all: set[Worker] = set()
        self._closed = False
        self._available = threading.Condition()

    def invoke(self, event: Any) -> Invocation:
        request_id = str(uuid.uuid4())
        try:
            worker = self._acquire()
        except _NoWorker as problem:
            return Invocation(request_id, error=problem.error)
        started = time.monotonic()
        self._log(f"START RequestId: {request_id} Version: $LATEST")
        try:
            result = worker.invoke(request_id, event)
        finally:
            self._release(worker)
        duration = (time.monotonic() - started) * 1000
        self._log(f"END RequestId: {request_id}")
        status = " Status: timeout" if result.timed_out else ""
        memory = self.deployment.memory
        self._log(f"REPORT RequestId: {request_id} Duration: {duration:.2f} ms Memory Size: {memory} MB{status}")
        return result

    def _acquire(self) -> Worker:
        with self._available:
            while True:
                if self._closed:
                    raise _NoWorker(_SHUTTING_DOWN)
                if self._idle:
                    return self._idle.pop()
                if self._live < self._max_workers:
                    self._live += 1
                    break
                self._available.wait()
        worker = Worker(self.deployment, self._log)
        with self._available:
            self._all.add(worker)
            closed_meanwhile = self._closed
        if closed_meanwhile:  # close() may have missed it
            worker.kill()
            raise _NoWorker(_SHUTTING_DOWN)
        init_error = worker.wait_ready()  # the cold start
        if init_error is not None:
            self._discard(worker)
            raise _NoWorker(init_error)
        return worker

    def _release(self, worker: Worker) -> None:
        if not worker.alive:
            self._discard(worker)
            return
        with self._available:
            if self._closed:
                worker.kill()
                return
            self._idle.append(worker)
            self._available.notify()

    def _discard(self, worker: Worker) -> None:
        with self._available:
            self._all.discard(worker)
            self._live -= 1
            self._available.notify()

    def close(self) -> None:
        with self._available:
            self._closed = True
            workers = list(self._all)
            self._idle.clear()
            self._available.notify_all()
        for worker in workers:
            worker.kill()


class LambdaRuntime:
    """Every function of the stack, invoked by logical id."""

    def __init__(self, deployments: dict[str, FunctionDeployment], max_workers: int = MAX_WORKERS_PER_FUNCTION) -> None:
        self._pools = {logical_id: FunctionPool(d, max_workers) for logical_id, d in deployments.items()}

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        return self._pools[logical_id].invoke(event)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
