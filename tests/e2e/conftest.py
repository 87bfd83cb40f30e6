"""Fixtures starting the local stack as `make run` does (see local_stack.py).

`local_stack` is started once per test session (per xdist worker) and left running; tests that stop
or restart a stack take their own from `start_stack`."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from tests.e2e.local_stack import LocalStackProcess, stack_environment
from tests.e2e.push_service import LoopbackPushService, running_push_service
from tests.e2e.log_hygiene import log_hygiene  # noqa: F401 - autouse: no secret the tests send may reach a stack's logs


@pytest.fixture(scope="module")
def push_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackPushService]:
    """The loopback Web Push service (web-push-testing), one per test module that asks for it."""
    with running_push_service(tmp_path_factory.mktemp("push-service") / "push-service.log") as service:
        yield service


@pytest.fixture(scope="session")
def start_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[], LocalStackProcess]]:
    """Starts a fresh local stack (own ports, own data dir); every one is stopped at the end."""
    started: list[LocalStackProcess] = []

    def start() -> LocalStackProcess:
        base = tmp_path_factory.mktemp("local-stack")
        stack = LocalStackProcess(data_dir=base / "data", log_dir=base, env=stack_environment(base / "data"))
        started.append(stack)
        stack.start()
        return stack

    yield start
    for stack in started:
        stack.stop()


@pytest.fixture(scope="session")
def local_stack(start_stack: Callable[[], LocalStackProcess]) -> LocalStackProcess:
    """The stack shared by the tests that leave it running."""
    return start_stack()
