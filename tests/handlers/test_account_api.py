"""The account API handlers (docs/api.md §2) under moto, fed the events/ files."""

from __future__ import annotations

from typing import Any

import pytest

from pushgate.identifiers import token_hash
from pushgate.models import SubscriptionStatus
from tests.events import event_with, response_json
from tests.keys import browser_keys

ENDPOINT = "https://fcm.googleapis.com/fcm/send/handler-test"
SUBSCRIBE_EVENTS = [
    "http-account-push-subscribe-get.json",
    "http-account-push-subscribe-post-json.json",
    "http-account-push-subscribe-post-form.json",
]
UNSUBSCRIBE_EVENTS = ["http-account-push-unsubscribe-get.json", "http-account-push-unsubscribe-post-json.json"]


@pytest.fixture
def handlers(import_handler):  # noqa: ANN001, ANN201
    return import_handler("account_push_subscribe"), import_handler("account_push_unsubscribe")


@pytest.fixture
def session(pushgate, demo_app) -> dict[str, Any]:  # noqa: ANN001
    session_id, _ = pushgate.sessions.create(demo_app.app, "alice")
    return {"session_id": session_id, "account": str(demo_app.app.account_id)}


def params(session: dict[str, Any], endpoint: str | None = ENDPOINT, keys: tuple[str, str] | None = None, **extra: Any) -> dict[str, Any]:
    p256dh, auth = keys or browser_keys()
    return {"session_id": session["session_id"], "endpoint": endpoint, "key_p256dh": p256dh, "key_auth": auth, **extra}


def call(handler, name: str, account: str, fields: dict[str, Any], lambda_context) -> tuple[int, Any]:  # noqa: ANN001
    if name.endswith("-get.json"):
        event = event_with(name, account, query=fields)
    else:
        event = event_with(name, account, query={}, body=fields)
    return response_json(handler.lambda_handler(event, lambda_context))


@pytest.mark.parametrize("event_name", SUBSCRIBE_EVENTS)
def test_subscribe_in_each_form_then_reactivate_with_the_same_id(handlers, session, pushgate, demo_app, lambda_context, event_name) -> None:  # noqa: ANN001
    subscribe, _ = handlers
    status, body = call(subscribe, event_name, session["account"], params(session), lambda_context)
    assert status == 200 and body["data"]["operation_status"] == "SUCCESS"
    first_id = body["data"]["push_subscription_id"]
    assert isinstance(first_id, int) and first_id > 0
    status, again = call(subscribe, event_name, session["account"], params(session), lambda_context)
    assert (status, again["data"]["push_subscription_id"]) == (200, first_id)
    stored = pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINT))
    assert stored.user_id == "alice" and stored.status is SubscriptionStatus.ACTIVE


@pytest.mark.parametrize("event_name", UNSUBSCRIBE_EVENTS)
def test_unsubscribe_soft_deletes_and_reactivation_keeps_the_id(handlers, session, pushgate, demo_app, lambda_context, event_name) -> None:  # noqa: ANN001
    subscribe, unsubscribe = handlers
    _, created = call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], params(session), lambda_context)
    fields = {"session_id": session["session_id"], "endpoint": ENDPOINT}
    assert call(unsubscribe, event_name, session["account"], fields, lambda_context) == (200, {"data": {"operation_status": "SUCCESS"}})
    stored = pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINT))
    assert stored.status is SubscriptionStatus.REMOVED
    # Nothing matched: still SUCCESS.
    assert call(unsubscribe, event_name, session["account"], fields, lambda_context)[0] == 200
    _, again = call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], params(session), lambda_context)
    assert again["data"]["push_subscription_id"] == created["data"]["push_subscription_id"]


p256dh_example, auth_example = browser_keys()
FIELD_ERRORS = [
    ({"endpoint": None}, 8501, "endpoint is required"),
    ({"endpoint": ""}, 8501, "endpoint is required"),
    ({"key_p256dh": None}, 8502, "key_p256dh is required"),
    ({"key_auth": ""}, 8503, "key_auth is required"),
    ({"endpoint": "https://fcm.googleapis.com/" + "a" * 1000}, 8504, "endpoint is too long"),
    ({"key_p256dh": "B" * 256}, 8505, "key_p256dh is too long"),
    ({"key_auth": "A" * 256}, 8506, "key_auth is too long"),
    ({"endpoint": "http://fcm.googleapis.com/wp/x"}, 8507, "endpoint is not a valid push service URL"),
    ({"endpoint": "https://169.254.169.254/latest/meta-data"}, 8507, "endpoint is not a valid push service URL"),
    ({"endpoint": "https://user:pw@fcm.googleapis.com/wp/x"}, 8507, "endpoint is not a valid push service URL"),
    ({"endpoint": "https://127.0.0.1/wp/x"}, 8507, "endpoint is not a valid push service URL"),
    ({"endpoint": "not a url"}, 8507, "endpoint is not a valid push service URL"),
    ({"key_p256dh": "BAAA" + "A" * 83}, 8508, "key_p256dh is not a valid P-256 public key"),
    ({"key_p256dh": "!!!"}, 8508, "key_p256dh is not a valid P-256 public key"),
    ({"key_auth": "AAAAAAAAAAAAAAAAAAAAAAAA"}, 8509, "key_auth must be 16 bytes"),
    ({"key_auth": "***"}, 8509, "key_auth must be 16 bytes"),
]


@pytest.mark.parametrize(("override", "number", "message"), FIELD_ERRORS)
def test_field_errors_are_http_200_and_store_nothing(handlers, session, pushgate, demo_app, lambda_context, override, number, message) -> None:  # noqa: ANN001
    subscribe, _ = handlers
    fields = {**params(session), **override}
    assert call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], fields, lambda_context) == (200, {"error_no": number, "error_message": message})
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINT)) is None


def test_json_values_of_the_wrong_type_are_field_errors(handlers, session, lambda_context) -> None:  # noqa: ANN001
    subscribe, unsubscribe = handlers
    fields = {**params(session), "endpoint": 42}
    assert call(subscribe, SUBSCRIBE_EVENTS[1], session["account"], fields, lambda_context)[1]["error_no"] == 8507
    fields = {**params(session), "key_auth": {"a": 1}}
    assert call(subscribe, SUBSCRIBE_EVENTS[1], session["account"], fields, lambda_context)[1]["error_no"] == 8509
    bad_endpoint = {"session_id": session["session_id"], "endpoint": ["x"]}
    assert call(unsubscribe, UNSUBSCRIBE_EVENTS[1], session["account"], bad_endpoint, lambda_context)[1]["error_no"] == 8601


def test_unsubscribe_field_errors(handlers, session, lambda_context) -> None:  # noqa: ANN001
    _, unsubscribe = handlers
    missing = {"session_id": session["session_id"]}
    assert call(unsubscribe, UNSUBSCRIBE_EVENTS[0], session["account"], missing, lambda_context) == (200, {"error_no": 8601, "error_message": "endpoint is required"})
    long = {"session_id": session["session_id"], "endpoint": "https://fcm.googleapis.com/" + "a" * 1000}
    assert call(unsubscribe, UNSUBSCRIBE_EVENTS[0], session["account"], long, lambda_context) == (200, {"error_no": 8602, "error_message": "endpoint is too long"})


def test_another_users_endpoint_gets_8510_and_changes_nothing(handlers, session, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    subscribe, unsubscribe = handlers
    call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], params(session), lambda_context)
    before = pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINT))
    mallory_session, _ = pushgate.sessions.create(demo_app.app, "mallory")
    mallory = {"session_id": mallory_session, "account": session["account"]}
    assert call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], params(mallory), lambda_context) == (200, {"error_no": 8510, "error_message": "endpoint belongs to another user"})
    # Unsubscribing another user's endpoint succeeds but removes nothing.
    assert call(unsubscribe, UNSUBSCRIBE_EVENTS[0], session["account"], {"session_id": mallory_session, "endpoint": ENDPOINT}, lambda_context)[0] == 200
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINT)) == before


def test_same_browser_moves_to_the_new_user(handlers, session, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    subscribe, _ = handlers
    keys = browser_keys()
    _, first = call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], params(session, keys=keys), lambda_context)
    bob_session, _ = pushgate.sessions.create(demo_app.app, "bob")
    bob = {"session_id": bob_session, "account": session["account"]}
    _, moved = call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], params(bob, keys=keys), lambda_context)
    assert moved == first
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINT)).user_id == "bob"


UNAUTHORIZED = (401, {"error_no": 401, "error_message": "Unauthorized"})


@pytest.mark.parametrize("session_id", [None, "", "ses_forged", "a.b.c"])
def test_missing_or_forged_sessions_are_401(handlers, session, pushgate, demo_app, lambda_context, session_id) -> None:  # noqa: ANN001
    subscribe, unsubscribe = handlers
    fields = {**params(session), "session_id": session_id}
    assert call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], fields, lambda_context) == UNAUTHORIZED
    assert call(unsubscribe, UNSUBSCRIBE_EVENTS[0], session["account"], {"session_id": session_id, "endpoint": ENDPOINT}, lambda_context) == UNAUTHORIZED
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINT)) is None


def test_guest_token_instead_of_a_session_is_401(handlers, session, lambda_context) -> None:  # noqa: ANN001
    subscribe, _ = handlers
    fields = {**params(session), "session_id": None, "token": session["session_id"]}
    assert call(subscribe, SUBSCRIBE_EVENTS[0], session["account"], fields, lambda_context) == UNAUTHORIZED


def test_expired_session_is_401(handlers, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    import time

    from pushgate.services.sessions import SessionService

    subscribe, _ = handlers
    an_hour_ago = SessionService(pushgate.repository, clock=lambda: time.time() - 3600)
    session_id, _ = an_hour_ago.create(demo_app.app, "alice", 60)
    fields = params({"session_id": session_id})
    assert call(subscribe, SUBSCRIBE_EVENTS[0], str(demo_app.app.account_id), fields, lambda_context) == UNAUTHORIZED


def test_another_accounts_path_is_403(handlers, session, pushgate, lambda_context) -> None:  # noqa: ANN001
    subscribe, unsubscribe = handlers
    other = pushgate.apps().create_app("other")
    forbidden = (403, {"error_no": 403, "error_message": "Forbidden"})
    assert call(subscribe, SUBSCRIBE_EVENTS[0], str(other.app.account_id), params(session), lambda_context) == forbidden
    assert call(unsubscribe, UNSUBSCRIBE_EVENTS[0], "999999", {"session_id": session["session_id"], "endpoint": ENDPOINT}, lambda_context) == forbidden


def test_user_jwt_is_accepted_in_place_of_a_session(handlers, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    from tests.keys import user_jwt

    subscribe, _ = handlers
    token = user_jwt(demo_app.user_token_private_key, "carol")
    status, body = call(subscribe, SUBSCRIBE_EVENTS[0], str(demo_app.app.account_id), params({"session_id": token}), lambda_context)
    assert status == 200 and body["data"]["operation_status"] == "SUCCESS"
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(ENDPOINT)).user_id == "carol"


def test_oversized_and_malformed_bodies_are_refused_cleanly(handlers, session, lambda_context) -> None:  # noqa: ANN001
    subscribe, _ = handlers
    event = event_with(SUBSCRIBE_EVENTS[1], session["account"], query={}, raw_body="x" * (64 * 1024 + 1))
    assert response_json(subscribe.lambda_handler(event, lambda_context))[0] == 413
    event = event_with(SUBSCRIBE_EVENTS[1], session["account"], query={"session_id": session["session_id"]}, raw_body="{not json")
    assert response_json(subscribe.lambda_handler(event, lambda_context)) == (400, {"error_no": 400, "error_message": "Malformed request"})
    event = event_with(SUBSCRIBE_EVENTS[1], session["account"], query={"session_id": session["session_id"]}, raw_body="[1, 2]")
    assert response_json(subscribe.lambda_handler(event, lambda_context))[0] == 400
