"""The Lambda emulation: worker processes, the invocation protocol, the context, errors, timeouts."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import pytest

from pushgate_local.lambda_runtime import FunctionDeployment, FunctionPool

ECHO = """
import os, sys
print("printed at import")  # must not corrupt the protocol

def handler(event, context):
    print("printed by the handler")
    sys.stdout.write("no newline either")
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "log_group": context.log_group_name,
        "log_stream": context.log_stream_name,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "env": {k: os.environ.get(k) for k in ("GREETING", "_HANDLER", "AWS_REGION", "LAMBDA_TASK_ROOT")},
        "sys_path_head": sys.path[:1],
        "pid": os.getpid(),
    }
"""

SLEEPER = """
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0.5))
    return os.getpid()
"""


@pytest.fixture
def pools() -> Iterator[list[FunctionPool]]:
    created: list[FunctionPool] = []
    yield created
    for pool in created:
        pool.close()


@pytest.fixture
def pool_for(
    pools: list[FunctionPool], make_function: Callable[..., FunctionDeployment]
) -> Callable[..., FunctionPool]:
    def create(source: str, max_workers: int = 4, **options: object) -> FunctionPool:
        pool = FunctionPool(make_function(source, **options), max_workers=max_workers, log=lambda line: None)
        pools.append(pool)
        return pool

    return create


def test_the_handler_gets_the_event_and_a_lambda_context(pool_for: Callable[..., FunctionPool]) -> None:
    pool = pool_for(ECHO, timeout=3, environment={"GREETING": "hello"})
    result = pool.invoke({"answer": 42})
    assert not result.failed, result.error
    payload = result.payload
    assert payload["event"] == {"answer": 42}
    assert payload["request_id"] == result.request_id
    assert payload["function_name"] == "pushgate-local-TestFunction"
    assert payload["function_version"] == "$LATEST"
    assert payload["memory"] == "256"
    assert payload["arn"].endswith(":function:pushgate-local-TestFunction")
    assert payload["log_group"] == "/aws/lambda/pushgate-local-TestFunction"
    assert "[$LATEST]" in payload["log_stream"]
    assert 2000 < payload["remaining_ms"] <= 3000
    assert payload["env"]["GREETING"] == "hello"
    assert payload["env"]["_HANDLER"] == "app.handler"
    assert payload["env"]["AWS_REGION"] == "us-east-1"
    assert payload["sys_path_head"] == [payload["env"]["LAMBDA_TASK_ROOT"]]


def test_warm_invocations_reuse_the_worker_with_a_fresh_request_id(pool_for: Callable[..., FunctionPool]) -> None:
    pool = pool_for(ECHO)
    first, second = pool.invoke({}), pool.invoke({})
    assert first.payload["pid"] == second.payload["pid"]
    assert first.request_id != second.request_id
    assert second.payload["request_id"] == second.request_id


def test_concurrent_invocations_get_their_own_workers_up_to_the_cap(pool_for: Callable[..., FunctionPool]) -> None:
    pool = pool_for(SLEEPER, max_workers=2)
    pool.invoke({})  # warm one worker
    results = []
    threads = [threading.Thread(target=lambda: results.append(pool.invoke({}).payload)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4 and len(set(results)) == 2


def test_a_handler_exception_is_a_lambda_error(pool_for: Callable[..., FunctionPool]) -> None:
    pool = pool_for("def handler(event, context):\n    raise KeyError('missing')\n")
    result = pool.invoke({})
    assert result.failed and not result.timed_out
    assert result.error["errorType"] == "KeyError"
    assert result.error["errorMessage"] == "'missing'"
    assert "app.py" in result.error["stackTrace"][0]
    assert pool.invoke({}).error["errorType"] == "KeyError"  # the environment survives it


def test_a_timeout_kills_the_worker_and_the_next_one_is_fresh(pool_for: Callable[..., FunctionPool]) -> None:
    pool = pool_for(SLEEPER, timeout=0.5)
    before = pool.invoke({"sleep": 0}).payload
    started = time.monotonic()
    result = pool.invoke({"sleep": 5})
    assert result.timed_out and result.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 0.50 seconds" in result.error["errorMessage"]
    assert time.monotonic() - started < 2
    after = pool.invoke({"sleep": 0}).payload
    assert after != before


@pytest.mark.parametrize(
    ("source", "handler", "error_type"),
    [
        ("import no_such_module\n", "app.handler", "Runtime.ImportModuleError"),
        ("def handler(event, context) pass\n", "app.handler", "Runtime.UserCodeSyntaxError"),
        ("def other(event, context):\n    return 1\n", "app.handler", "Runtime.HandlerNotFound"),
        ("def handler(event, context):\n    return 1\n", "handler", "Runtime.MalformedHandlerName"),
        ("raise RuntimeError('no config')\n", "app.handler", "RuntimeError"),
    ],
)
def test_init_errors_are_reported_like_the_runtime(
    pool_for: Callable[..., FunctionPool], source: str, handler: str, error_type: str
) -> None:
    result = pool_for(source, handler=handler).invoke({})
    assert result.failed and result.error["errorType"] == error_type


def test_a_worker_that_exits_is_an_exit_error(pool_for: Callable[..., FunctionPool]) -> None:
    pool = pool_for("import os\ndef handler(event, context):\n    return os._exit(3) if event.get('exit') else 'ok'\n")
    result = pool.invoke({"exit": True})
    assert result.error["errorType"] == "Runtime.ExitError" and "exit status 3" in result.error["errorMessage"]
    assert pool.invoke({}).payload == "ok"


def test_results_are_marshalled_like_the_runtime(pool_for: Callable[..., FunctionPool]) -> None:
    pool = pool_for(
        "from decimal import Decimal\ndef handler(event, context):\n"
        "    return Decimal('1.5') if event.get('decimal') else object()\n"
    )
    assert pool.invoke({"decimal": True}).payload == 1.5  # DynamoDB numbers come back as Decimal
    assert pool.invoke({}).error["errorType"] == "Runtime.MarshalError"


def test_closing_the_pool_kills_busy_workers(pool_for: Callable[..., FunctionPool]) -> None:
    pool = pool_for("import time\ndef handler(event, context):\n    time.sleep(30)\n", timeout=60)
    results = []
    thread = threading.Thread(target=lambda: results.append(pool.invoke({})))
    thread.start()
    time.sleep(1)
    pool.close()
    thread.join(timeout=5)
    assert results and results[0].failed
    assert pool.invoke({}).error["errorType"] == "Runtime.Unavailable"
