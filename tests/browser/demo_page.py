"""The demo page (/demo/) in headless Chromium, as the browser tests drive it: through its own form
and buttons, reading what it shows.

Chromium's real pushManager.subscribe() asks Google's push service, which cannot be reached here.
So, for the tests only, `fake_push_manager_script` is injected into the page before any of its
scripts run (Page.addScriptToEvaluateOnNewDocument): PushManager.subscribe() then returns a
subscription made beforehand at the e2e suite's push service (web-push-testing), and refuses any
applicationServerKey but the demo app's VAPID key. Everything else is the browser's own: the
service worker, permissions, notifications, the page's fetches and WebSocket. Nothing of it is in
the demo's code."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from tests.browser.cdp import COMMAND_TIMEOUT_SECONDS, CdpError, Chromium, Target
from tests.e2e.push_service import PushSubscription

SW_SCRIPT_SUFFIX = "/demo/sw.js"
SETTLE_SECONDS = 1.0


def fake_push_manager_script(subscription: PushSubscription, vapid_public_key: str) -> str:
    return """(() => {
  const injected = %(subscription)s;
  const expectedKey = %(vapid)s;
  const bytes = (b64url) => Uint8Array.from(
    atob(b64url.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(b64url.length / 4) * 4, "=")),
    (c) => c.charCodeAt(0));
  const b64url = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer.buffer || buffer)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const state = { subscribeCalls: 0, unsubscribeCalls: 0, current: null };
  window.__testPushService = state;
  const subscription = () => ({
    endpoint: injected.endpoint,
    expirationTime: null,
    options: { userVisibleOnly: true, applicationServerKey: bytes(expectedKey).buffer },
    getKey: (name) => bytes(injected.keys[name]).buffer,
    toJSON: () => ({ endpoint: injected.endpoint, expirationTime: null, keys: { ...injected.keys } }),
    unsubscribe: async () => { state.unsubscribeCalls += 1; const had = state.current !== null; state.current = null; return had; },
  });
  PushManager.prototype.subscribe = async function (options) {
    state.subscribeCalls += 1;
    const key = options && options.applicationServerKey;
    const given = typeof key === "string" ? key.replace(/=+$/, "") : key ? b64url(key) : null;
    if (given !== expectedKey) throw new DOMException(`applicationServerKey ${given} is not the app's VAPID key`, "InvalidAccessError");
    if (!options.userVisibleOnly) throw new DOMException("userVisibleOnly is required", "NotAllowedError");
    state.current = state.current || subscription();
    return state.current;
  };
  PushManager.prototype.getSubscription = async function () { return state.current; };
  PushManager.prototype.permissionState = async function () { return Notification.permission === "granted" ? "granted" : "prompt"; };
})();""" % {"subscription": json.dumps(subscription.to_json()), "vapid": json.dumps(vapid_public_key)}


@dataclass
class DemoPage:
    page: Target
    origin: str
    _workers: list[Target] = field(default_factory=list)

    @classmethod
    def open(cls, chromium: Chromium, http_url: str, inject: str | None = None) -> "DemoPage":
        assert chromium.cdp is not None
        chromium.cdp.send("Browser.grantPermissions", {"origin": http_url, "permissions": ["notifications"]})
        page = chromium.new_page()
        for domain in ("Network", "ServiceWorker"):
            page.send(f"{domain}.enable")
        if inject is not None:
            page.send("Page.addScriptToEvaluateOnNewDocument", {"source": inject})
        page.navigate(f"{http_url}/demo/")
        page.wait_for("document.body.dataset.ready === 'true'")
        return cls(page, http_url)

    def close(self) -> None:
        self.page.cdp.send("Target.closeTarget", {"targetId": self.page.target_id})

    # -- the page's controls ----------------------------------------------------------------------

    def wait_for(self, expression: str) -> Any:
        """Page.wait_for, with what the page logged as errors when it fails."""
        try:
            return self.page.wait_for(expression)
        except CdpError as error:
            workers = self.worker_errors()
            raise CdpError(f"{error}\npage log errors: {self.log_errors()}\nconsole: {self.page.console_errors()}\n"
                           f"service worker console: {workers}") from None

    def fill(self, selector: str, value: str) -> None:
        self.page.evaluate(f"document.querySelector({json.dumps(selector)}).value = {json.dumps(value)}")

    def click(self, selector: str) -> None:
        self.page.wait_for(f"!document.querySelector({json.dumps(selector)}).disabled")
        self.page.evaluate(f"document.querySelector({json.dumps(selector)}).click()")

    def sign_in(self, user_id: str, surface: str) -> None:
        self.fill("#user-id", user_id)
        self.fill("#surface", surface)
        self.click("#sign-in-button")
        self.wait_for(f"document.body.dataset.signedIn === {json.dumps(surface)} && "
                           "document.querySelector('#subscriptions').dataset.count !== undefined")

    def text(self, selector: str) -> str:
        return self.page.evaluate(f"document.querySelector({json.dumps(selector)}).textContent")

    def subscription_count(self) -> int:
        return int(self.page.evaluate("document.querySelector('#subscriptions').dataset.count"))

    def wait_for_subscription_count(self, count: int) -> None:
        self.wait_for(f"document.querySelector('#subscriptions').dataset.count === '{count}'")

    def log_errors(self) -> list[str]:
        return self.page.evaluate("[...document.querySelectorAll('#log li.error')].map(li => li.textContent)")

    def send_push(self, title: str, body: str, url: str, data: dict[str, Any] | None) -> str:
        previous = self.page.evaluate("document.querySelector('#push').dataset.lastId || ''")
        self.fill("#push-title", title)
        self.fill("#push-body", body)
        self.fill("#push-url", url)
        self.fill("#push-data", json.dumps(data) if data is not None else "")
        self.click("#send")
        return self.wait_for(
            f"(id => id && id !== {json.dumps(previous)} && id)(document.querySelector('#push').dataset.lastId)"
        )

    # -- the service worker -----------------------------------------------------------------------

    def registration_id(self) -> str:
        """The demo worker's registration, once active (from the ServiceWorker domain's events)."""
        version = self.page.wait_event(
            "ServiceWorker.workerVersionUpdated",
            lambda event: any(v["scriptURL"].endswith(SW_SCRIPT_SUFFIX) and v["status"] == "activated" for v in event["versions"]),
        )
        return next(v["registrationId"] for v in version["versions"] if v["scriptURL"].endswith(SW_SCRIPT_SUFFIX))

    def deliver(self, payload: dict[str, Any] | str) -> None:
        """What the browser's push service connection does with a push: hand it to the worker."""
        data = payload if isinstance(payload, str) else json.dumps(payload)
        self.page.send("ServiceWorker.deliverPushMessage", {"origin": self.origin, "registrationId": self.registration_id(), "data": data})

    def notifications(self) -> list[dict[str, Any]]:
        return self.page.evaluate(
            "navigator.serviceWorker.getRegistration('/demo/').then(r => r.getNotifications())"
            ".then(ns => ns.map(n => ({title: n.title, body: n.body, tag: n.tag, data: n.data})))"
        )

    def wait_for_notification(self, tag: str) -> dict[str, Any]:
        """The notification the worker showed for a push. Not read while it is being shown:
        Chromium's getNotifications() drops from its database any notification its display does
        not list yet, so a read racing the display would lose it for good. Hence a first look
        after SETTLE_SECONDS, then one a second (a wait for the browser, not a timing assertion)."""
        time.sleep(SETTLE_SECONDS)
        deadline = time.monotonic() + COMMAND_TIMEOUT_SECONDS
        while True:
            shown = [n for n in self.notifications() if n["tag"] == tag]
            if shown:
                return shown[0]
            if time.monotonic() > deadline:
                self.wait_for("false")  # fails, with what the page and its worker logged
            time.sleep(1.0)

    def close_notifications(self) -> None:
        self.page.evaluate(
            "navigator.serviceWorker.getRegistration('/demo/').then(r => r.getNotifications())"
            ".then(ns => { ns.forEach(n => n.close()); return ns.length; })"
        )
        self.page.wait_for("navigator.serviceWorker.getRegistration('/demo/').then(r => r.getNotifications())"
                           ".then(ns => ns.length === 0)")

    def worker_errors(self) -> list[str]:
        return [error for worker in self._workers for error in worker.console_errors()]

    def worker(self) -> Target:
        cdp = self.page.cdp
        targets = cdp.send("Target.getTargets")["targetInfos"]
        target = next(t for t in targets if t["type"] == "service_worker" and t["url"].startswith(self.origin)
                      and t["url"].endswith(SW_SCRIPT_SUFFIX))
        worker = cdp.attach(target["targetId"])
        for domain in ("Runtime", "Log"):
            worker.send(f"{domain}.enable")
        self._workers.append(worker)
        return worker

    def websocket_frames(self) -> tuple[list[str], list[str]]:
        """The payloads the page sent and received over WebSockets."""
        events = self.page.cdp.events
        sent = [e["response"]["payloadData"] for e in events("Network.webSocketFrameSent", self.page.session_id)]
        received = [e["response"]["payloadData"] for e in events("Network.webSocketFrameReceived", self.page.session_id)]
        return sent, received


# Dispatched in the worker: its own notificationclick listeners run on a NotificationEvent for the
# notification it showed. Why not a real click: the DevTools protocol has no notification click,
# and headless Chromium shows notifications in no UI that could be clicked; a script-made event may
# not call waitUntil() and may not open a window (Chromium: "Not allowed to open a window"), so
# waitUntil is collected here and clients.openWindow/WindowClient.focus are observed, not performed.
CLICK_IN_WORKER = """(async (tag) => {
  const [notification] = await self.registration.getNotifications({ tag });
  if (!notification) throw new Error(`no notification ${tag}`);
  const opened = [], focused = [], pending = [];
  const realFocus = WindowClient.prototype.focus;
  self.clients.openWindow = async (url) => { opened.push(new URL(url, self.location.href).href); return null; };
  WindowClient.prototype.focus = async function () { focused.push(this.url); return this; };
  try {
    const event = new NotificationEvent("notificationclick", { notification, action: "" });
    Object.defineProperty(event, "waitUntil", { value: (promise) => pending.push(promise) });
    self.dispatchEvent(event);
    await Promise.all(pending);
  } finally {
    delete self.clients.openWindow;
    WindowClient.prototype.focus = realFocus;
  }
  const left = await self.registration.getNotifications({ tag });
  return { opened, focused, left: left.length };
})"""
