"""Fixtures of the browser tests: headless Chromium (tests/browser/cdp.py), the e2e suite's loopback
Web Push service (web-push-testing, tests/e2e/push-service) and a local stack started as `make run`
starts it (tests/e2e/local_stack.py) that may deliver to that push service.

Each fixture skips with its reason where its tool cannot be had (no Chromium, no Node.js)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.cdp import Chromium, chromium_missing
from pushgate_local.process import LocalStackProcess, running_stack
from tests.e2e.push_service import LoopbackPushService, running_push_service


@pytest.fixture(scope="session")
def browser_push_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoopbackPushService]:
    with running_push_service(tmp_path_factory.mktemp("browser-push-service") / "push-service.log") as service:
        yield service


@pytest.fixture(scope="session")
def browser_stack(tmp_path_factory: pytest.TempPathFactory, browser_push_service: LoopbackPushService) -> Iterator[LocalStackProcess]:
    """The local stack as `make run` starts it, allowed to deliver to the loopback push service."""
    with running_stack(tmp_path_factory.mktemp("browser-stack"), browser_push_service.push_host) as stack:
        yield stack


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    reason = chromium_missing()
    if reason is not None:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp("chromium")
    browser = Chromium(base / f"profile-{uuid.uuid4().hex[:8]}", base / "chromium.log")
    browser.start()
    yield browser
    browser.stop()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a test's screenshots go; printed, so `-s` or a failure's output shows it."""
    directory = tmp_path / "screenshots"
    directory.mkdir()
    print(f"\nscreenshots: {directory}")
    return directory
