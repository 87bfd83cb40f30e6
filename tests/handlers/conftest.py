"""Fixtures of the handler tests: the surfaces of the contract, and apps as `pushgate app create` makes them."""

from __future__ import annotations

import pytest

from tests.surfaces import Surfaces, Tenant


@pytest.fixture
def surfaces(import_handler, lambda_context) -> Surfaces:  # noqa: ANN001
    return Surfaces(import_handler, lambda_context)


@pytest.fixture
def tenant(pushgate, demo_app) -> Tenant:  # noqa: ANN001
    return Tenant(demo_app, pushgate)


@pytest.fixture
def other_tenant(pushgate) -> Tenant:  # noqa: ANN001
    """A second app of the same deployment."""
    return Tenant(pushgate.apps().create_app("other"), pushgate)
