"""docs/api.md §4 + §7 end to end: POST /push on the local stack reaches a real push service.

The push service is web-push-testing (npm, tests/e2e/push-service/), an implementation independent
of pushgate: it hands out subscriptions bound to the app's VAPID public key, checks every request's
VAPID JWT (ES256) against that key and decrypts the aes128gcm body with npm's http_ece. So a
message it reports is exactly what a browser would have shown the service worker. Its launcher,
serve.js, also refuses (403) a JWT whose aud is not the endpoint's origin, as real push services do,
and keeps each request's push headers and JWT claims for the assertions. It runs on the
loopback interface, allowed through PUSHGATE_EXTRA_PUSH_HOSTS=localhost:<port> (docs/api.md §6); the
stack runs as `make run` runs it, its SQS pollers driving the fan-out and the Web Push sender."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import jwt
import pytest
import requests

from pushgate_local.process import running_stack
from tests.e2e.local_stack import LocalStackProcess
from tests.e2e.push_service import LoopbackPushService, PushSubscription

pytestmark = pytest.mark.e2e

DELIVERY_TIMEOUT_SECONDS = 60  # fan-out and sender pollers long-poll (5 s) and batch (1 s); a push takes a few s
POLL_INTERVAL_SECONDS = 0.2


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, push_service: LoopbackPushService) -> Iterator[LocalStackProcess]:
    """The local stack as `make run` starts it, allowed to send to the loopback push service."""
    with running_stack(tmp_path_factory.mktemp("delivery-stack"), push_service.push_host) as stack:
        yield stack


@pytest.fixture(scope="module")
def vapid_public_key(stack: LocalStackProcess) -> str:
    """The demo app's webpush channel key, as a page gets it to subscribe."""
    return stack.demo()["channels"][0]["vapid_public_key"]


# -- the surfaces a browser registers through, and the app's backend ------------------------------


def register_with_account_api(stack: LocalStackProcess, user_id: str, subscription: PushSubscription) -> None:
    """docs/api.md §2."""
    params = {
        "session_id": stack.create_session(user_id),
        "endpoint": subscription.endpoint,
        "key_p256dh": subscription.p256dh,
        "key_auth": subscription.auth,
    }
    response = requests.get(f"{stack.http_url}/{stack.demo()['account_id']}/push_subscribe", params=params, timeout=30)
    assert response.json()["data"]["operation_status"] == "SUCCESS", response.text


def register_with_device_api(stack: LocalStackProcess, user_id: str, subscription: PushSubscription) -> None:
    """docs/api.md §3, type `web`."""
    response = requests.post(
        f"{stack.http_url}/me/subscribe",
        headers={"IM-CLIENT-KEY": stack.demo()["public_key"], "IM-Authorization": stack.create_session(user_id)},
        json={"type": "web", "deviceId": f"browser-{uuid.uuid4()}", "subscription": subscription.to_json()},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}}


def register_with_channel_api(stack: LocalStackProcess, user_id: str, subscription: PushSubscription) -> None:
    """docs/api.md §5, with a user JWT signed by the demo app's development key."""
    demo = stack.demo()
    now = int(time.time())
    user_key = jwt.encode({"sub": user_id, "iat": now, "exp": now + 600}, demo["user_token_private_key"], "RS256")
    response = requests.post(
        f"{stack.http_url}/user/v1/channels/{demo['channels'][0]['id']}/subscriptions",
        headers={"x-notiflows-api-key": demo["public_key"], "x-notiflows-user-key": user_key},
        json={
            "identifier": subscription.endpoint,
            "settings": {"p256dh": subscription.p256dh, "auth": subscription.auth},
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text


def subscribe_to_topic(stack: LocalStackProcess, subscription: PushSubscription, topic: str) -> None:
    response = requests.post(
        f"{stack.http_url}/topics/subscribe",
        params={"api_key": stack.demo()["secret_key"]},
        json={"token": subscription.endpoint, "topics": [topic]},
        timeout=30,
    )
    assert response.json() == {"success": True}, response.text


def send_push(
    stack: LocalStackProcess, to: str | list[str], notification: dict[str, Any], data: dict[str, Any], **options: Any
) -> str:
    response = requests.post(
        f"{stack.http_url}/push",
        params={"api_key": stack.demo()["secret_key"]},
        json={"to": to, "notification": notification, "data": data, **options},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    return body["id"]


def wait_until_delivered(
    stack: LocalStackProcess, push_service: LoopbackPushService, push_id: str, expected: dict[str, int]
) -> None:
    """GET /pushes/{id} until the fan-out is over and nothing is pending, then check the counts."""
    url = f"{stack.http_url}/pushes/{push_id}"
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while True:
        response = requests.get(url, params={"api_key": stack.demo()["secret_key"]}, timeout=30)
        assert response.status_code == 200, response.text
        push = response.json()["push"]
        if push["status"] == "done" or time.monotonic() > deadline:
            break
        time.sleep(POLL_INTERVAL_SECONDS)
    logs = f"--- push service ---\n{push_service.log()}\n{stack.logs()}"
    assert push["status"] == "done", f"push still {push} after {DELIVERY_TIMEOUT_SECONDS} s\n{logs}"
    assert {name: push["counts"][name] for name in expected} == expected, f"{push}\n{logs}"
    assert push["counts"].get("cancelled", 0) == 0, push  # pushgate's own addition to the contract's counts


def counts(targeted: int, sent: int = 0, failed: int = 0, pruned: int = 0) -> dict[str, int]:
    """GET /pushes/{id} counts (docs/api.md §4) of a push that is over."""
    return {"targeted": targeted, "sent": sent, "failed": failed, "pruned": pruned, "pending": 0}


def a_notification() -> tuple[dict[str, Any], dict[str, Any]]:
    """A notification and data, non-ASCII included, unique per push."""
    marker = str(uuid.uuid4())
    notification = {
        "title": "Réunion à 15 h ✓",
        "body": f"Ordre du jour {marker}",
        "icon": "/icon.png",
        "url": "/agenda",
    }
    data = {"marker": marker, "nested": {"list": [1, 2.5, None, True], "emoji": "📬"}}
    return notification, data


# -- tests ----------------------------------------------------------------------------------------


def test_a_push_to_a_token_arrives_once_decrypted(
    stack: LocalStackProcess, push_service: LoopbackPushService, vapid_public_key: str
) -> None:
    # Given a browser subscribed at the push service with the app's VAPID key, registered through §2
    browser = push_service.subscribe(vapid_public_key)
    register_with_account_api(stack, f"token-{uuid.uuid4()}", browser)
    # When the app's backend pushes to its token (the endpoint)
    notification, data = a_notification()
    push_id = send_push(stack, browser.endpoint, notification, data)
    # Then the push service accepted it (VAPID checked) and decrypted exactly the payload, once
    wait_until_delivered(stack, push_service, push_id, counts(targeted=1, sent=1))
    assert push_service.messages(browser) == [{"id": push_id, "notification": notification, "data": data}]


def test_push_requests_carry_the_push_headers_and_vapid_claims(
    stack: LocalStackProcess, push_service: LoopbackPushService, vapid_public_key: str
) -> None:
    # Given a registered browser
    browser = push_service.subscribe(vapid_public_key)
    register_with_account_api(stack, f"headers-{uuid.uuid4()}", browser)
    # When the app pushes with a TTL, an urgency and a collapse key
    notification, data = a_notification()
    before = time.time()
    push_id = send_push(
        stack, browser.endpoint, notification, data, time_to_live=3600, urgency="high", collapse_key="score update"
    )
    wait_until_delivered(stack, push_service, push_id, counts(targeted=1, sent=1))
    waited = time.time() - before
    # Then the one request carried them as RFC 8030 says, with a VAPID JWT for the endpoint's origin
    assert push_service.messages(browser) == [{"id": push_id, "notification": notification, "data": data}]
    [request] = push_service.requests(browser)
    assert request["contentEncoding"] == "aes128gcm"
    assert request["contentType"] == "application/octet-stream"
    assert 3600 - waited - 1 <= int(request["ttl"]) <= 3600  # reduced by the time spent in the queues
    assert request["urgency"] == "high"
    assert re.fullmatch(r"[A-Za-z0-9_-]{1,32}", request["topic"])  # the collapse key, hashed (it travels in clear)
    vapid = request["vapid"]
    assert vapid["aud"] == f"http://{push_service.push_host}"
    assert time.time() < vapid["exp"] <= time.time() + 12 * 3600 + 1
    assert re.match(r"(mailto:|https://)", vapid["sub"])


def test_a_push_to_a_user_reaches_each_of_their_browsers_once(
    stack: LocalStackProcess, push_service: LoopbackPushService, vapid_public_key: str
) -> None:
    # Given one user's browsers, registered through the account, device and channel APIs,
    # and another user's browser
    user_id = f"user-{uuid.uuid4()}"
    browsers = [push_service.subscribe(vapid_public_key) for _ in range(3)]
    register_with_account_api(stack, user_id, browsers[0])
    register_with_device_api(stack, user_id, browsers[1])
    register_with_channel_api(stack, user_id, browsers[2])
    someone_else = push_service.subscribe(vapid_public_key)
    register_with_account_api(stack, f"other-{uuid.uuid4()}", someone_else)
    # When the app pushes to the user
    notification, data = a_notification()
    push_id = send_push(stack, f"/users/{user_id}", notification, data)
    # Then each of the user's browsers got it exactly once, and nobody else did
    wait_until_delivered(stack, push_service, push_id, counts(targeted=3, sent=3))
    expected = {"id": push_id, "notification": notification, "data": data}
    assert [push_service.messages(browser) for browser in browsers] == [[expected]] * 3
    assert push_service.messages(someone_else) == []


def test_a_push_to_a_topic_reaches_each_subscriber_once(
    stack: LocalStackProcess, push_service: LoopbackPushService, vapid_public_key: str
) -> None:
    # Given two users' browsers subscribed to a topic, and a third browser that is not
    topic = f"news-{uuid.uuid4().hex[:12]}"
    subscribers = [push_service.subscribe(vapid_public_key) for _ in range(2)]
    register_with_account_api(stack, f"reader-{uuid.uuid4()}", subscribers[0])
    register_with_device_api(stack, f"reader-{uuid.uuid4()}", subscribers[1])
    for subscriber in subscribers:
        subscribe_to_topic(stack, subscriber, topic)
    bystander = push_service.subscribe(vapid_public_key)
    register_with_account_api(stack, f"bystander-{uuid.uuid4()}", bystander)
    # When the app pushes to the topic
    notification, data = a_notification()
    push_id = send_push(stack, f"/topics/{topic}", notification, data)
    # Then each subscriber got it exactly once, and the bystander nothing
    wait_until_delivered(stack, push_service, push_id, counts(targeted=2, sent=2))
    expected = {"id": push_id, "notification": notification, "data": data}
    assert [push_service.messages(subscriber) for subscriber in subscribers] == [[expected]] * 2
    assert push_service.messages(bystander) == []


def test_a_push_to_two_topics_reaches_a_browser_in_both_once(
    stack: LocalStackProcess, push_service: LoopbackPushService, vapid_public_key: str
) -> None:
    # Given one browser in two topics and another in the second topic only
    sports, news = f"sports-{uuid.uuid4().hex[:12]}", f"news-{uuid.uuid4().hex[:12]}"
    in_both, in_news = push_service.subscribe(vapid_public_key), push_service.subscribe(vapid_public_key)
    register_with_account_api(stack, f"fan-{uuid.uuid4()}", in_both)
    register_with_device_api(stack, f"fan-{uuid.uuid4()}", in_news)
    subscribe_to_topic(stack, in_both, sports)
    subscribe_to_topic(stack, in_both, news)
    subscribe_to_topic(stack, in_news, news)
    # When the app pushes to both topics
    notification, data = a_notification()
    push_id = send_push(stack, [f"/topics/{sports}", f"/topics/{news}"], notification, data)
    # Then each browser got it exactly once, and it was counted once
    wait_until_delivered(stack, push_service, push_id, counts(targeted=2, sent=2))
    expected = {"id": push_id, "notification": notification, "data": data}
    assert [push_service.messages(browser) for browser in (in_both, in_news)] == [[expected]] * 2


def test_an_expired_subscription_is_pruned(
    stack: LocalStackProcess, push_service: LoopbackPushService, vapid_public_key: str
) -> None:
    # Given a user with two working browsers
    user_id = f"leaver-{uuid.uuid4()}"
    kept, expired = push_service.subscribe(vapid_public_key), push_service.subscribe(vapid_public_key)
    register_with_account_api(stack, user_id, kept)
    register_with_device_api(stack, user_id, expired)
    first_notification, first_data = a_notification()
    first_id = send_push(stack, f"/users/{user_id}", first_notification, first_data)
    wait_until_delivered(stack, push_service, first_id, counts(targeted=2, sent=2))
    first = {"id": first_id, "notification": first_notification, "data": first_data}
    # When one of them expires at the push service (it now answers 410 Gone) and the app pushes again
    push_service.expire(expired)
    notification, data = a_notification()
    push_id = send_push(stack, f"/users/{user_id}", notification, data)
    # Then the live browser gets the push, the expired subscription is pruned and shown EXPIRED
    wait_until_delivered(stack, push_service, push_id, counts(targeted=2, sent=1, pruned=1))
    assert push_service.messages(kept) == [first, {"id": push_id, "notification": notification, "data": data}]
    assert push_service.messages(expired) == [first]
    assert len(push_service.requests(expired)) == 2  # the 410 was not retried
    response = requests.get(
        f"{stack.http_url}/devices/{quote(expired.endpoint, safe='')}",
        params={"api_key": stack.demo()["secret_key"]},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert response.json()["device"]["status"] == "EXPIRED"
    assert response.json()["device"]["type"] == "web"
    assert response.json()["device"]["user_id"] == user_id


def test_one_push_reaches_a_browser_and_each_native_device_once_then_only_the_dead_ones_are_pruned(
    stack: LocalStackProcess, push_service: LoopbackPushService, vapid_public_key: str
) -> None:
    from tests.e2e.test_e2e_native import Fake, of_push
    from tests.e2e.test_e2e_native import register as register_native

    # Given a user with a browser, an iPhone (alert and VoIP tokens) and two Android/Firebase apps
    user = f"everywhere-{uuid.uuid4()}"
    browser = push_service.subscribe(vapid_public_key)
    register_with_device_api(stack, user, browser)
    session_id = stack.create_session(user)
    tokens = {"ios": uuid.uuid4().hex * 2, "ios-voip": uuid.uuid4().hex * 2, "android": f"a-{uuid.uuid4()}", "fcm": f"f-{uuid.uuid4()}"}
    for device_type, token in tokens.items():
        register_native(stack, session_id, device_type, token)
    apns, fcm = Fake(stack, "apns"), Fake(stack, "fcm")

    # When the app's backend pushes to the user once
    notification, data = a_notification()
    push_id = send_push(stack, f"/users/{user}", notification, data)

    # Then every device got exactly one message, each in its provider's shape
    wait_until_delivered(stack, push_service, push_id, counts(targeted=5, sent=5))
    assert push_service.messages(browser) == [{"id": push_id, "notification": notification, "data": data}]
    by_token = {n["token"]: n for n in of_push(apns.received(), push_id, "apns")}
    assert len(of_push(apns.received(), push_id, "apns")) == 2 and set(by_token) == {tokens["ios"], tokens["ios-voip"]}
    assert by_token[tokens["ios"]]["payload"]["aps"]["alert"] == {"title": notification["title"], "body": notification["body"]}
    assert by_token[tokens["ios-voip"]]["push_type"] == "voip"
    messages = of_push(fcm.received(), push_id, "fcm")
    assert sorted(m["message"]["token"] for m in messages) == sorted([tokens["android"], tokens["fcm"]])
    assert all(m["message"]["data"]["marker"] == data["marker"] for m in messages)

    # When the browser, the iPhone app and the Android app are gone (410 / Unregistered / UNREGISTERED)
    # while APNs refuses our provider token for the VoIP push and FCM says the other app's token
    # belongs to another project (both 403: our configuration, never the device's fault)
    push_service.expire(browser)
    apns.behave(tokens["ios"], "unregistered")
    fcm.behave(tokens["android"], "unregistered")
    apns.behave(tokens["ios-voip"], "forbidden")
    fcm.behave(tokens["fcm"], "sender_id_mismatch")
    push_id = send_push(stack, f"/users/{user}", notification, data)

    # Then the three dead ones are pruned and the two refused ones are left as they were
    wait_until_delivered(stack, push_service, push_id, counts(targeted=5, pruned=3, failed=2))
    status = requests.get(f"{stack.http_url}/pushes/{push_id}", params={"api_key": stack.demo()["secret_key"]}, timeout=30).json()
    assert status["push"]["failed_reasons"] == {"rejected": 2}
    for token, expected in ((browser.endpoint, "EXPIRED"), (tokens["ios"], "EXPIRED"), (tokens["android"], "EXPIRED"),
                            (tokens["ios-voip"], "ACTIVE"), (tokens["fcm"], "ACTIVE")):
        response = requests.get(f"{stack.http_url}/devices/{quote(token, safe='')}", params={"api_key": stack.demo()["secret_key"]}, timeout=30)
        assert response.json()["device"]["status"] == expected, (token[:12], response.text)
