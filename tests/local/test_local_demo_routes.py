"""The local stack's demo page and its local-only API (src/pushgate_local/demo_routes.py): the page's
files, the same-origin guard (driving HttpGateway.handle, no stack), and the API against a running
local stack: its sessions and JWTs work on the surfaces, its subscription list is the user's own
across surfaces, and its pushes are real pushes of the demo app."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pushgate_local.demo_routes import PAGE_FILES
from pushgate_local.http_events import HttpRequest
from pushgate_local.http_gateway import HttpGateway
from pushgate_local.http_routing import RouteTable
from pushgate_local.lambda_runtime import Invocation
from tests.e2e.conftest import local_stack, start_stack  # noqa: F401 - fixtures: a running local stack
from tests.e2e.local_stack import LocalStackProcess, new_subscription

API = "/_pushgate/local/demo"


class NoFunctions:
    """The gateway's functions, for requests that must never reach one."""

    def __call__(self, function: str, event: dict[str, Any]) -> Invocation:
        raise AssertionError(f"{function} was invoked")


def no_discovery() -> dict[str, Any]:
    raise AssertionError("the stack was looked up for a request that should have been refused")


@pytest.fixture
def gateway() -> Iterator[HttpGateway]:
    gateway = HttpGateway(0, RouteTable([]), NoFunctions(), no_discovery)
    yield gateway
    gateway.stop()


# -- the page (no stack) ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(PAGE_FILES))
def test_each_page_file_is_served_from_the_repository(gateway: HttpGateway, name: str) -> None:
    path, content_type = PAGE_FILES[name]
    response = gateway.handle(HttpRequest("GET", f"/demo/{name}"))
    assert response.status == 200, f"{path} is missing"
    assert response.body == path.read_bytes()
    assert dict(response.headers)["content-type"] == content_type


def test_the_page_loads_its_script_as_a_module_and_registers_the_worker_under_demo(gateway: HttpGateway) -> None:
    page = gateway.handle(HttpRequest("GET", "/demo/")).body.decode()
    assert '<script type="module" src="/demo/demo.js">' in page
    script = gateway.handle(HttpRequest("GET", "/demo/demo.js")).body.decode()
    assert 'from "/demo/pushgate.js"' in script
    assert 'register("/demo/sw.js", { type: "module", scope: "/demo/" })' in script


@pytest.mark.parametrize("path", ["/demo/../template.yaml", "/demo/%2e%2e/Makefile", "/demo/secret.json", "/demo/clients/js/sw.js"])
def test_nothing_outside_the_page_files_is_served(gateway: HttpGateway, path: str) -> None:
    assert gateway.handle(HttpRequest("GET", path)).status == 404


# -- the same-origin guard (no stack) -----------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        [("Host", "127.0.0.1:3000"), ("Origin", "https://evil.example")],
        [("Host", "127.0.0.1:3000"), ("Origin", "http://127.0.0.1:3001")],
        [("Host", "127.0.0.1:3000"), ("Sec-Fetch-Site", "cross-site")],
        [("Host", "attacker.example:3000")],  # DNS rebinding: a foreign name resolving to loopback
        [],
    ],
)
def test_the_demo_api_refuses_anything_but_a_page_of_the_stack(gateway: HttpGateway, headers: list[tuple[str, str]]) -> None:
    body = json.dumps({"user_id": "mallory"}).encode()
    for method, path in (("POST", "session"), ("GET", "subscriptions?user_id=mallory"), ("POST", "push")):
        response = gateway.handle(HttpRequest(method, f"{API}/{path}", headers, body))
        assert response.status == 403, (method, path, headers)


def test_unknown_demo_api_paths_are_not_found(gateway: HttpGateway) -> None:
    headers = [("Host", "127.0.0.1:3000")]
    assert gateway.handle(HttpRequest("GET", f"{API}/session", headers)).status == 404
    assert gateway.handle(HttpRequest("POST", f"{API}/secret_key", headers)).status == 404


# -- against a running stack --------------------------------------------------------------------------


def demo_api(stack: LocalStackProcess, method: str, path: str, body: dict[str, Any] | None = None) -> requests.Response:
    # As the page sends them: same origin.
    return requests.request(
        method, f"{stack.http_url}{API}/{path}", json=body, headers={"Origin": stack.http_url}, timeout=60
    )


@pytest.mark.e2e
def test_a_demo_session_and_jwt_work_on_the_surfaces_and_the_list_shows_the_users_own(local_stack: LocalStackProcess) -> None:  # noqa: F811
    user_id = f"demo-{uuid.uuid4()}"
    session = demo_api(local_stack, "POST", "session", {"user_id": user_id})
    assert session.status_code == 201, session.text
    answer = session.json()
    demo = local_stack.demo()
    assert {name: answer[name] for name in ("user_id", "public_key", "account_id", "channel_id", "http_url", "ws_url")} == {
        "user_id": user_id, "public_key": demo["public_key"], "account_id": demo["account_id"],
        "channel_id": demo["channels"][0]["id"], "http_url": local_stack.http_url, "ws_url": local_stack.discovery["ws_url"],
    }
    assert "secret_key" not in session.text and demo["secret_key"] not in session.text
    # The session on the account API, the JWT on the channel API
    by_account, by_channel = new_subscription(), new_subscription()
    subscribed = requests.get(
        f"{local_stack.http_url}/{answer['account_id']}/push_subscribe", params=by_account.params(answer["session_id"]), timeout=30
    )
    assert subscribed.json()["data"]["operation_status"] == "SUCCESS", subscribed.text
    created = requests.post(
        f"{local_stack.http_url}/user/v1/channels/{answer['channel_id']}/subscriptions",
        headers={"x-notiflows-api-key": answer["public_key"], "x-notiflows-user-key": answer["user_jwt"]},
        json={"identifier": by_channel.endpoint, "settings": {"p256dh": by_channel.p256dh, "auth": by_channel.auth}},
        timeout=30,
    )
    assert created.status_code == 201, created.text
    # Someone else's subscription is not listed
    other = new_subscription()
    requests.get(
        f"{local_stack.http_url}/{demo['account_id']}/push_subscribe",
        params=other.params(local_stack.create_session(f"other-{uuid.uuid4()}")), timeout=30,
    ).raise_for_status()

    listed = demo_api(local_stack, "GET", f"subscriptions?user_id={user_id}")
    assert listed.status_code == 200, listed.text
    rows = listed.json()["subscriptions"]
    assert [(row["type"], row["status"], row["channel_id"]) for row in rows] == [("web", "ACTIVE", answer["channel_id"])] * 2
    assert all(row["endpoint"] == "fcm.googleapis.com/…" for row in rows)  # never a whole endpoint
    assert not any(secret in listed.text for sub in (by_account, by_channel) for secret in (sub.endpoint, sub.p256dh, sub.auth))

    # Unsubscribed through the account API, it leaves the list
    requests.get(
        f"{local_stack.http_url}/{answer['account_id']}/push_unsubscribe",
        params={"session_id": answer["session_id"], "endpoint": by_account.endpoint}, timeout=30,
    ).raise_for_status()
    assert len(demo_api(local_stack, "GET", f"subscriptions?user_id={user_id}").json()["subscriptions"]) == 1


@pytest.mark.e2e
def test_a_demo_push_is_a_push_of_the_demo_app_to_the_user(local_stack: LocalStackProcess) -> None:  # noqa: F811
    user_id = f"demo-{uuid.uuid4()}"
    sent = demo_api(local_stack, "POST", "push", {"user_id": user_id, "title": "Hi", "body": "there", "url": "/demo/", "data": {"n": 1}})
    assert sent.status_code == 200, sent.text
    assert sent.json()["to"] == f"/users/{user_id}"
    # The app's backend sees it with its secret key: it went through POST /push
    push = requests.get(
        f"{local_stack.http_url}/pushes/{sent.json()['id']}", params={"api_key": local_stack.demo()["secret_key"]}, timeout=30
    )
    assert push.status_code == 200, push.text
    assert push.json()["push"]["id"] == sent.json()["id"]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("session", {}, 400),
        ("session", {"user_id": "x" * 257}, 400),
        ("push", {"user_id": "someone"}, 400),  # neither a title nor data
        ("push", {"user_id": "someone", "data": "x" * 5000}, 400),  # refused by POST /push: over 3993 bytes
    ],
)
def test_bad_demo_requests_get_a_4xx(local_stack: LocalStackProcess, path: str, body: dict[str, Any], status: int) -> None:  # noqa: F811
    response = demo_api(local_stack, "POST", path, body)
    assert response.status_code == status, response.text
    assert response.json()["message"]
