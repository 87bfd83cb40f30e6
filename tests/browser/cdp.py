"""Headless Chromium driven over the DevTools protocol, with nothing but the `websockets` package.

Why not chromedriver/Selenium: what the browser tests need is only in the DevTools protocol
(ServiceWorker.deliverPushMessage, Browser.grantPermissions, the service worker's own target, the
console and exception events), and one flat websocket session reaches all of it without a new
dependency.

`Chromium` starts the browser (Debian's /usr/bin/chromium) on a free DevTools port in a throwaway
profile; `Cdp` is the connection (commands, events, flat sessions); `Target` is one attached page
or worker, with the helpers the tests use (evaluate, navigate, screenshots, console errors)."""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from websockets.sync.client import connect

CHROMIUM = Path("/usr/bin/chromium")
# The flags of the brief: without the background-networking ones the closed network refuses many
# connections (component updates, sync, safe browsing), and they would log errors.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    # Notifications in Chromium's own message center, not the desktop's over D-Bus (absent here):
    # while the D-Bus bridge is being tried, a shown notification may be missing from
    # getNotifications().
    "--disable-features=NativeNotifications,SystemNotifications",
    "--remote-debugging-port=0",
    "--window-size=1280,900",
)
START_TIMEOUT_SECONDS = 30
COMMAND_TIMEOUT_SECONDS = 30


class CdpError(RuntimeError):
    """A protocol command answered with an error, or a page's script threw."""


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing: `apt-get install -y chromium chromium-driver` (make test does it as root)"
    return None


class Cdp:
    """One websocket to the browser; commands are matched to their answers by id, events kept in order."""

    def __init__(self, ws_url: str) -> None:
        self._socket = connect(ws_url, max_size=None, open_timeout=START_TIMEOUT_SECONDS, legacy=True)
        self._ids = itertools.count(1)
        self._answers: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="cdp-reader", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            while True:
                message = json.loads(self._socket.recv())
                with self._changed:
                    if "id" in message:
                        self._answers[message["id"]] = message
                    else:
                        self._events.append(message)
                    self._changed.notify_all()
        except Exception:  # noqa: BLE001 - the browser went away; waiters see _closed
            pass
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, session_id: str | None = None,
             timeout: float = COMMAND_TIMEOUT_SECONDS) -> dict[str, Any]:
        command_id = next(self._ids)
        message: dict[str, Any] = {"id": command_id, "method": method, "params": params or {}}
        if session_id is not None:
            message["sessionId"] = session_id
        self._socket.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        with self._changed:
            while command_id not in self._answers:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    raise CdpError(f"{method}: no answer ({'browser closed' if self._closed else 'timed out'})")
                self._changed.wait(remaining)
            answer = self._answers.pop(command_id)
        if "error" in answer:
            raise CdpError(f"{method}: {answer['error'].get('message')} {answer['error'].get('data', '')}".strip())
        return answer.get("result", {})

    def events(self, method: str, session_id: str | None = None) -> list[dict[str, Any]]:
        with self._changed:
            return [event["params"] for event in self._events
                    if event["method"] == method and (session_id is None or event.get("sessionId") == session_id)]

    def wait_event(self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
                   session_id: str | None = None, timeout: float = COMMAND_TIMEOUT_SECONDS) -> dict[str, Any]:
        """The first event so far (or to come) of that method for which predicate holds."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for event in self._events:
                    if event["method"] == method and (session_id is None or event.get("sessionId") == session_id):
                        if predicate(event["params"]):
                            return event["params"]
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    raise CdpError(f"no {method} event within {timeout} s")
                self._changed.wait(remaining)

    def attach(self, target_id: str) -> "Target":
        session_id = self.send("Target.attachToTarget", {"targetId": target_id, "flatten": True})["sessionId"]
        return Target(self, target_id, session_id)

    def close(self) -> None:
        self._socket.close()


class Target:
    """An attached page or service worker."""

    def __init__(self, cdp: Cdp, target_id: str, session_id: str) -> None:
        self.cdp, self.target_id, self.session_id = cdp, target_id, session_id

    def send(self, method: str, params: dict[str, Any] | None = None, timeout: float = COMMAND_TIMEOUT_SECONDS) -> dict[str, Any]:
        return self.cdp.send(method, params, self.session_id, timeout)

    def wait_event(self, method: str, predicate: Callable[[dict[str, Any]], bool] = lambda _: True,
                   timeout: float = COMMAND_TIMEOUT_SECONDS) -> dict[str, Any]:
        return self.cdp.wait_event(method, predicate, self.session_id, timeout)

    def evaluate(self, expression: str, timeout: float = COMMAND_TIMEOUT_SECONDS) -> Any:
        """The value of a JS expression (awaited if a promise); a throw becomes CdpError."""
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True, "userGesture": True},
            timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(details.get("exception", {}).get("description") or details.get("text"))
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = COMMAND_TIMEOUT_SECONDS, interval: float = 0.1) -> Any:
        """Polls until the expression is truthy; its value (the page's own state, not a timing check)."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise CdpError(f"still falsy after {timeout} s: {expression}")
            time.sleep(interval)

    def navigate(self, url: str) -> None:
        loaded = len(self.cdp.events("Page.loadEventFired", self.session_id))
        self.send("Page.navigate", {"url": url})
        deadline = time.monotonic() + COMMAND_TIMEOUT_SECONDS
        while len(self.cdp.events("Page.loadEventFired", self.session_id)) <= loaded:
            if time.monotonic() > deadline:
                raise CdpError(f"{url} did not load")
            time.sleep(0.05)

    def screenshot(self, path: Path) -> Path:
        # The whole page, not only the window: the log at its foot is part of what a step shows.
        size = self.send("Page.getLayoutMetrics")["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 4000), "scale": 1}
        data = self.send("Page.captureScreenshot", {"format": "png", "clip": clip, "captureBeyondViewport": True})["data"]
        path.write_bytes(base64.b64decode(data))
        return path

    def console_errors(self) -> list[str]:
        """Everything the target reported as an error: console.error, uncaught exceptions, log entries."""
        errors = [
            " ".join(str(arg.get("value", arg.get("description", ""))) for arg in event["args"])
            for event in self.cdp.events("Runtime.consoleAPICalled", self.session_id) if event["type"] == "error"
        ]
        errors += [
            (event["exceptionDetails"].get("exception", {}).get("description") or event["exceptionDetails"]["text"])
            for event in self.cdp.events("Runtime.exceptionThrown", self.session_id)
        ]
        errors += [
            f"{event['entry']['text']} ({event['entry'].get('url', '')})"
            for event in self.cdp.events("Log.entryAdded", self.session_id) if event["entry"]["level"] == "error"
        ]
        return errors


class Chromium:
    """Headless Chromium in a throwaway profile, on a free DevTools port."""

    def __init__(self, profile_dir: Path, log_path: Path) -> None:
        self.profile_dir, self.log_path = profile_dir, log_path
        self.process: subprocess.Popen[bytes] | None = None
        self.cdp: Cdp | None = None

    def start(self) -> Cdp:
        self.profile_dir.mkdir(parents=True, exist_ok=True)
        port_file = self.profile_dir / "DevToolsActivePort"
        port_file.unlink(missing_ok=True)  # a stale one would point at a browser that is gone
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [str(CHROMIUM), *CHROMIUM_FLAGS, f"--user-data-dir={self.profile_dir}", "about:blank"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise CdpError(f"chromium did not start\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        self.cdp = Cdp(f"ws://127.0.0.1:{port}{path}")
        return self.cdp

    def new_page(self, url: str = "about:blank") -> Target:
        assert self.cdp is not None
        target_id = self.cdp.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        page = self.cdp.attach(target_id)
        for domain in ("Page", "Runtime", "Log"):
            page.send(f"{domain}.enable")
        if url != "about:blank":
            page.navigate(url)
        return page

    def stop(self) -> None:
        if self.cdp is not None:
            try:
                self.cdp.send("Browser.close", timeout=5)
            except CdpError:
                pass
            self.cdp.close()
        if self.process is not None and self.process.poll() is None:
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.profile_dir, ignore_errors=True)
