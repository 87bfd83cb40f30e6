"""docs/api.md §8: the local stack itself (discovery, the demo app and its printed instructions, what
API Gateway answers on its own, and data surviving a restart)."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from tests.e2e.local_stack import START_TIMEOUT_SECONDS, LocalStackProcess, new_subscription, stack_environment

pytestmark = pytest.mark.e2e


def printed_session(stack: LocalStackProcess) -> str:
    match = re.search(r"Session for user 'demo-user' .*: (ses_\S+)", stack.stdout_path.read_text())
    assert match, stack.logs()
    return match.group(1)


def printed_curl_url(stack: LocalStackProcess) -> str:
    match = re.search(r"curl '(\S+/push_subscribe\?\S+)'", stack.stdout_path.read_text())
    assert match, stack.logs()
    return match.group(1)


def test_discovery_describes_the_running_stack(local_stack: LocalStackProcess) -> None:
    discovery = requests.get(f"{local_stack.http_url}/_pushgate/local", timeout=10).json()
    env = local_stack.env
    assert discovery == {
        "aws_endpoint_url": f"http://127.0.0.1:{env['PUSHGATE_AWS_PORT']}",
        "region": "us-east-1",
        "table_name": discovery["table_name"],
        "ssm_prefix": "/pushgate/local",
        "http_url": f"http://127.0.0.1:{env['PUSHGATE_HTTP_PORT']}",
        "ws_url": f"ws://127.0.0.1:{env['PUSHGATE_WS_PORT']}",
        "fake_fcm_url": f"https://127.0.0.1:{env['PUSHGATE_FAKE_FCM_PORT']}",
        "fake_apns_url": f"https://127.0.0.1:{env['PUSHGATE_FAKE_APNS_PORT']}",
        "stale_after_days": 270,  # template.yaml's StaleAfterDays default, what `pushgate sweep --now` applies
        "event_bus_name": "pushgate-local-PushgateEvents",  # where it announces what it expires
    }
    # The endpoint really holds the table and the demo app's keys under the prefix.
    table = local_stack.aws_client("dynamodb").describe_table(TableName=discovery["table_name"])["Table"]
    assert table["TableStatus"] == "ACTIVE"
    ssm = local_stack.aws_client("ssm")
    parameters = ssm.get_parameters_by_path(Path=discovery["ssm_prefix"], Recursive=True)["Parameters"]
    assert any(local_stack.demo()["app_id"] in p["Name"] for p in parameters)


def test_the_printed_instructions_work_as_pasted(local_stack: LocalStackProcess) -> None:
    output = local_stack.stdout_path.read_text()
    demo = local_stack.demo()
    for shown in ("app_id", "account_id", "secret_key", "public_key"):
        assert str(demo[shown]) in output
    assert local_stack.http_url in output
    assert set(demo) >= {"app_id", "account_id", "secret_key", "public_key", "channels", "user_token_private_key"}
    assert demo["channels"][0]["type"] == "webpush"

    response = requests.get(printed_curl_url(local_stack), timeout=30)
    assert response.json()["data"]["operation_status"] == "SUCCESS"
    own = requests.get(
        f"{local_stack.http_url}/{demo['account_id']}/push_subscribe",
        params=new_subscription().params(printed_session(local_stack)),
        timeout=30,
    )
    assert own.json()["data"]["operation_status"] == "SUCCESS"


def test_unknown_routes_get_api_gateways_not_found(local_stack: LocalStackProcess) -> None:
    response = requests.get(f"{local_stack.http_url}/no/such/route", timeout=10)
    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}
    assert response.headers["apigw-requestid"]


def test_cors_preflight_is_answered_from_the_template(local_stack: LocalStackProcess) -> None:
    response = requests.options(
        f"{local_stack.http_url}/1/push_subscribe",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "POST" in response.headers["access-control-allow-methods"]


def test_data_survives_a_restart(start_stack: Callable[[], LocalStackProcess]) -> None:
    # Given a stack with a session and a subscription
    stack = start_stack()
    demo = stack.demo()
    session_id = stack.create_session("erin")
    subscription = new_subscription()
    url = f"{stack.http_url}/{demo['account_id']}/push_subscribe"
    first = requests.get(url, params=subscription.params(session_id), timeout=30).json()["data"]["push_subscription_id"]
    # When it is stopped (SIGTERM, as Ctrl-C) and started again on the same data dir
    assert stack.stop() == 0
    stack.start()
    # Then the demo app, the session and the subscription are all still there
    assert stack.demo() == demo
    assert "from an earlier start" in stack.stdout_path.read_text()
    again = requests.get(url, params=subscription.params(session_id), timeout=30).json()
    assert again["data"]["push_subscription_id"] == first
    # and the app's private keys survived in SSM
    keys = stack.aws_client("ssm").get_parameters_by_path(Path="/pushgate/local/apps", Recursive=True)["Parameters"]
    assert len([k for k in keys if demo["app_id"] in k["Name"]]) == 4  # VAPID, user-token, fcm and apns keys


def run_until_exit(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pushgate_local"], env=env, capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS
    )


def test_a_busy_port_is_reported_clearly(local_stack: LocalStackProcess, tmp_path: Path) -> None:
    env = {**stack_environment(tmp_path / "data"), "PUSHGATE_HTTP_PORT": local_stack.env["PUSHGATE_HTTP_PORT"]}
    result = run_until_exit(env)
    assert result.returncode == 1
    assert "cannot start" in result.stderr and "PUSHGATE_HTTP_PORT" in result.stderr


def test_a_bad_setting_is_reported_clearly(tmp_path: Path) -> None:
    result = run_until_exit({**stack_environment(tmp_path / "data"), "PUSHGATE_DEVELOPMENT_MODE": "maybe"})
    assert result.returncode == 2
    assert "DevelopmentMode='maybe'" in result.stderr
