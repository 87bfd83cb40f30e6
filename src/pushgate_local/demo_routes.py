"""The demo page of the local stack and its local-only API (never in template.yaml, never deployed):

- GET  /demo/                         the page (demo/index.html, demo.js, demo.css at the repository root)
- GET  /demo/pushgate.js, /demo/sw.js the JS client (clients/js), served under /demo/ so that the
                                      service worker's default scope covers the page
- POST /_pushgate/local/demo/session  {user_id} -> a session and a user JWT for a user of the demo
                                      app, and what the page needs to reach the surfaces
- GET  /_pushgate/local/demo/subscriptions?user_id=
                                      that user's active subscriptions, whichever surface made them
- POST /_pushgate/local/demo/push     {user_id, title?, body?, url?, data?} -> {id}: a push to
                                      /users/<user_id>, sent as the app's backend sends one

The demo app's secret key stays here: sessions and pushes are requests to the product's own routes
(POST /sessions, POST /push) made inside the gateway with that key, so they run the same functions
and the same delivery pipeline as any client's. Subscriptions are read through the layer's
repository. These routes hand out credentials to whoever asks, so they answer only a page of this
stack's own origin: a request naming another Origin, or another Host (DNS rebinding), is refused."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import boto3
from pushgate.repository import Repository
from pushgate_cli.tokens import DEFAULT_TOKEN_TTL, mint_user_token

from pushgate_local import bootstrap
from pushgate_local.config import LocalConfig
from pushgate_local.http_events import HttpRequest, HttpResponse, json_message
from pushgate_local.template import REPO_ROOT

API_PREFIX = "/_pushgate/local/demo"
PAGE_PREFIX = "/demo/"
DEMO_DIR = REPO_ROOT / "demo"
CLIENT_DIR = REPO_ROOT / "clients" / "js"
HTML, JS, CSS = "text/html; charset=utf-8", "text/javascript; charset=utf-8", "text/css; charset=utf-8"
# name under /demo/ -> (file, content type); a fixed list, never a path taken from the request
PAGE_FILES: dict[str, tuple[Path, str]] = {
    "": (DEMO_DIR / "index.html", HTML),
    "index.html": (DEMO_DIR / "index.html", HTML),
    "demo.js": (DEMO_DIR / "demo.js", JS),
    "demo.css": (DEMO_DIR / "demo.css", CSS),
    "pushgate.js": (CLIENT_DIR / "pushgate.js", JS),
    "sw.js": (CLIENT_DIR / "sw.js", JS),
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
MAX_USER_ID_CHARS = 256

CallApi = Callable[[HttpRequest], HttpResponse]


class DemoRequestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


@dataclass(frozen=True)
class DemoContext:
    credentials: dict[str, Any]  # demo.json: the app's keys, as bootstrap kept them
    repository: Repository
    http_url: str
    ws_url: str

    @property
    def app_id(self) -> str:
        return self.credentials["app_id"]


def same_origin_loopback(request: HttpRequest) -> bool:
    """A request to a loopback host from this stack's own pages or from a tool (curl, the CLI): not
    from another site's page, nor through another host name (DNS rebinding)."""
    host = request.header("host") or ""
    if host.rpartition(":")[0] not in LOOPBACK_HOSTS and host not in LOOPBACK_HOSTS:
        return False
    origin = request.header("origin")
    if origin is not None and origin != f"http://{host}":
        return False
    return (request.header("sec-fetch-site") or "same-origin") in ("same-origin", "none")


def _json(status: int, body: Any) -> HttpResponse:
    return HttpResponse(status, [("content-type", "application/json"), ("cache-control", "no-store")], json.dumps(body).encode())


def _page_file(name: str) -> HttpResponse:
    path, content_type = PAGE_FILES[name]
    if not path.is_file():
        return json_message(503, f"{path.relative_to(REPO_ROOT)} is missing from this checkout")
    return HttpResponse(200, [("content-type", content_type), ("cache-control", "no-cache")], path.read_bytes())


def _user_id(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_USER_ID_CHARS or not value.isprintable():
        raise DemoRequestError(400, f"user_id must be 1-{MAX_USER_ID_CHARS} printable characters")
    return value


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise DemoRequestError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise DemoRequestError(400, "the body must be a JSON object")
    return body


def subscription_row(device: Any) -> dict[str, Any]:
    """What the page's table shows of one subscription: no key, and the endpoint cut to its host."""
    token = device.token
    shown = token.split("/")[2] + "/…" if token.startswith(("http://", "https://")) else f"{token[:6]}…"
    return {
        "subscription_id": device.subscription_id,
        "type": device.type.value,
        "status": device.status.value,
        "channel_id": device.channel_id,
        "device_id": device.device_id,
        "endpoint": shown,
        "created_at": device.created_at,
        "updated_at": device.updated_at,
    }


class DemoRoutes:
    def __init__(self, discovery: Callable[[], dict[str, Any]], call_api: CallApi, data_dir: Path | None = None) -> None:
        self._discovery = discovery
        self._call_api = call_api
        # The stack's data dir comes from the same environment __main__ configures the stack from.
        self._data_dir = data_dir
        self._context: DemoContext | None = None

    def respond(self, request: HttpRequest) -> HttpResponse | None:
        """The answer to a demo page or demo API request, or None for any other path."""
        path = request.raw_path
        if request.method == "GET" and (path == "/demo" or path.startswith(PAGE_PREFIX)):
            name = path[len(PAGE_PREFIX):] if path != "/demo" else ""
            return _page_file(name) if name in PAGE_FILES else None
        if not path.startswith(API_PREFIX + "/"):
            return None
        route = {
            ("POST", "session"): self._session,
            ("GET", "subscriptions"): self._subscriptions,
            ("POST", "push"): self._push,
        }.get((request.method, path[len(API_PREFIX) + 1:]))
        if route is None:
            return json_message(404, "Not Found")
        if not self._same_origin(request):
            return json_message(403, "the local demo API answers only pages of this stack")
        try:
            return route(request, self._load_context())
        except DemoRequestError as error:
            return json_message(error.status, error.message)

    @staticmethod
    def _same_origin(request: HttpRequest) -> bool:
        return same_origin_loopback(request)

    def _load_context(self) -> DemoContext:
        if self._context is None:
            stack = self._discovery()
            data_dir = self._data_dir or LocalConfig.from_env().data_dir
            dynamodb = boto3.session.Session(
                aws_access_key_id="testing", aws_secret_access_key="testing", region_name=stack["region"]
            ).client("dynamodb", endpoint_url=stack["aws_endpoint_url"])
            self._context = DemoContext(
                credentials=bootstrap.demo_credentials(data_dir),
                repository=Repository(dynamodb, stack["table_name"]),
                http_url=stack["http_url"],
                ws_url=stack["ws_url"],
            )
        return self._context

    def _product_call(self, request: HttpRequest, method: str, path: str, body: dict[str, Any], context: DemoContext) -> dict[str, Any]:
        """A request to one of the template's routes, with the demo app's secret key."""
        query = urlencode({"api_key": context.credentials["secret_key"]})
        inner = HttpRequest(
            method, f"{path}?{query}", [("content-type", "application/json"), ("host", request.header("host") or "")],
            json.dumps(body).encode(), server_port=request.server_port,
        )
        response = self._call_api(inner)
        answer = json.loads(response.body or b"{}")
        if not 200 <= response.status < 300:
            raise DemoRequestError(response.status, answer.get("error") or answer.get("message") or "refused")
        return answer

    def _session(self, request: HttpRequest, context: DemoContext) -> HttpResponse:
        user_id = _user_id(_json_body(request).get("user_id"))
        session = self._product_call(request, "POST", "/sessions", {"user_id": user_id}, context)
        credentials = context.credentials
        return _json(201, {
            "user_id": user_id,
            "session_id": session["session_id"],
            "expires_at": session["expires_at"],
            "user_jwt": mint_user_token(credentials["user_token_private_key"], user_id, DEFAULT_TOKEN_TTL, time.time()),
            "public_key": credentials["public_key"],
            "account_id": credentials["account_id"],
            "channel_id": credentials["channels"][0]["id"],
            "http_url": context.http_url,
            "ws_url": context.ws_url,
        })

    def _subscriptions(self, request: HttpRequest, context: DemoContext) -> HttpResponse:
        user_id = _user_id((parse_qs(request.raw_query).get("user_id") or [None])[0])
        devices = [device for device in context.repository.user_devices(context.app_id, user_id) if device.active]
        rows = sorted((subscription_row(device) for device in devices), key=lambda row: row["subscription_id"])
        return _json(200, {"user_id": user_id, "subscriptions": rows})

    def _push(self, request: HttpRequest, context: DemoContext) -> HttpResponse:
        body = _json_body(request)
        user_id = _user_id(body.get("user_id"))
        message: dict[str, Any] = {"to": f"/users/{user_id}"}
        if body.get("title"):
            notification = {"title": body["title"], "body": body.get("body") or ""}
            if body.get("url"):
                notification["url"] = body["url"]
            message["notification"] = notification
        if body.get("data") is not None:
            message["data"] = body["data"]
        if "notification" not in message and "data" not in message:
            raise DemoRequestError(400, "a push needs a title or data")
        sent = self._product_call(request, "POST", "/push", message, context)
        return _json(200, {"id": sent["id"], "to": message["to"]})

