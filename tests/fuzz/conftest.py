"""Fixtures of the route fuzzing: a local stack of its own (started as `make run` starts it, from the
e2e fixtures) and the demo app's credentials for each surface, valid and hostile."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import local_stack, start_stack  # noqa: F401 - fixtures used by test_fuzz_routes
from tests.e2e.local_stack import LocalStackProcess
from tests.fuzz.credentials import SurfaceCredentials, credentials_for


@pytest.fixture(scope="session")
def fuzz_credentials(local_stack: LocalStackProcess) -> SurfaceCredentials:  # noqa: F811 - the imported fixture
    return credentials_for(local_stack)
