"""Fixtures for the CLI: a stack on the moto account, `main(argv)` run in-process, and a local
stack that speaks real HTTP (a moto server plus the /_pushgate/local discovery document)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from tests.cli.helpers import CliRun, serve_http


@pytest.fixture
def stack(aws: dict[str, Any]):  # noqa: ANN201
    from pushgate.config import Settings
    from pushgate_cli.target import stack_from_clients

    # The same table and prefix the handlers' wiring reads from the environment the `aws` fixture sets.
    settings = Settings.from_env()
    return stack_from_clients("the moto account", aws["dynamodb"], aws["ssm"], settings.table_name, settings.ssm_prefix)


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """main(argv) in-process; with `stack=` it acts on that stack instead of connecting."""
    from pushgate_cli.main import main

    def run(*argv: str, stack: Any = None) -> CliRun:
        capsys.readouterr()  # drop anything printed before this run
        code = main(list(argv)) if stack is None else main(list(argv), connect=lambda **_: stack)
        out, err = capsys.readouterr()
        return CliRun(code, out, err)

    return run


@pytest.fixture
def cli(run_cli: Callable[..., CliRun], stack: Any) -> Callable[..., CliRun]:
    """The CLI acting on the moto account."""
    return lambda *argv: run_cli(*argv, stack=stack)


@pytest.fixture
def created_app(cli: Callable[..., CliRun]) -> dict[str, Any]:
    """The --json output of `pushgate app create`."""
    result = cli("app", "create", "--name", "demo", "--json")
    assert result.code == 0, result.stderr
    return result.json


@pytest.fixture
def local_stack_url() -> Iterator[str]:
    """A stand-in for `make run`: a moto server over real HTTP with the table created from
    template.yaml, and the discovery document pointing at it. Not combined with the `aws`
    fixture: mock_aws would intercept the requests meant for the server."""
    from moto.server import ThreadedMotoServer

    from pushgate_local.template import table_definition

    moto_server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto_server.start()
    try:
        host, port = moto_server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        # moto's backends live in this process and outlive a server: start from an empty account.
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()
        credentials = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
        session = boto3.session.Session(region_name="us-east-1", **credentials)
        session.client("dynamodb", endpoint_url=endpoint).create_table(**table_definition(table_name="pushgate-local"))
        info = {
            "aws_endpoint_url": endpoint,
            "region": "us-east-1",
            "table_name": "pushgate-local",
            "ssm_prefix": "/pushgate/local",
            "http_url": "http://127.0.0.1:3000",
            "ws_url": "ws://127.0.0.1:3001",
        }
        with serve_http({"/_pushgate/local": (200, json.dumps(info).encode())}) as base_url:
            yield base_url
    finally:
        moto_server.stop()
