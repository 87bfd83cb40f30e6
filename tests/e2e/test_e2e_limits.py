"""Per-app request rates end to end (docs/limits.md): a local stack of its own deployed with tiny
rates through the template parameters (PUSHGATE_SEND_RATE_PER_SECOND and
PUSHGATE_SUBSCRIBE_RATE_PER_SECOND, as `make run` takes them), so each app's bucket holds a single
request and takes 100 s to refill: the second request of a group is refused on every surface, in
that surface's envelope, whatever the machine's speed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.e2e.clients import open_ws, pushgate_cli, send, user_token
from tests.e2e.local_stack import LocalStackProcess, new_subscription, stack_environment

pytestmark = pytest.mark.e2e

RATE = "0.01"  # a request each 100 s, a bucket of one
REFILL_SECONDS = 100


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackProcess]:
    base = tmp_path_factory.mktemp("limited-stack")
    env = {**stack_environment(base / "data"), "PUSHGATE_SEND_RATE_PER_SECOND": RATE, "PUSHGATE_SUBSCRIBE_RATE_PER_SECOND": RATE}
    stack = LocalStackProcess(data_dir=base / "data", log_dir=base, env=env)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def retry_after(response: requests.Response) -> int:
    seconds = int(response.headers["Retry-After"])
    assert 0 < seconds <= REFILL_SECONDS
    return seconds


def test_every_surface_refuses_the_request_past_the_apps_bucket(limited_stack: LocalStackProcess) -> None:
    stack, demo = limited_stack, limited_stack.demo()
    sessions = f"{stack.http_url}/sessions"

    # send: POST /sessions takes the one token, so GET /topics is refused.
    created = requests.post(sessions, params={"api_key": demo["secret_key"]}, json={"user_id": "alice"}, timeout=30)
    assert created.status_code == 201, created.text
    session_id = created.json()["session_id"]
    refused = requests.get(f"{stack.http_url}/topics", params={"api_key": demo["secret_key"]}, timeout=30)
    assert refused.status_code == 429 and refused.json()["code"] == "RATE_LIMITED"
    retry_after(refused)

    # subscribe: the account API takes the one token; the device and channel APIs and the
    # WebSocket commands of the same app are refused.
    subscription = new_subscription()
    url = f"{stack.http_url}/{demo['account_id']}/push_subscribe"
    subscribed = requests.get(url, params=subscription.params(session_id), timeout=30)
    assert subscribed.status_code == 200 and subscribed.json()["data"]["operation_status"] == "SUCCESS", subscribed.text

    devices = requests.get(f"{stack.http_url}/me/devices", headers={"IM-CLIENT-KEY": demo["public_key"], "IM-Authorization": session_id}, timeout=30)
    assert devices.status_code == 429 and devices.json()["RC"] == 429 and devices.json()["error"]["code"] == "RATE_LIMITED"
    retry_after(devices)

    channel = f"{stack.http_url}/user/v1/channels/{demo['channels'][0]['id']}/subscriptions"
    headers = {"x-notiflows-api-key": demo["public_key"], "x-notiflows-user-key": user_token(stack, "alice")}
    listed = requests.get(channel, headers=headers, timeout=30)
    assert listed.status_code == 429, listed.text
    error: dict[str, Any] = listed.json()["error"]
    assert (error["code"], error["status"], error["details"]["window"]) == ("rate_limited", 429, "1s")
    assert error["details"]["retry_after"] == retry_after(listed)

    again = requests.get(url, params=subscription.params(session_id), timeout=30)
    assert again.status_code == 429 and again.json() == {"error_no": 429, "error_message": "Too Many Requests"}

    with open_ws(stack, token=session_id) as connection:  # opening a socket is not counted
        assert send(connection, {"cmd": "push_get_vapid"}) == {"cmd": "error", "src": "push_get_vapid", "val": "Rate limited"}


def test_an_apps_own_rate_set_with_the_cli_applies_and_other_apps_keep_theirs(limited_stack: LocalStackProcess) -> None:
    stack = limited_stack
    generous = pushgate_cli(stack, "app", "create", "--name", "generous")
    stingy = pushgate_cli(stack, "app", "create", "--name", "stingy")
    own = pushgate_cli(stack, "app", "limits", "--app", generous["app_id"], "--send", "50")
    assert own["send"] == {"per_second": 50, "burst": 100} and own["subscribe"] is None

    def topics(app: dict[str, Any]) -> int:
        return requests.get(f"{stack.http_url}/topics", params={"api_key": app["secret_key"]}, timeout=30).status_code

    assert [topics(generous) for _ in range(5)] == [200] * 5
    assert [topics(stingy) for _ in range(2)] == [200, 429]
