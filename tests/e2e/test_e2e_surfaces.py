"""docs/api.md §3, §4, §5 and §6 end to end on the local stack: the device API, the topics API and the
channel subscriptions API over HTTP as their clients call them, and one browser seen through every
surface (subscribed over the WebSocket, found by the topics API, removed through the account API).

Nothing here sends a push: POST /push would make the sender contact real push services."""

from __future__ import annotations

import secrets
import time
import uuid
from typing import Any
from urllib.parse import quote

import jwt
import pytest
import requests

from tests.e2e.clients import error, open_ws, send, subscribe_command, user_token, web_subscription
from tests.e2e.local_stack import BrowserSubscription, LocalStackProcess, new_subscription

pytestmark = pytest.mark.e2e

OK = {"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}}
TIMEOUT = 30


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def ios_token() -> str:
    return secrets.token_hex(32)  # an APNs device token


# -- the clients of each surface ---------------------------------------------------------------------


def device_headers(stack: LocalStackProcess, credential: str) -> dict[str, str]:
    """§3 from the app's client: its public key and the user's session id or JWT."""
    return {"IM-CLIENT-KEY": stack.demo()["public_key"], "IM-Authorization": credential}


def device_subscribe(stack: LocalStackProcess, credential: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{stack.http_url}/me/subscribe", json=body, headers=device_headers(stack, credential), timeout=TIMEOUT)


def device_unsubscribe(stack: LocalStackProcess, credential: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{stack.http_url}/me/unsubscribe", json=body, headers=device_headers(stack, credential), timeout=TIMEOUT)


def server_side(stack: LocalStackProcess) -> dict[str, str]:
    """§4: the app's secret key on every call."""
    return {"api_key": stack.demo()["secret_key"]}


def topics_subscribe(stack: LocalStackProcess, token: str, topics: list[str], action: str = "subscribe") -> requests.Response:
    return requests.post(
        f"{stack.http_url}/topics/{action}", params=server_side(stack), json={"token": token, "topics": topics}, timeout=TIMEOUT
    )


def list_topics(stack: LocalStackProcess) -> dict[str, int]:
    response = requests.get(f"{stack.http_url}/topics", params=server_side(stack), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return {topic["name"]: topic["subscribers"] for topic in response.json()["topics"]}


def topic_subscribers(stack: LocalStackProcess, topic: str) -> requests.Response:
    return requests.get(f"{stack.http_url}/topics/{topic}", params=server_side(stack), timeout=TIMEOUT)


def get_device(stack: LocalStackProcess, token: str) -> requests.Response:
    # A web token is an endpoint URL: one path segment, URL-encoded (slashes included).
    return requests.get(f"{stack.http_url}/devices/{quote(token, safe='')}", params=server_side(stack), timeout=TIMEOUT)


def channel_url(stack: LocalStackProcess, channel_id: str | None = None) -> str:
    return f"{stack.http_url}/user/v1/channels/{channel_id or stack.demo()['channels'][0]['id']}/subscriptions"


def channel_headers(stack: LocalStackProcess, user_jwt: str | None) -> dict[str, str]:
    """§5 from the app's client: its public key and the user's RS256 JWT."""
    headers = {"x-notiflows-api-key": stack.demo()["public_key"]}
    if user_jwt is not None:
        headers["x-notiflows-user-key"] = user_jwt
    return headers


def channel_upsert(stack: LocalStackProcess, user_jwt: str | None, subscription: BrowserSubscription, channel_id: str | None = None) -> requests.Response:
    body = {"identifier": subscription.endpoint, "settings": {"endpoint": subscription.endpoint, "p256dh": subscription.p256dh, "auth": subscription.auth}}
    return requests.post(channel_url(stack, channel_id), json=body, headers=channel_headers(stack, user_jwt), timeout=TIMEOUT)


def channel_list(stack: LocalStackProcess, user_jwt: str) -> list[dict[str, Any]]:
    response = requests.get(channel_url(stack), headers=channel_headers(stack, user_jwt), timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    return response.json()["items"]


def channel_delete(stack: LocalStackProcess, user_jwt: str, identifier: str) -> requests.Response:
    return requests.delete(channel_url(stack), json={"identifier": identifier}, headers=channel_headers(stack, user_jwt), timeout=TIMEOUT)


def account_subscribe(stack: LocalStackProcess, session_id: str, subscription: BrowserSubscription) -> requests.Response:
    url = f"{stack.http_url}/{stack.demo()['account_id']}/push_subscribe"
    return requests.get(url, params=subscription.params(session_id), timeout=TIMEOUT)


def account_unsubscribe(stack: LocalStackProcess, session_id: str, endpoint: str) -> requests.Response:
    url = f"{stack.http_url}/{stack.demo()['account_id']}/push_unsubscribe"
    return requests.post(url, data={"session_id": session_id, "endpoint": endpoint}, timeout=TIMEOUT)


def pyjwt_token(stack: LocalStackProcess, user_id: str) -> str:
    """A user JWT signed by hand with the demo app's user_token_private_key, as an app's backend would."""
    now = int(time.time())
    return jwt.encode({"sub": user_id, "iat": now, "exp": now + 300}, stack.demo()["user_token_private_key"], algorithm="RS256")


# -- §3 device API and §4 topics -------------------------------------------------------------------


def test_devices_registered_through_the_device_api_are_found_by_the_topics_api(local_stack: LocalStackProcess) -> None:
    # Given a user's iPhone and browser, registered by the app's client with the user's session
    user = unique("dana")
    session_id = local_stack.create_session(user)
    phone, browser = ios_token(), new_subscription()
    assert (r := device_subscribe(local_stack, session_id, {"type": "ios", "deviceId": "iphone-1", "token": phone})).json() == OK, r.text
    web = {"type": "web", "deviceId": "browser-1", "subscription": web_subscription(browser)}
    response = device_subscribe(local_stack, session_id, web)
    assert (response.status_code, response.json()) == (200, OK)

    # When the app's backend subscribes them to topics
    news, sport = unique("news"), unique("sport.v1")
    assert topics_subscribe(local_stack, phone, [news, sport]).json() == {"success": True}
    assert topics_subscribe(local_stack, browser.endpoint, [news]).json() == {"success": True}

    # Then the topics API lists them
    topics = list_topics(local_stack)
    assert (topics[news], topics[sport]) == (2, 1)
    response = topic_subscribers(local_stack, news)
    assert response.status_code == 200
    assert sorted(response.json()["subscribers"]) == sorted([phone, browser.endpoint]) and response.json()["pagination"] is None
    assert topic_subscribers(local_stack, sport).json() == {"subscribers": [phone], "pagination": None}
    # and each device by its token, the browser's being its endpoint URL
    found = get_device(local_stack, browser.endpoint).json()
    assert found["device"] | {"date": None} == {"type": "web", "user_id": user, "status": "ACTIVE", "date": None}
    assert isinstance(found["device"]["date"], int) and found["subscriptions"] == [news]
    found = get_device(local_stack, phone).json()
    assert (found["device"]["type"], found["device"]["user_id"], sorted(found["subscriptions"])) == ("ios", user, sorted([news, sport]))

    # Unsubscribing from every topic, then removing the phone: idempotent, and it says how much it removed.
    assert topics_subscribe(local_stack, phone, ["*"], action="unsubscribe").json() == {"success": True}
    assert get_device(local_stack, phone).json()["subscriptions"] == []
    assert topic_subscribers(local_stack, sport).json()["subscribers"] == []
    removed = device_unsubscribe(local_stack, session_id, {"type": "ios", "deviceId": "iphone-1"})
    assert removed.json() == {"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}}
    again = device_unsubscribe(local_stack, session_id, {"type": "ios", "deviceId": "iphone-1"})
    assert again.json() == {"RC": 0, "RM": "OK", "result": {"n": 0, "ok": 1}}
    assert get_device(local_stack, phone).json()["device"]["status"] == "REMOVED"


def test_the_device_api_takes_a_user_jwt_or_the_secret_key_for_a_user(local_stack: LocalStackProcess) -> None:
    user = unique("erin")
    token = ios_token()
    assert device_subscribe(local_stack, user_token(local_stack, user), {"type": "ios", "deviceId": "a", "token": token}).json() == OK
    assert get_device(local_stack, token).json()["device"]["user_id"] == user
    # The app's backend acting for the user: IM-API-KEY and clientId.
    headers = {"IM-API-KEY": local_stack.demo()["secret_key"]}
    other = ios_token()
    body = {"type": "android", "deviceId": "pixel", "token": other, "clientId": user}
    response = requests.post(f"{local_stack.http_url}/me/subscribe", json=body, headers=headers, timeout=TIMEOUT)
    assert response.json() == OK
    assert get_device(local_stack, other).json()["device"] | {"date": 0} == {"type": "android", "user_id": user, "status": "ACTIVE", "date": 0}


def test_device_api_errors(local_stack: LocalStackProcess) -> None:
    session_id = local_stack.create_session("frank")
    response = device_subscribe(local_stack, "ses_unknown", {"type": "ios", "deviceId": "a", "token": ios_token()})
    assert (response.status_code, response.json()) == (
        401, {"RC": 401, "RM": "Unauthorized", "error": {"code": "INVALID_TOKEN", "message": "Invalid or expired token"}},
    )
    response = device_subscribe(local_stack, session_id, {"type": "ios"})
    assert (response.status_code, response.json()) == (
        400, {"RC": 400, "RM": "Bad Request", "error": {"code": "MISSING_PARAMETER", "message": "type and deviceId are required"}},
    )
    response = device_subscribe(local_stack, session_id, {"type": "pager", "deviceId": "a", "token": ios_token()})
    assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_PARAMETER"


def test_topics_api_errors(local_stack: LocalStackProcess) -> None:
    response = requests.get(f"{local_stack.http_url}/topics", params={"api_key": local_stack.demo()["public_key"]}, timeout=TIMEOUT)
    assert response.status_code == 401 and response.json()["code"] == "INVALID_API_KEY"
    response = topics_subscribe(local_stack, ios_token(), ["news"])  # a token never registered
    assert response.status_code == 400 and response.json()["code"] == "INVALID_DEVICE_TOKEN"
    response = get_device(local_stack, new_subscription().endpoint)
    assert response.status_code == 400 and response.json()["code"] == "INVALID_DEVICE_TOKEN"
    token = ios_token()
    device_subscribe(local_stack, local_stack.create_session("gina"), {"type": "ios", "deviceId": "a", "token": token})
    response = topics_subscribe(local_stack, token, ["not a topic!"])
    assert response.status_code == 400 and response.json()["code"] == "INVALID_PARAM"


# -- §5 channel subscriptions ------------------------------------------------------------------------


@pytest.mark.parametrize("minted_by", ["cli", "pyjwt"])
def test_channel_subscriptions_with_a_user_jwt(local_stack: LocalStackProcess, minted_by: str) -> None:
    user = unique("hana")
    user_jwt = user_token(local_stack, user) if minted_by == "cli" else pyjwt_token(local_stack, user)
    channel_id = local_stack.demo()["channels"][0]["id"]
    subscription = new_subscription()

    created = channel_upsert(local_stack, user_jwt, subscription)
    assert created.status_code == 201, created.text
    item = created.json()
    assert set(item) == {"id", "channel_id", "identifier", "created_at", "updated_at"}
    assert (item["channel_id"], item["identifier"]) == (channel_id, subscription.endpoint)
    # Upserting again updates it in place.
    updated = channel_upsert(local_stack, user_jwt, new_subscription(subscription.endpoint))
    assert updated.status_code == 200 and updated.json()["id"] == item["id"]
    assert [i["identifier"] for i in channel_list(local_stack, user_jwt)] == [subscription.endpoint]
    # The same record as every other surface's.
    assert get_device(local_stack, subscription.endpoint).json()["device"]["user_id"] == user

    deleted = channel_delete(local_stack, user_jwt, subscription.endpoint)
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert channel_list(local_stack, user_jwt) == []
    assert channel_delete(local_stack, user_jwt, subscription.endpoint).status_code == 204  # not subscribed: still 204
    assert get_device(local_stack, subscription.endpoint).json()["device"]["status"] == "REMOVED"


def test_channel_api_errors(local_stack: LocalStackProcess) -> None:
    # No user JWT: unauthenticated, with the request id of the response header.
    response = channel_upsert(local_stack, None, new_subscription())
    assert response.status_code == 401
    body = response.json()["error"]
    assert (body["code"], body["status"]) == ("unauthenticated", 401)
    assert body["request_id"] == response.headers["x-request-id"]
    # A token signed with another key.
    forged = jwt.encode({"sub": "x", "exp": int(time.time()) + 60}, _other_rsa_key(), algorithm="RS256")
    assert channel_upsert(local_stack, forged, new_subscription()).status_code == 401
    # An unknown channel.
    response = channel_upsert(local_stack, pyjwt_token(local_stack, "ivan"), new_subscription(), channel_id=str(uuid.uuid4()))
    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


def _other_rsa_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


# -- §6 one browser, every surface -------------------------------------------------------------------


def test_a_browser_subscribed_over_the_websocket_is_seen_and_removed_over_http(local_stack: LocalStackProcess) -> None:
    user = unique("jane")
    session_id = local_stack.create_session(user)
    browser = new_subscription()
    # Subscribed from the page over the WebSocket
    with open_ws(local_stack, token=session_id) as connection:
        assert send(connection, subscribe_command(browser)) == {"cmd": "push_subscribed", "success": True}
    # the app's backend finds it by its endpoint and subscribes it to a topic
    topic = unique("alerts")
    assert topics_subscribe(local_stack, browser.endpoint, [topic]).json() == {"success": True}
    found = get_device(local_stack, browser.endpoint).json()
    assert (found["device"]["type"], found["device"]["user_id"], found["device"]["status"], found["subscriptions"]) == (
        "web", user, "ACTIVE", [topic],
    )
    assert topic_subscribers(local_stack, topic).json() == {"subscribers": [browser.endpoint], "pagination": None}
    # it is the same record the account API knows: re-subscribing there keeps one subscription
    subscription_id = account_subscribe(local_stack, session_id, browser).json()["data"]["push_subscription_id"]
    # and the same user removes it through the account API
    response = account_unsubscribe(local_stack, session_id, browser.endpoint)
    assert response.json() == {"data": {"operation_status": "SUCCESS"}}
    found = get_device(local_stack, browser.endpoint).json()
    assert (found["device"]["status"], found["subscriptions"]) == ("REMOVED", [])
    assert topic_subscribers(local_stack, topic).json()["subscribers"] == []
    # Subscribing again over the WebSocket brings the same subscription back.
    with open_ws(local_stack, token=session_id) as connection:
        assert send(connection, subscribe_command(browser)) == {"cmd": "push_subscribed", "success": True}
    assert get_device(local_stack, browser.endpoint).json()["device"]["status"] == "ACTIVE"
    assert account_subscribe(local_stack, session_id, browser).json()["data"]["push_subscription_id"] == subscription_id


def test_another_users_endpoint_gets_each_surfaces_conflict_error(local_stack: LocalStackProcess) -> None:
    # Given alice's browser, subscribed over the WebSocket
    alice = local_stack.create_session(unique("alice"))
    browser = new_subscription()
    with open_ws(local_stack, token=alice) as connection:
        assert send(connection, subscribe_command(browser)) == {"cmd": "push_subscribed", "success": True}
    before = get_device(local_stack, browser.endpoint).json()

    # When mallory presents the same endpoint with other keys (not the same browser), on every surface
    mallory_id = unique("mallory")
    mallory_session, mallory_jwt = local_stack.create_session(mallory_id), user_token(local_stack, mallory_id)
    impostor = new_subscription(browser.endpoint)
    with open_ws(local_stack, token=mallory_session) as connection:
        assert send(connection, subscribe_command(impostor)) == error("push_subscribe", "Endpoint belongs to another user")
    response = account_subscribe(local_stack, mallory_session, impostor)
    assert (response.status_code, response.json()) == (200, {"error_no": 8510, "error_message": "endpoint belongs to another user"})
    response = device_subscribe(local_stack, mallory_session, {"type": "web", "deviceId": "m-1", "subscription": web_subscription(impostor)})
    assert response.status_code == 409 and response.json()["error"]["code"] == "DEVICE_OWNED_BY_ANOTHER_USER", response.text
    response = channel_upsert(local_stack, mallory_jwt, impostor)
    assert response.status_code == 409
    assert (response.json()["error"]["code"], response.json()["error"]["status"]) == ("conflict", 409)
    # nor can she remove it anywhere (each surface succeeds, removing nothing)
    with open_ws(local_stack, token=mallory_session) as connection:
        assert send(connection, {"cmd": "push_unsubscribe", "endpoint": browser.endpoint}) == {"cmd": "push_unsubscribed", "success": True}
    assert account_unsubscribe(local_stack, mallory_session, browser.endpoint).json() == {"data": {"operation_status": "SUCCESS"}}
    assert channel_delete(local_stack, mallory_jwt, browser.endpoint).status_code == 204

    # Then alice's subscription is exactly as it was
    assert get_device(local_stack, browser.endpoint).json() == before
    assert channel_list(local_stack, mallory_jwt) == []


def test_the_same_browser_moves_to_the_user_who_proves_it(local_stack: LocalStackProcess) -> None:
    # docs/api.md §6: identical p256dh and auth prove the same browser, whichever surface is used.
    browser = new_subscription()
    with open_ws(local_stack, token=local_stack.create_session(unique("kim"))) as connection:
        assert send(connection, subscribe_command(browser)) == {"cmd": "push_subscribed", "success": True}
    lee = unique("lee")
    assert channel_upsert(local_stack, user_token(local_stack, lee), browser).status_code == 201
    assert get_device(local_stack, browser.endpoint).json()["device"]["user_id"] == lee
