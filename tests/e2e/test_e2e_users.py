"""A user's data end to end on the stack `make run` starts (docs/api.md §3 `GET /me/devices`, §4
`GET /users/{user_id}/subscriptions` and `DELETE /users/{user_id}`): devices registered through the
device and account APIs and a WebSocket, listed by the user and by the app's backend, then erased
over HTTP, as the app's backend would for a GDPR request."""

from __future__ import annotations

import secrets
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.e2e.clients import error, open_ws, send, subscribe_command
from tests.e2e.local_stack import LocalStackProcess, new_subscription

pytestmark = pytest.mark.e2e


def server(stack: LocalStackProcess, method: str, path: str, **params: str) -> tuple[int, Any]:
    response = requests.request(method, f"{stack.http_url}{path}", params={"api_key": stack.demo()["secret_key"], **params}, timeout=30)
    return response.status_code, response.json()


def my_devices(stack: LocalStackProcess, session_id: str) -> dict[str, Any]:
    response = requests.get(f"{stack.http_url}/me/devices", headers={"IM-CLIENT-KEY": stack.demo()["public_key"], "IM-Authorization": session_id}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def register_phone(stack: LocalStackProcess, session_id: str, token: str) -> None:
    response = requests.post(
        f"{stack.http_url}/me/subscribe",
        headers={"IM-CLIENT-KEY": stack.demo()["public_key"], "IM-Authorization": session_id},
        json={"type": "ios", "deviceId": "iphone", "token": token},
        timeout=30,
    )
    assert response.json() == {"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}}, response.text


def test_a_user_is_listed_then_erased_from_every_surface(local_stack) -> None:  # noqa: ANN001
    user, bystander = f"gdpr-{uuid.uuid4()}", f"bystander-{uuid.uuid4()}"
    session_id, bystander_session = local_stack.create_session(user), local_stack.create_session(bystander)
    phone, browser, topic = secrets.token_hex(32), new_subscription(), f"gdpr-{secrets.token_hex(4)}"
    register_phone(local_stack, session_id, phone)
    register_phone(local_stack, bystander_session, secrets.token_hex(32))
    socket = open_ws(local_stack, token=session_id)
    assert send(socket, subscribe_command(browser))["success"] is True
    for token in (phone, browser.endpoint):
        response = requests.post(f"{local_stack.http_url}/topics/subscribe", params={"api_key": local_stack.demo()["secret_key"]},
                                 json={"token": token, "topics": [topic]}, timeout=30)
        assert response.json() == {"success": True}

    # The user sees their devices; the app's backend sees them with their topics.
    mine = my_devices(local_stack, session_id)["result"]
    assert mine["n"] == 2 and {d.get("token") or d.get("endpoint") for d in mine["devices"]} == {phone, browser.endpoint}
    status, listing = server(local_stack, "GET", f"/users/{quote(user, safe='')}/subscriptions")
    assert status == 200 and listing["pagination"] is None
    assert {(s["type"], s["status"], tuple(s["topics"])) for s in listing["subscriptions"]} == {("ios", "ACTIVE", (topic,)), ("web", "ACTIVE", (topic,))}

    status, erased = server(local_stack, "DELETE", f"/users/{quote(user, safe='')}")
    assert (status, erased) == (200, {"success": True, "removed": {"subscriptions": 1, "devices": 1, "topics": 2, "connections": 1}, "complete": True})

    # Nothing of the user is left: no listing, no device, no topic count, no authenticated socket.
    assert server(local_stack, "GET", f"/users/{quote(user, safe='')}/subscriptions") == (200, {"subscriptions": [], "pagination": None})
    assert my_devices(local_stack, session_id)["result"] == {"n": 0, "devices": []}
    assert topic not in {t["name"] for t in server(local_stack, "GET", "/topics")[1]["topics"]}
    assert server(local_stack, "GET", f"/devices/{quote(phone, safe='')}")[1]["code"] == "INVALID_DEVICE_TOKEN"
    assert send(socket, subscribe_command(new_subscription())) == error("push_subscribe", "Not authenticated")
    socket.close()
    # Again: nothing more to remove; the bystander is untouched.
    assert server(local_stack, "DELETE", f"/users/{quote(user, safe='')}")[1]["removed"] == {"subscriptions": 0, "devices": 0, "topics": 0, "connections": 0}
    assert my_devices(local_stack, bystander_session)["result"]["n"] == 1


def test_the_server_side_routes_refuse_a_public_key(local_stack) -> None:  # noqa: ANN001
    for method, path in (("GET", "/users/alice/subscriptions"), ("DELETE", "/users/alice")):
        response = requests.request(method, f"{local_stack.http_url}{path}", params={"api_key": local_stack.demo()["public_key"]}, timeout=30)
        assert (response.status_code, response.json()["code"]) == (401, "INVALID_API_KEY")
