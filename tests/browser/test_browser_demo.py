"""The demo page (/demo/) in headless Chromium, against a local stack started as `make run` starts it.

- The page loads with no console error or exception, registers clients/js/sw.js as a module
  service worker, and gets the VAPID key over the WebSocket (push_get_vapid).
- The worker shows a pushed notification once per push id (the sender is at-least-once), posts a
  data push to the page (pushgate.listen), and its click handler opens the push's url.
- For each surface: the page subscribes through pushgate.js -> the page pushes to its user through
  the local-only route -> pushgate's Web Push sender delivers it, encrypted and VAPID-signed, to the
  e2e suite's push service -> the payload the push service decrypted is handed to the worker
  (ServiceWorker.deliverPushMessage: the browser's own push connection cannot be had here) -> the
  notification shows; then the page unsubscribes and its table is empty.

Screenshots of each step go to the directory printed by each test (see -s, or a failure's output)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.browser.cdp import Chromium
from tests.browser.demo_page import CLICK_IN_WORKER, DemoPage, fake_push_manager_script
from tests.e2e.local_stack import LocalStackProcess
from tests.e2e.push_service import LoopbackPushService, PushSubscription
from tests.e2e.test_e2e_delivery import DELIVERY_TIMEOUT_SECONDS

pytestmark = pytest.mark.e2e

SURFACES = ("websocket", "account", "device", "channel")


def vapid_key(stack: LocalStackProcess) -> str:
    return stack.demo()["channels"][0]["vapid_public_key"]


def no_errors(demo: DemoPage) -> None:
    assert demo.page.console_errors() == []
    assert demo.log_errors() == []


def delivered_payload(push_service: LoopbackPushService, subscription: PushSubscription, push_id: str, stack: LocalStackProcess) -> dict[str, Any]:
    """The push as the push service received it: decrypted with the browser's keys, VAPID checked."""
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while True:
        messages = push_service.messages(subscription)
        if messages or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert [message["id"] for message in messages] == [push_id], f"{messages}\n{push_service.log()}\n{stack.logs()}"
    return messages[0]


def test_the_demo_page_loads_registers_its_worker_and_gets_the_vapid_key_over_the_websocket(
    chromium: Chromium, browser_stack: LocalStackProcess, screenshots: Path
) -> None:
    demo = DemoPage.open(chromium, browser_stack.http_url)
    try:
        demo.page.screenshot(screenshots / "01-loaded.png")
        scope = demo.page.evaluate("navigator.serviceWorker.ready.then(r => r.scope + ' ' + r.active.scriptURL)")
        assert scope == f"{browser_stack.http_url}/demo/ {browser_stack.http_url}/demo/sw.js"
        assert demo.registration_id()

        demo.sign_in(f"visitor-{uuid.uuid4()}", "websocket")
        demo.page.screenshot(screenshots / "02-signed-in.png")
        assert demo.text("#vapid-key") == vapid_key(browser_stack)
        sent, received = demo.websocket_frames()
        assert {"cmd": "push_get_vapid"} in [json.loads(frame) for frame in sent]
        assert {"cmd": "push_vapid", "key": vapid_key(browser_stack)} in [json.loads(frame) for frame in received]
        assert demo.subscription_count() == 0
        no_errors(demo)
    finally:
        demo.close()


def test_the_worker_shows_a_push_once_per_id_posts_data_to_the_page_and_a_click_opens_the_url(
    chromium: Chromium, browser_stack: LocalStackProcess, screenshots: Path
) -> None:
    demo = DemoPage.open(chromium, browser_stack.http_url)
    worker = None
    try:
        demo.sign_in(f"clicker-{uuid.uuid4()}", "device")  # pushgate.listen runs from sign-in on
        worker = demo.worker()  # attached first, so that its console errors are collected
        push_id = f"push-{uuid.uuid4()}"
        notification = {"title": "Réunion à 15 h ✓", "body": "Ordre du jour", "url": "/docs"}
        # A notification push shows once
        demo.deliver({"id": push_id, "notification": notification, "data": {"n": 1}})
        shown = demo.wait_for_notification(push_id)
        demo.page.screenshot(screenshots / "01-notification.png")
        assert (shown["title"], shown["body"]) == (notification["title"], notification["body"])
        assert shown["data"]["id"] == push_id and shown["data"]["url"] == "/docs"

        # A click opens its url (and closes it)
        clicked = worker.evaluate(f"{CLICK_IN_WORKER}({json.dumps(push_id)})")
        assert clicked == {"opened": [f"{browser_stack.http_url}/docs"], "focused": [], "left": 0}

        # The same id again (an at-least-once redelivery) shows nothing; a new id still shows
        demo.deliver({"id": push_id, "notification": notification, "data": {"n": 1}})
        next_id = f"push-{uuid.uuid4()}"
        demo.deliver({"id": next_id, "notification": {**notification, "title": "next"}})
        demo.wait_for_notification(next_id)
        assert [n["tag"] for n in demo.notifications()] == [next_id]

        # A data-only push reaches the page through pushgate.listen, once
        data_id = f"data-{uuid.uuid4()}"
        demo.deliver({"id": data_id, "data": {"score": [3, 1]}})
        demo.deliver({"id": data_id, "data": {"score": [3, 1]}})
        demo.page.wait_for(f"!!document.querySelector('#messages li[data-id=\"{data_id}\"]')")
        demo.deliver({"id": f"data-{uuid.uuid4()}", "data": {"after": True}})
        demo.page.wait_for("document.querySelectorAll('#messages li').length === 2")
        assert demo.page.evaluate(f"document.querySelectorAll('#messages li[data-id=\"{data_id}\"]').length") == 1
        assert json.dumps({"score": [3, 1]}, separators=(",", ":")) in demo.text(f"#messages li[data-id=\"{data_id}\"]")
        demo.page.screenshot(screenshots / "02-data-push.png")
        no_errors(demo)
        assert worker.console_errors() == []
        demo.close_notifications()
    finally:
        demo.close()


@pytest.mark.parametrize("surface", SURFACES)
def test_subscribe_receive_and_unsubscribe_through_each_surface(
    surface: str, chromium: Chromium, browser_stack: LocalStackProcess, browser_push_service: LoopbackPushService,
    screenshots: Path,
) -> None:
    # Given a browser whose push service is the e2e suite's (see demo_page.py)
    subscription = browser_push_service.subscribe(vapid_key(browser_stack))
    demo = DemoPage.open(chromium, browser_stack.http_url, inject=fake_push_manager_script(subscription, vapid_key(browser_stack)))
    try:
        demo.sign_in(f"{surface}-user-{uuid.uuid4()}", surface)

        # When the page subscribes through the surface
        demo.click("#subscribe")
        demo.wait_for_subscription_count(1)
        demo.page.screenshot(screenshots / f"01-{surface}-subscribed.png")
        assert demo.page.evaluate("window.__testPushService.subscribeCalls") >= 1
        row = demo.page.evaluate("[...document.querySelectorAll('#subscriptions tbody tr td')].map(td => td.textContent)")
        assert row[1:3] == ["web", "ACTIVE"] and row[5] == f"{browser_push_service.push_host}/…"

        # And pushes to its user through the local-only route
        marker = uuid.uuid4().hex[:8]
        push_id = demo.send_push(f"Hello {surface} {marker}", "through the real pipeline", "/demo/", {"marker": marker})

        # Then the sender delivered it, encrypted and VAPID-signed, to the push service
        payload = delivered_payload(browser_push_service, subscription, push_id, browser_stack)
        assert payload == {
            "id": push_id,
            "notification": {"title": f"Hello {surface} {marker}", "body": "through the real pipeline", "url": "/demo/"},
            "data": {"marker": marker},
        }
        # And, handed to the worker as the browser would, it shows as a notification
        demo.deliver(payload)
        shown = demo.wait_for_notification(push_id)
        assert shown["title"] == f"Hello {surface} {marker}" and shown["data"]["url"] == "/demo/"
        demo.page.screenshot(screenshots / f"02-{surface}-received.png")
        demo.close_notifications()

        # When the page unsubscribes, the table is empty and the browser's subscription is gone
        demo.click("#unsubscribe")
        demo.wait_for_subscription_count(0)
        demo.page.screenshot(screenshots / f"03-{surface}-unsubscribed.png")
        assert demo.page.evaluate("window.__testPushService.current === null")
        no_errors(demo)
    finally:
        demo.close()
