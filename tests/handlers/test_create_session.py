"""POST /sessions (docs/api.md §0) under moto, fed events/http-create-session.json."""

from __future__ import annotations

import pytest

from tests.events import event_with, response_json

EVENT = "http-create-session.json"


@pytest.fixture
def create_session(import_handler):  # noqa: ANN001, ANN201
    return import_handler("create_session")


def test_secret_key_mints_a_session_that_authenticates(create_session, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    event = event_with(EVENT, query={"api_key": demo_app.secret_key}, body={"user_id": "user-42", "ttl": 3600})
    status, body = response_json(create_session.lambda_handler(event, lambda_context))
    assert status == 201 and body["user_id"] == "user-42" and body["session_id"].startswith("ses_")
    session, app = pushgate.authenticator.session(body["session_id"])
    assert (session.user_id, app.app_id, session.expires_at) == ("user-42", demo_app.app.app_id, body["expires_at"])


@pytest.mark.parametrize("api_key", [None, "", "sk_unknown", "public"])
def test_anything_but_the_secret_key_is_invalid_api_key(create_session, demo_app, lambda_context, api_key) -> None:  # noqa: ANN001
    key = demo_app.public_key if api_key == "public" else api_key
    event = event_with(EVENT, query={"api_key": key}, body={"user_id": "u"})
    status, body = response_json(create_session.lambda_handler(event, lambda_context))
    assert (status, body["code"]) == (401, "INVALID_API_KEY")


@pytest.mark.parametrize(
    "payload",
    [{}, {"user_id": ""}, {"user_id": 5}, {"user_id": "x" * 257}, {"user_id": "a\nb"}, {"user_id": "u", "ttl": 10},
     {"user_id": "u", "ttl": "3600"}, {"user_id": "u", "ttl": 10**9}, {"user_id": "u", "ttl": True}],
)
def test_bad_parameters_are_invalid_param(create_session, demo_app, lambda_context, payload) -> None:  # noqa: ANN001
    event = event_with(EVENT, query={"api_key": demo_app.secret_key}, body=payload)
    status, body = response_json(create_session.lambda_handler(event, lambda_context))
    assert (status, body["code"]) == (400, "INVALID_PARAM") and body["error"]


def test_non_json_body_is_invalid_param(create_session, demo_app, lambda_context) -> None:  # noqa: ANN001
    event = event_with(EVENT, query={"api_key": demo_app.secret_key}, raw_body="user_id=u")
    assert response_json(create_session.lambda_handler(event, lambda_context))[1]["code"] == "INVALID_PARAM"
