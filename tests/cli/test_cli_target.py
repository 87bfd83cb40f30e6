"""How the CLI reaches a stack: a deployed one via CloudFormation outputs, the local one via its
discovery document, and clear errors when neither is there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pushgate.repository import Repository
from tests.cli.helpers import free_port, serve_http

DEPLOYED_PREFIX = "/pushgate/deployed"


def _deploy_stack(cloudformation, name: str, outputs: dict[str, str]) -> None:  # noqa: ANN001
    """A CloudFormation stack with the given Outputs, as `sam deploy` would leave them."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))


@pytest.fixture
def cloudformation(aws):  # noqa: ANN001, ANN201
    import boto3

    return boto3.client("cloudformation")


# -- --stack NAME ----------------------------------------------------------------------------


def test_deployed_stack_is_found_through_its_outputs(run_cli, cloudformation, aws):
    table_name = os.environ["TABLE_NAME"]  # the table the `aws` fixture created
    outputs = {"TableName": table_name, "SsmPrefix": DEPLOYED_PREFIX, "ApiUrl": "https://example.invalid"}
    _deploy_stack(cloudformation, "pushgate-dev", outputs)

    created = run_cli("--stack", "pushgate-dev", "--region", "us-east-1", "app", "create", "--name", "prod", "--json")
    assert created.code == 0, created.stderr
    app_id = created.json["app_id"]
    assert Repository(aws["dynamodb"], table_name).get_app(app_id) is not None
    parameter = f"{DEPLOYED_PREFIX}/apps/{app_id}/user-token-private-key"
    stored = aws["ssm"].get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
    assert stored == created.json["user_token_private_key"]

    token = run_cli("token", "create", "--app", app_id, "--user", "u1", "--stack", "pushgate-dev", "--json")
    assert token.code == 0, token.stderr
    session = run_cli("session", "create", "--app", app_id, "--user", "u1", "--stack", "pushgate-dev", "--json")
    assert session.json["account_id"] == created.json["account_id"]


def test_unknown_deployed_stack_exits_1(run_cli, aws):
    result = run_cli("--stack", "nope", "--region", "us-east-1", "app", "create", "--name", "x", "--json")
    assert result.code == 1
    assert result.json["error"].startswith("no stack nope in us-east-1")


def test_stack_without_pushgate_outputs_exits_1(run_cli, cloudformation):
    _deploy_stack(cloudformation, "other", {"Something": "else"})
    result = run_cli("--stack", "other", "app", "create", "--name", "x", "--json")
    assert result.code == 1
    assert result.json == {"error": "stack other has no output TableName or SsmPrefix: is it a pushgate stack?"}


def test_no_region_is_a_clear_error(run_cli, aws, monkeypatch, tmp_path):
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    result = run_cli("--stack", "pushgate-dev", "app", "create", "--name", "x", "--json")
    assert result.code == 1
    assert result.json == {"error": "no AWS region configured: pass --region or set AWS_REGION"}


# -- the local stack -------------------------------------------------------------------------


def test_no_local_stack_on_the_default_port_exits_1_with_the_way_out(run_cli, monkeypatch):
    port = free_port()
    monkeypatch.setenv("PUSHGATE_HTTP_PORT", str(port))
    result = run_cli("app", "create", "--name", "x", "--json")
    assert result.code == 1
    message = (
        f"no local stack at http://127.0.0.1:{port} (start it with `make run`), "
        "or pass --stack NAME for a deployed stack"
    )
    assert result.json == {"error": message}
    assert message in result.stderr


def test_no_local_stack_at_local_url_exits_1(run_cli):
    url = f"http://127.0.0.1:{free_port()}"
    result = run_cli("session", "create", "--app", "a", "--user", "u", "--local-url", url)
    assert result.code == 1
    assert result.stdout == ""
    assert f"no local stack at {url} (start it with `make run`)" in result.stderr


@pytest.mark.parametrize(
    ("routes", "why"),
    [
        ({}, "HTTP 404"),
        ({"/_pushgate/local": (200, b"<html>")}, "did not return JSON"),
        ({"/_pushgate/local": (200, b'{"region": "us-east-1"}')}, "lacks aws_endpoint_url, table_name, ssm_prefix"),
    ],
)
def test_something_else_on_the_port_is_not_taken_for_a_local_stack(run_cli, routes, why):
    with serve_http(routes) as url:
        result = run_cli("app", "create", "--name", "x", "--local-url", url, "--json")
    assert result.code == 1
    assert result.json["error"].startswith(f"{url} answered, but not as a pushgate local stack (")
    assert why in result.json["error"]


def test_local_stack_is_reached_through_its_discovery_document(run_cli, local_stack_url):
    created = run_cli("app", "create", "--name", "local", "--local-url", local_stack_url + "/", "--json")
    assert created.code == 0, created.stderr
    app_id = created.json["app_id"]
    token = run_cli("token", "create", "--app", app_id, "--user", "u", "--local-url", local_stack_url, "--json")
    assert token.code == 0, token.stderr
    session = run_cli("session", "create", "--app", app_id, "--user", "u", "--local-url", local_stack_url)
    assert session.code == 0, session.stderr
    assert f"account_id  {created.json['account_id']}" in session.stdout


def test_console_script_against_a_local_stack(local_stack_url):
    """The installed `pushgate` script, as an operator runs it."""
    script = Path(sys.executable).with_name("pushgate")
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}

    def pushgate(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [str(script), *argv, "--local-url", local_stack_url]
        return subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)

    created = pushgate("app", "create", "--name", "scripted", "--json")
    assert created.returncode == 0, created.stderr
    app = json.loads(created.stdout)
    token = pushgate("token", "create", "--app", app["app_id"], "--user", "u", "--json")
    assert token.returncode == 0, token.stderr
    assert set(json.loads(token.stdout)) == {"token"}
    missing = pushgate("session", "create", "--app", "app_nope", "--user", "u", "--json")
    assert missing.returncode == 1
    assert json.loads(missing.stdout) == {"error": f"no app 'app_nope' on the local stack at {local_stack_url}"}


# -- options ---------------------------------------------------------------------------------


def test_common_options_work_before_or_after_the_command(cli, created_app):
    before = cli("--json", "token", "create", "--app", created_app["app_id"], "--user", "u")
    after = cli("token", "create", "--app", created_app["app_id"], "--user", "u", "--json")
    assert set(before.json) == set(after.json) == {"token"}


def test_stack_and_local_url_together_are_a_usage_error(run_cli):
    result = run_cli("--stack", "s", "--local-url", "http://127.0.0.1:1", "app", "create", "--name", "x", "--json")
    assert result.code == 2
    assert result.json == {"error": "--stack and --local-url name different stacks: give one"}


def test_region_without_stack_is_a_usage_error(run_cli):
    result = run_cli("app", "create", "--name", "x", "--region", "eu-west-1")
    assert result.code == 2
    assert "--region applies to a deployed stack" in result.stderr
