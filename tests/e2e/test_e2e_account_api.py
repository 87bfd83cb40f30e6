"""docs/api.md §2 end to end: the account API over HTTP on the local stack, as a browser client and
the app's backend use it."""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import requests

from pushgate.config import Settings
from pushgate.identifiers import token_hash
from pushgate.models import SubscriptionStatus
from pushgate.repository import Repository
from pushgate.services.sessions import SessionService
from pushgate.validation import b64url_encode
from pushgate.wiring import build_services

from tests.e2e.local_stack import LOOPBACK_PUSH_HOST, BrowserSubscription, LocalStackProcess, new_subscription

pytestmark = pytest.mark.e2e

UNAUTHORIZED = {"error_no": 401, "error_message": "Unauthorized"}
FORBIDDEN = {"error_no": 403, "error_message": "Forbidden"}


def subscribe(
    stack: LocalStackProcess, params: dict[str, Any], account_id: int | None = None, how: str = "get"
) -> requests.Response:
    """GET with a query string, or POST as a form or as JSON, like the browser clients do."""
    url = f"{stack.http_url}/{account_id or stack.demo()['account_id']}/push_subscribe"
    if how == "get":
        return requests.get(url, params=params, timeout=30)
    if how == "form":
        return requests.post(url, data=params, timeout=30)
    return requests.post(url, json=params, timeout=30)


def unsubscribe(stack: LocalStackProcess, params: dict[str, Any], how: str = "get") -> requests.Response:
    url = f"{stack.http_url}/{stack.demo()['account_id']}/push_unsubscribe"
    if how == "get":
        return requests.get(url, params=params, timeout=30)
    return requests.post(url, data=params, timeout=30)


def repository(stack: LocalStackProcess) -> Repository:
    return Repository(stack.aws_client("dynamodb"), stack.discovery["table_name"])


@pytest.fixture(scope="module")
def session_id(local_stack: LocalStackProcess) -> str:
    return local_stack.create_session("alice")


# -- subscribe ----------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["get", "form", "json"])
def test_subscribe_creates_a_subscription(local_stack: LocalStackProcess, session_id: str, how: str) -> None:
    # Given a browser's push subscription
    subscription = new_subscription()
    # When it is registered
    response = subscribe(local_stack, subscription.params(session_id), how=how)
    # Then it gets a positive id and is stored active for the session's user
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert data["operation_status"] == "SUCCESS"
    assert isinstance(data["push_subscription_id"], int) and data["push_subscription_id"] > 0
    device = repository(local_stack).get_device(local_stack.demo()["app_id"], token_hash(subscription.endpoint))
    assert device is not None and device.user_id == "alice" and device.status is SubscriptionStatus.ACTIVE
    assert device.subscription_id == data["push_subscription_id"]


def test_each_subscription_gets_its_own_id(local_stack: LocalStackProcess, session_id: str) -> None:
    first = subscribe(local_stack, new_subscription().params(session_id)).json()["data"]["push_subscription_id"]
    second = subscribe(local_stack, new_subscription().params(session_id)).json()["data"]["push_subscription_id"]
    assert first != second


def test_resubscribing_returns_the_same_id_with_fresh_keys(local_stack: LocalStackProcess, session_id: str) -> None:
    # Given a registered subscription
    subscription = new_subscription()
    first = subscribe(local_stack, subscription.params(session_id)).json()["data"]["push_subscription_id"]
    # When the same endpoint is registered again with new keys, by POST this time
    refreshed = new_subscription(subscription.endpoint)
    second = subscribe(local_stack, refreshed.params(session_id), how="json").json()["data"]["push_subscription_id"]
    # Then it is the same subscription, keys refreshed
    assert second == first
    device = repository(local_stack).get_device(local_stack.demo()["app_id"], token_hash(subscription.endpoint))
    assert device is not None and device.keys is not None and device.keys.p256dh == refreshed.p256dh


def test_resubscribing_after_unsubscribing_reactivates_it(local_stack: LocalStackProcess, session_id: str) -> None:
    subscription = new_subscription()
    first = subscribe(local_stack, subscription.params(session_id)).json()["data"]["push_subscription_id"]
    unsubscribe(local_stack, {"session_id": session_id, "endpoint": subscription.endpoint})
    second = subscribe(local_stack, subscription.params(session_id)).json()["data"]["push_subscription_id"]
    assert second == first
    device = repository(local_stack).get_device(local_stack.demo()["app_id"], token_hash(subscription.endpoint))
    assert device is not None and device.status is SubscriptionStatus.ACTIVE


def test_extra_push_hosts_reach_the_functions(local_stack: LocalStackProcess, session_id: str) -> None:
    # PUSHGATE_EXTRA_PUSH_HOSTS (set by the fixture) becomes the template's ExtraPushHosts parameter.
    subscription = new_subscription(f"http://{LOOPBACK_PUSH_HOST}/push/{uuid.uuid4()}")
    response = subscribe(local_stack, subscription.params(session_id))
    assert response.json()["data"]["operation_status"] == "SUCCESS"


# -- field errors: HTTP 200 with error_no -------------------------------------------------------


def _not_on_curve() -> str:
    return b64url_encode(b"\x04" + b"\x01" * 64)


FIELD_ERRORS: list[tuple[int, str, Callable[[BrowserSubscription], dict[str, str]]]] = [
    (8501, "endpoint is required", lambda s: {"endpoint": ""}),
    (8502, "key_p256dh is required", lambda s: {"key_p256dh": ""}),
    (8503, "key_auth is required", lambda s: {"key_auth": ""}),
    (8504, "endpoint is too long", lambda s: {"endpoint": s.endpoint + "a" * 1025}),
    (8505, "key_p256dh is too long", lambda s: {"key_p256dh": "A" * 256}),
    (8506, "key_auth is too long", lambda s: {"key_auth": "A" * 256}),
    (8507, "endpoint is not a valid push service URL", lambda s: {"endpoint": "https://push.example.com/send/1"}),
    (8508, "key_p256dh is not a valid P-256 public key", lambda s: {"key_p256dh": _not_on_curve()}),
    (8509, "key_auth must be 16 bytes", lambda s: {"key_auth": b64url_encode(b"\x00" * 15)}),
]


@pytest.mark.parametrize(("number", "message", "change"), FIELD_ERRORS, ids=[str(e[0]) for e in FIELD_ERRORS])
def test_subscribe_field_errors(
    local_stack: LocalStackProcess, session_id: str, number: int, message: str, change: Callable
) -> None:
    subscription = new_subscription()
    params = {**subscription.params(session_id), **change(subscription)}
    params = {name: value for name, value in params.items() if value != ""}  # "required": the field is absent
    response = subscribe(local_stack, params, how="form")
    assert response.status_code == 200
    assert response.json() == {"error_no": number, "error_message": message}


def test_another_users_endpoint_is_refused_and_left_unchanged(local_stack: LocalStackProcess, session_id: str) -> None:
    # Given alice's subscription
    subscription = new_subscription()
    subscribe(local_stack, subscription.params(session_id))
    app_id = local_stack.demo()["app_id"]
    before = repository(local_stack).get_device(app_id, token_hash(subscription.endpoint))
    # When bob registers the same endpoint with other keys (not the same browser)
    bob = local_stack.create_session("bob")
    response = subscribe(local_stack, new_subscription(subscription.endpoint).params(bob))
    # Then he is refused, and alice's row is exactly as it was
    assert response.status_code == 200
    assert response.json() == {"error_no": 8510, "error_message": "endpoint belongs to another user"}
    assert repository(local_stack).get_device(app_id, token_hash(subscription.endpoint)) == before


def test_the_same_browser_moves_to_the_new_user(local_stack: LocalStackProcess, session_id: str) -> None:
    # docs/api.md §6: identical p256dh and auth prove the same browser.
    subscription = new_subscription()
    first = subscribe(local_stack, subscription.params(session_id)).json()["data"]["push_subscription_id"]
    carol = local_stack.create_session("carol")
    second = subscribe(local_stack, subscription.params(carol)).json()["data"]["push_subscription_id"]
    assert second == first
    device = repository(local_stack).get_device(local_stack.demo()["app_id"], token_hash(subscription.endpoint))
    assert device is not None and device.user_id == "carol"


# -- unsubscribe --------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["get", "form"])
def test_unsubscribe_soft_deletes(local_stack: LocalStackProcess, session_id: str, how: str) -> None:
    subscription = new_subscription()
    subscribe(local_stack, subscription.params(session_id))
    response = unsubscribe(local_stack, {"session_id": session_id, "endpoint": subscription.endpoint}, how=how)
    assert response.status_code == 200
    assert response.json() == {"data": {"operation_status": "SUCCESS"}}
    device = repository(local_stack).get_device(local_stack.demo()["app_id"], token_hash(subscription.endpoint))
    assert device is not None and device.status is SubscriptionStatus.REMOVED


def test_unsubscribing_an_unknown_endpoint_succeeds(local_stack: LocalStackProcess, session_id: str) -> None:
    response = unsubscribe(local_stack, {"session_id": session_id, "endpoint": new_subscription().endpoint})
    assert response.json() == {"data": {"operation_status": "SUCCESS"}}


def test_unsubscribe_cannot_remove_another_users_subscription(local_stack: LocalStackProcess, session_id: str) -> None:
    subscription = new_subscription()
    subscribe(local_stack, subscription.params(session_id))
    mallory = local_stack.create_session("mallory")
    response = unsubscribe(local_stack, {"session_id": mallory, "endpoint": subscription.endpoint})
    assert response.json() == {"data": {"operation_status": "SUCCESS"}}  # silently nothing
    device = repository(local_stack).get_device(local_stack.demo()["app_id"], token_hash(subscription.endpoint))
    assert device is not None and device.user_id == "alice" and device.status is SubscriptionStatus.ACTIVE


@pytest.mark.parametrize(
    ("endpoint", "expected"),
    [
        (None, {"error_no": 8601, "error_message": "endpoint is required"}),
        ("https://fcm.googleapis.com/" + "a" * 1024, {"error_no": 8602, "error_message": "endpoint is too long"}),
    ],
    ids=["8601", "8602"],
)
def test_unsubscribe_field_errors(
    local_stack: LocalStackProcess, session_id: str, endpoint: str | None, expected: dict
) -> None:
    params = {"session_id": session_id} | ({"endpoint": endpoint} if endpoint else {})
    response = unsubscribe(local_stack, params)
    assert response.status_code == 200
    assert response.json() == expected


# -- who may call -------------------------------------------------------------------------------


def expired_session(stack: LocalStackProcess, user_id: str) -> str:
    """A session that expired a minute ago, minted by the shared core with a clock in the past."""
    repo = repository(stack)
    app = repo.get_app(stack.demo()["app_id"])
    assert app is not None
    past = time.time() - 86_400 - 60
    session_id, _ = SessionService(repo, clock=lambda: past).create(app, user_id, ttl=86_400)
    return session_id


@pytest.mark.parametrize("path", ["push_subscribe", "push_unsubscribe"])
@pytest.mark.parametrize("credential", ["missing", "unknown", "expired", "guest token"])
def test_without_a_valid_session_it_is_unauthorized(local_stack: LocalStackProcess, path: str, credential: str) -> None:
    params: dict[str, str] = {"endpoint": new_subscription().endpoint}
    if credential == "unknown":
        params["session_id"] = "ses_" + base64.urlsafe_b64encode(uuid.uuid4().bytes).decode()
    elif credential == "expired":
        params["session_id"] = expired_session(local_stack, "alice")
    elif credential == "guest token":
        # A guest's `token` (not a session) in place of session_id.
        params["token"] = local_stack.create_session("guest")
    url = f"{local_stack.http_url}/{local_stack.demo()['account_id']}/{path}"
    response = requests.get(url, params=params, timeout=30)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED


def test_another_accounts_path_is_forbidden(local_stack: LocalStackProcess, session_id: str) -> None:
    # Given a second app (tenant) created through the shared core, as the operator CLI does
    settings = Settings(table_name=local_stack.discovery["table_name"], ssm_prefix=local_stack.discovery["ssm_prefix"])
    services = build_services(settings, local_stack.aws_client("dynamodb"))
    other = services.apps(local_stack.aws_client("ssm")).create_app("other")
    # When the demo app's session is used on the other account's path, and the other way round
    mine = subscribe(local_stack, new_subscription().params(session_id), account_id=other.app.account_id)
    theirs = subscribe(local_stack, new_subscription().params(local_stack.create_session("dave", other.secret_key)))
    # Then both are forbidden
    assert (mine.status_code, mine.json()) == (403, FORBIDDEN)
    assert (theirs.status_code, theirs.json()) == (403, FORBIDDEN)


def test_a_session_needs_the_apps_secret_key(local_stack: LocalStackProcess) -> None:
    url = f"{local_stack.http_url}/sessions"
    response = requests.post(url, params={"api_key": "sk_wrong"}, json={"user_id": "x"}, timeout=30)
    assert response.status_code == 401
