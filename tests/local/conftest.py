"""Fixtures for the local stack's own parts: an in-process AWS endpoint, and throwaway functions."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from pushgate_local.aws_endpoint import AwsEndpoint
from pushgate_local.lambda_runtime import FunctionDeployment


@pytest.fixture
def aws_endpoint() -> Iterator[AwsEndpoint]:
    """The embedded endpoint on a free port. moto's state is per process, so it is reset around
    each test (other tests in this process may use moto too)."""
    endpoint = AwsEndpoint(0)
    endpoint.start()
    requests.post(f"{endpoint.url}/moto-api/reset", timeout=10)
    yield endpoint
    requests.post(f"{endpoint.url}/moto-api/reset", timeout=10)
    endpoint.stop()


@pytest.fixture
def make_function(tmp_path: Path) -> Callable[..., FunctionDeployment]:
    """A function whose code is the given source (module `app`), in its own code dir."""

    def make(
        source: str, handler: str = "app.handler", timeout: float = 3, environment: dict[str, str] | None = None
    ) -> FunctionDeployment:
        code_dir = tmp_path / f"fn{len(list(tmp_path.iterdir()))}"
        code_dir.mkdir()
        (code_dir / "app.py").write_text(textwrap.dedent(source))
        return FunctionDeployment(
            logical_id="TestFunction",
            name="pushgate-local-TestFunction",
            arn="arn:aws:lambda:us-east-1:123456789012:function:pushgate-local-TestFunction",
            handler=handler,
            code_dir=code_dir,
            timeout=timeout,
            memory=256,
            environment=environment or {},
        )

    return make
