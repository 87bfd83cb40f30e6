"""Shared fixtures: fake AWS credentials, a moto account whose table is built from template.yaml,
API Gateway events from events/, and handler modules imported the way Lambda imports them."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
TABLE_NAME = "pushgate-test"
TEST_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "TABLE_NAME": TABLE_NAME,
    "PUSHGATE_STAGE": "test",
    "PUSHGATE_SSM_PREFIX": "/pushgate/test",
    "PUSHGATE_EXTRA_PUSH_HOSTS": "",
    "PUSHGATE_DEVELOPMENT_MODE": "false",
    "POWERTOOLS_SERVICE_NAME": "pushgate",
    "POWERTOOLS_METRICS_NAMESPACE": "pushgate",
    "POWERTOOLS_TRACE_DISABLED": "1",
    "POWERTOOLS_DEV": "false",
}
# Set before any test module imports boto3 or Powertools, which read them at import time.
for _name, _value in TEST_ENV.items():
    os.environ.setdefault(_name, _value)
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    function_version: str = "$LATEST"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    memory_limit_in_mb: int = 512
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/11/23/[$LATEST]abcdef"

    remaining_ms: int = 120_000  # the sender's timeout; SQS consumers start no message without enough left

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


def load_event(name: str) -> dict[str, Any]:
    return json.loads((REPO / "events" / name).read_text())


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """A moto account with the table created from template.yaml's definition."""
    import boto3
    from moto import mock_aws

    from pushgate import config, wiring
    from pushgate_local.template import table_definition

    for name, value in TEST_ENV.items():
        monkeypatch.setenv(name, value)
    def clear_caches() -> None:
        config.settings.cache_clear()
        for factory in (wiring.services, wiring.push_service, wiring.fanout_service, wiring.delivery_service, wiring.native_delivery_service, wiring.sqs_client):
            factory.cache_clear()

    clear_caches()
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**table_definition(table_name=TABLE_NAME))
        yield {"dynamodb": dynamodb, "ssm": boto3.client("ssm"), "sqs": boto3.client("sqs")}
    clear_caches()


@pytest.fixture
def import_handler(aws: dict[str, Any]) -> Callable[[str], ModuleType]:
    """Import functions/<name>/app.py as Lambda would: fresh, inside the moto account."""

    def _import(name: str) -> ModuleType:
        path = REPO / "functions" / name / "app.py"
        module_name = f"_handler_{name}"
        spec = importlib.util.spec_from_file_location(module_name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module

    return _import


@pytest.fixture
def pushgate(aws: dict[str, Any]):  # noqa: ANN201
    """The wired services on the moto account (the same wiring the handlers use)."""
    from pushgate.wiring import services

    return services()


@pytest.fixture
def demo_app(pushgate):  # noqa: ANN001, ANN201
    """A freshly created app, as `pushgate app create` makes it."""
    return pushgate.apps().create_app("demo")
