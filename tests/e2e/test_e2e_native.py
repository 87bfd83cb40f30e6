"""Native delivery end to end on the stack `make run` starts (docs/api.md §3, §4, §7): devices
registered through /me/subscribe, a push sent to their user and to a topic, and the fake FCM and
APNs that the stack runs (real HTTP/2 servers over TLS that verify the OAuth and provider tokens,
topics, push types and schemas) asked what they received, over HTTPS, as a developer would."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any
from urllib.parse import quote

import pytest
import requests

from tests.e2e.local_stack import LocalStackProcess

pytestmark = pytest.mark.e2e

DELIVERY_TIMEOUT_SECONDS = 60
POLL_INTERVAL_SECONDS = 0.2
DEMO_BUNDLE_ID = "com.example.pushgate.demo"  # the demo app's apns channel (pushgate_local.providers)


class Fake:
    """A fake provider of the running stack, reached over HTTPS with the stack's test CA."""

    def __init__(self, stack: LocalStackProcess, name: str) -> None:
        self.url = stack.discovery[f"fake_{name}_url"]
        self.ca_file = str(stack.data_dir / "fake-providers" / "fake-providers-ca.pem")

    def received(self) -> list[dict[str, Any]]:
        response = requests.get(f"{self.url}/_fake/received", verify=self.ca_file, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def behave(self, token: str, behaviour: str) -> None:
        response = requests.post(f"{self.url}/_fake/tokens/{quote(token, safe='')}", json={"behaviour": behaviour}, verify=self.ca_file, timeout=10)
        assert response.status_code in (200, 204), response.text


@pytest.fixture(scope="module")
def fcm(local_stack: LocalStackProcess) -> Fake:
    return Fake(local_stack, "fcm")


@pytest.fixture(scope="module")
def apns(local_stack: LocalStackProcess) -> Fake:
    return Fake(local_stack, "apns")


def register(stack: LocalStackProcess, session_id: str, device_type: str, token: str) -> None:
    response = requests.post(
        f"{stack.http_url}/me/subscribe",
        headers={"IM-CLIENT-KEY": stack.demo()["public_key"], "IM-Authorization": session_id},
        json={"type": device_type, "deviceId": f"{device_type}-{token[:8]}", "token": token},
        timeout=30,
    )
    assert response.json() == {"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}}, response.text


def push(stack: LocalStackProcess, body: dict[str, Any]) -> str:
    response = requests.post(f"{stack.http_url}/push", params={"api_key": stack.demo()["secret_key"]}, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def wait_until_done(stack: LocalStackProcess, push_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while True:
        response = requests.get(f"{stack.http_url}/pushes/{push_id}", params={"api_key": stack.demo()["secret_key"]}, timeout=30)
        push = response.json()["push"]
        if push["status"] == "done" or time.monotonic() > deadline:
            assert push["status"] == "done", f"{push}\n{stack.logs()}"
            return push
        time.sleep(POLL_INTERVAL_SECONDS)


def device(stack: LocalStackProcess, token: str) -> dict[str, Any]:
    response = requests.get(f"{stack.http_url}/devices/{quote(token, safe='')}", params={"api_key": stack.demo()["secret_key"]}, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()["device"]


def of_push(received: list[dict[str, Any]], push_id: str, provider: str) -> list[dict[str, Any]]:
    if provider == "apns":
        return [n for n in received if n["payload"].get("id") == push_id]
    return [m for m in received if m["message"].get("data", {}).get("id") == push_id]


@pytest.fixture
def phone_owner(local_stack: LocalStackProcess) -> dict[str, str]:
    """A new user with an iPhone (alert and VoIP tokens) and an Android phone."""
    user = f"native-{uuid.uuid4()}"
    session_id = local_stack.create_session(user)
    tokens = {"ios": secrets.token_hex(32), "ios-voip": secrets.token_hex(32), "android": f"fcm-{secrets.token_urlsafe(40)}"}
    for device_type, token in tokens.items():
        register(local_stack, session_id, device_type, token)
    return {"user": user, **tokens}


def test_one_push_to_a_user_reaches_each_native_device_once_in_its_providers_shape(local_stack, fcm, apns, phone_owner) -> None:  # noqa: ANN001
    notification = {"title": "Réunion", "body": f"à 15 h {uuid.uuid4()}", "url": "/agenda"}
    push_id = push(local_stack, {"to": f"/users/{phone_owner['user']}", "notification": notification, "data": {"room": 7}, "collapse_key": "agenda"})
    done = wait_until_done(local_stack, push_id)
    assert done["counts"] == {"targeted": 3, "sent": 3, "failed": 0, "pruned": 0, "pending": 0, "cancelled": 0}
    assert done["failed_reasons"] == {}

    by_token = {n["token"]: n for n in of_push(apns.received(), push_id, "apns")}
    assert set(by_token) == {phone_owner["ios"], phone_owner["ios-voip"]}
    alert, voip = by_token[phone_owner["ios"]], by_token[phone_owner["ios-voip"]]
    assert (alert["topic"], alert["push_type"], alert["priority"]) == (DEMO_BUNDLE_ID, "alert", 10)
    assert alert["payload"]["aps"]["alert"] == {"title": notification["title"], "body": notification["body"]}
    assert alert["payload"]["data"] == {"room": 7} and alert["collapse_id"] == "agenda"
    assert (voip["topic"], voip["push_type"], voip["priority"]) == (f"{DEMO_BUNDLE_ID}.voip", "voip", 10)

    [android] = of_push(fcm.received(), push_id, "fcm")
    message = android["message"]
    assert message["token"] == phone_owner["android"]
    assert message["notification"] == {"title": notification["title"], "body": notification["body"]}
    assert message["data"] == {"id": push_id, "room": "7"}  # FCM data values are strings
    assert message["android"]["collapse_key"] == "agenda" and message["android"]["notification"]["click_action"] == "/agenda"


def test_a_topic_push_reaches_native_devices_and_a_dead_token_is_pruned_but_a_refusal_prunes_nothing(local_stack, fcm, apns, phone_owner) -> None:  # noqa: ANN001
    topic = f"native-{secrets.token_hex(4)}"
    tokens = [phone_owner["ios"], phone_owner["ios-voip"], phone_owner["android"]]
    response = requests.post(f"{local_stack.http_url}/topics/subscribe", params={"api_key": local_stack.demo()["secret_key"]}, json={"token": tokens[0], "topics": [topic]}, timeout=30)
    assert response.json() == {"success": True}
    for token in tokens[1:]:
        requests.post(f"{local_stack.http_url}/topics/subscribe", params={"api_key": local_stack.demo()["secret_key"]}, json={"token": token, "topics": [topic]}, timeout=30)
    push_id = push(local_stack, {"to": f"/topics/{topic}", "data": {"kind": "sync"}})
    assert wait_until_done(local_stack, push_id)["counts"]["sent"] == 3
    by_token = {n["token"]: n for n in of_push(apns.received(), push_id, "apns")}
    assert set(by_token) == {phone_owner["ios"], phone_owner["ios-voip"]}
    # data only: a background push for the app, a VoIP push for PushKit
    background = by_token[phone_owner["ios"]]
    assert (background["push_type"], background["priority"], background["payload"]["aps"]) == ("background", 5, {"content-available": 1})
    assert by_token[phone_owner["ios-voip"]]["push_type"] == "voip"
    [android] = of_push(fcm.received(), push_id, "fcm")
    assert android["message"]["data"] == {"id": push_id, "kind": "sync"} and "notification" not in android["message"]

    # The app is uninstalled on the iPhone and on the Android phone: both providers say so
    apns.behave(phone_owner["ios"], "unregistered")
    fcm.behave(phone_owner["android"], "unregistered")
    # and APNs refuses the VoIP token for our topic (a configuration error: never a reason to prune)
    apns.behave(phone_owner["ios-voip"], "not_for_topic")
    push_id = push(local_stack, {"to": f"/users/{phone_owner['user']}", "notification": {"title": "t", "body": "b"}})
    done = wait_until_done(local_stack, push_id)
    assert (done["counts"]["pruned"], done["counts"]["failed"], done["counts"]["sent"]) == (2, 1, 0), done
    assert done["failed_reasons"] == {"rejected": 1}
    assert device(local_stack, phone_owner["ios"])["status"] == "EXPIRED"
    assert device(local_stack, phone_owner["android"])["status"] == "EXPIRED"
    assert device(local_stack, phone_owner["ios-voip"])["status"] == "ACTIVE"


def test_an_app_made_with_the_cli_gets_its_channels_and_its_phones_their_pushes(local_stack, fcm, apns, tmp_path) -> None:  # noqa: ANN001
    import json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    from tests.e2e.clients import create_app, pushgate_cli

    # A new team's app, with the Firebase service account and the .p8 key it would download
    app = create_app(local_stack, "phones")
    pkcs8 = {"encoding": serialization.Encoding.PEM, "format": serialization.PrivateFormat.PKCS8, "encryption_algorithm": serialization.NoEncryption()}
    account = {
        "type": "service_account", "project_id": "phones-project", "private_key_id": secrets.token_hex(20),
        "private_key": rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(**pkcs8).decode(),
        "client_email": "sender@phones-project.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
    }
    (tmp_path / "service-account.json").write_text(json.dumps(account))
    (tmp_path / "AuthKey_PHONES0001.p8").write_bytes(ec.generate_private_key(ec.SECP256R1()).private_bytes(**pkcs8))
    fcm_channel = pushgate_cli(local_stack, "channel", "add", "fcm", "--app", app["app_id"], "--service-account", str(tmp_path / "service-account.json"))
    apns_channel = pushgate_cli(local_stack, "channel", "add", "apns", "--app", app["app_id"], "--key-file", str(tmp_path / "AuthKey_PHONES0001.p8"),
                                "--key-id", "PHONES0001", "--team-id", "PHONESTEAM", "--bundle-id", "com.example.phones")
    listed = pushgate_cli(local_stack, "channel", "list", "--app", app["app_id"])["channels"]
    assert {(c["type"], c["id"]) for c in listed} >= {("fcm", fcm_channel["id"]), ("apns", apns_channel["id"])}

    # Its user's phones register and get a push, through the fakes that know only what the channels hold
    session_id = local_stack.create_session("carol", secret_key=app["secret_key"])
    iphone, pixel = secrets.token_hex(32), f"fcm-{secrets.token_urlsafe(30)}"
    for device_type, token in (("ios", iphone), ("android", pixel)):
        response = requests.post(f"{local_stack.http_url}/me/subscribe", headers={"IM-CLIENT-KEY": app["public_key"], "IM-Authorization": session_id},
                                 json={"type": device_type, "deviceId": device_type, "token": token}, timeout=30)
        assert response.json()["RC"] == 0, response.text
    response = requests.post(f"{local_stack.http_url}/push", params={"api_key": app["secret_key"]}, json={"to": "/users/carol", "notification": {"title": "t", "body": "b"}}, timeout=30)
    push_id = response.json()["id"]
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while (done := requests.get(f"{local_stack.http_url}/pushes/{push_id}", params={"api_key": app["secret_key"]}, timeout=30).json()["push"])["status"] != "done":
        assert time.monotonic() < deadline, f"{done}\n{local_stack.logs()}"
        time.sleep(POLL_INTERVAL_SECONDS)
    assert done["counts"]["sent"] == 2, done
    [notification] = of_push(apns.received(), push_id, "apns")
    assert (notification["token"], notification["topic"], notification["team_id"]) == (iphone, "com.example.phones", "PHONESTEAM")
    [message] = of_push(fcm.received(), push_id, "fcm")
    assert (message["project"], message["message"]["token"]) == ("phones-project", pixel)
