"""The fake FCM and OAuth endpoints refuse every request built wrong, the way Google does: a
sender bug fails here, not in production. Each test changes one thing of a request that the
first tests show to be accepted, so the refusal is for that one thing."""

from __future__ import annotations

import copy
import time
from typing import Any

import jwt
import pytest

from pushgate_local.fakes.fcm import FakeFcm
from tests.native.fcm.conftest import Project, Wire, good_message, google_error

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"


def error_codes(error: dict[str, Any]) -> list[str]:
    return [detail["errorCode"] for detail in error.get("details", []) if detail["@type"] == FCM_ERROR]


# -- the token endpoint -------------------------------------------------------------------------


def test_a_well_made_assertion_gets_an_hour_long_bearer_token(wire: Wire, project: Project, fake: FakeFcm) -> None:
    answer = wire.token_answer(wire.assertion(project))

    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600 and body["access_token"]
    assert fake.tokens_issued == 1


def oauth_refusal(answer: Any) -> tuple[int, str]:
    body = answer.json()
    assert set(body) == {"error", "error_description"}
    return answer.status_code, body["error"]


@pytest.mark.parametrize("change", [
    pytest.param({"algorithm": "HS256", "key": "a-shared-secret-of-32-bytes-or-more!"}, id="hs256"),
    pytest.param({"algorithm": "RS512"}, id="rs512"),
    pytest.param({"aud": "https://oauth2.googleapis.com/token"}, id="aud-production-not-this-endpoint"),
    pytest.param({"aud": "https://example.com/token"}, id="aud-other"),
    pytest.param({"iss": "nobody@pushgate-test.iam.gserviceaccount.com"}, id="unknown-iss"),
    pytest.param({"kid": "key-2"}, id="wrong-kid"),
    pytest.param({"drop": ("iat",)}, id="no-iat"),
    pytest.param({"drop": ("exp",)}, id="no-exp"),
    pytest.param({"exp_offset": 3601}, id="lives-over-an-hour"),
    pytest.param({"expired": True}, id="expired"),
    pytest.param({"iat": "now"}, id="iat-not-a-number"),
])
def test_a_wrong_assertion_is_an_invalid_grant(wire: Wire, project: Project, fake: FakeFcm, change: dict[str, Any]) -> None:
    change = dict(change)
    now = int(time.time())
    if "exp_offset" in change:
        change.update(iat=now, exp=now + change.pop("exp_offset"))
    if change.pop("expired", False):
        change.update(iat=now - 4000, exp=now - 400)

    answer = wire.token_answer(wire.assertion(project, **change))

    assert oauth_refusal(answer) == (400, "invalid_grant")
    assert fake.tokens_issued == 0


def test_an_assertion_signed_with_another_key_is_refused(wire: Wire, project: Project, other_project: Project) -> None:
    answer = wire.token_answer(wire.assertion(project, key=other_project.keys.private_pem))
    assert oauth_refusal(answer) == (400, "invalid_grant")
    assert "Signature" in answer.json()["error_description"]


def test_an_unsigned_assertion_is_refused(wire: Wire, project: Project) -> None:
    claims = jwt.decode(wire.assertion(project), options={"verify_signature": False})
    assert oauth_refusal(wire.token_answer(jwt.encode(claims, None, algorithm="none"))) == (400, "invalid_grant")


def test_an_assertion_without_the_messaging_scope_is_refused(wire: Wire, project: Project) -> None:
    for scope in ("https://www.googleapis.com/auth/cloud-platform", "https://www.googleapis.com/auth/firebase.messagingx", None):
        assertion = wire.assertion(project, scope=scope) if scope else wire.assertion(project, drop=("scope",))
        assert oauth_refusal(wire.token_answer(assertion)) == (400, "invalid_scope")


def test_the_scope_may_be_one_of_several(wire: Wire, project: Project) -> None:
    scopes = "https://www.googleapis.com/auth/cloud-platform https://www.googleapis.com/auth/firebase.messaging"
    assert wire.token_answer(wire.assertion(project, scope=scopes)).status_code == 200


def test_the_grant_and_encoding_must_be_the_jwt_bearer_form(wire: Wire, project: Project) -> None:
    assertion = wire.assertion(project)
    assert oauth_refusal(wire.token_answer(assertion, grant_type="client_credentials")) == (400, "unsupported_grant_type")
    assert oauth_refusal(wire.token_answer(assertion, content_type="application/json")) == (400, "invalid_request")
    assert oauth_refusal(wire.token_answer("not.a.jwt")) == (400, "invalid_grant")


# -- the FCM endpoint -----------------------------------------------------------------------------


def test_a_well_made_send_is_accepted_and_recorded(wire: Wire, project: Project, fake: FakeFcm) -> None:
    answer = wire.send(project.project_id, good_message(), wire.access_token(project))

    assert answer.status_code == 200 and answer.http_version == "HTTP/2"
    assert answer.json()["name"].startswith(f"projects/{project.project_id}/messages/")
    assert [entry["message"] for entry in fake.received()] == [good_message()["message"]]
    assert fake.requests_seen == 1


def test_http1_is_refused(wire: Wire, project: Project, fake: FakeFcm) -> None:
    answer = wire.send(project.project_id, good_message(), wire.access_token(project), http1=True)

    assert answer.http_version == "HTTP/1.1" and answer.status_code == 505
    assert "HTTP/2" in google_error(answer)["message"]
    assert fake.received() == []


@pytest.mark.parametrize("token", [None, "", "ya29.not-one-the-fake-issued"])
def test_a_missing_or_unknown_bearer_is_unauthenticated(wire: Wire, project: Project, token: str | None) -> None:
    answer = wire.send(project.project_id, good_message(), token)
    assert answer.status_code == 401 and google_error(answer)["status"] == "UNAUTHENTICATED"


def test_an_expired_bearer_is_unauthenticated(wire: Wire, project: Project, fake: FakeFcm) -> None:
    token = wire.access_token(project)
    fake.expire_all_tokens()
    answer = wire.send(project.project_id, good_message(), token)
    assert answer.status_code == 401 and google_error(answer)["status"] == "UNAUTHENTICATED"


def test_another_projects_bearer_is_permission_denied(wire: Wire, project: Project, other_project: Project) -> None:
    answer = wire.send(project.project_id, good_message(), wire.access_token(other_project))
    assert answer.status_code == 403 and google_error(answer)["status"] == "PERMISSION_DENIED"


def broken(change: str) -> dict[str, Any]:
    """good_message with one thing wrong."""
    body = copy.deepcopy(good_message())
    message, android = body["message"], body["message"]["android"]
    changes = {
        "unknown top-level field": lambda: body.update(dry_run=True),
        "unknown message field": lambda: message.update(priority="high"),
        "unknown notification field": lambda: message["notification"].update(icon="i"),
        "unknown android field": lambda: android.update(time_to_live=3600),
        "unknown android notification field": lambda: android["notification"].update(url="u"),
        "message not an object": lambda: body.update(message="hello"),
        "no target": lambda: message.pop("token"),
        "two targets": lambda: message.update(topic="news"),
        "empty token": lambda: message.update(token=""),
        "non-string data value": lambda: message["data"].update(count=3),
        "nested data value": lambda: message["data"].update(obj={"a": 1}),
        "data not an object": lambda: message.update(data=["a"]),
        "reserved data key from": lambda: message["data"].update({"from": "x"}),
        "reserved data prefix google.": lambda: message["data"].update({"google.c.a": "x"}),
        "non-string android data": lambda: android.update(data={"n": 1}),
        "ttl without unit": lambda: android.update(ttl="3600"),
        "ttl as a number": lambda: android.update(ttl=3600),
        "negative ttl": lambda: android.update(ttl="-1s"),
        "ttl over 28 days": lambda: android.update(ttl="2419201s"),
        "priority in lower case": lambda: android.update(priority="high"),
        "priority unknown": lambda: android.update(priority="URGENT"),
        "title not a string": lambda: message["notification"].update(title=5),
        "validate_only not a bool": lambda: body.update(validate_only="yes"),
        "oversize": lambda: message["data"].update(big="x" * 4096),
    }
    changes[change]()
    return body


@pytest.mark.parametrize("change", [
    "unknown top-level field", "unknown message field", "unknown notification field", "unknown android field",
    "unknown android notification field", "message not an object", "no target", "two targets", "empty token",
    "non-string data value", "nested data value", "data not an object", "reserved data key from",
    "reserved data prefix google.", "non-string android data", "ttl without unit", "ttl as a number", "negative ttl",
    "ttl over 28 days", "priority in lower case", "priority unknown", "title not a string", "validate_only not a bool", "oversize",
])
def test_a_message_built_wrong_is_an_invalid_argument(wire: Wire, project: Project, fake: FakeFcm, change: str) -> None:
    answer = wire.send(project.project_id, broken(change), wire.access_token(project))

    assert answer.status_code == 400
    error = google_error(answer)
    assert error["status"] == "INVALID_ARGUMENT"
    assert fake.received() == []


def test_the_refusal_names_the_field(wire: Wire, project: Project) -> None:
    token = wire.access_token(project)
    unknown = google_error(wire.send(project.project_id, broken("unknown android field"), token))
    assert '"time_to_live"' in unknown["message"] and "message.android" in unknown["message"]
    data = google_error(wire.send(project.project_id, broken("non-string data value"), token))
    assert "message.data[count]" in data["message"]
    assert data["details"][0]["fieldViolations"][0]["field"] == "message.data[count]"
    ttl = google_error(wire.send(project.project_id, broken("ttl without unit"), token))
    assert "message.android.ttl" in ttl["message"]


def test_a_body_that_is_not_json_or_not_declared_json_is_refused(wire: Wire, project: Project) -> None:
    token = wire.access_token(project)
    assert wire.send(project.project_id, b"{not json", token).status_code == 400
    assert wire.send(project.project_id, good_message(), token, content_type="text/plain").status_code == 400


def test_an_oversize_message_fails_with_fcms_error_code(wire: Wire, project: Project) -> None:
    error = google_error(wire.send(project.project_id, broken("oversize"), wire.access_token(project)))
    assert error_codes(error) == ["INVALID_ARGUMENT"] and "too big" in error["message"]


def test_validate_only_is_checked_but_not_delivered(wire: Wire, project: Project, fake: FakeFcm) -> None:
    body = {**good_message(), "validate_only": True}
    assert wire.send(project.project_id, body, wire.access_token(project)).status_code == 200
    assert fake.received() == []


# -- behaviours and controls -----------------------------------------------------------------------


@pytest.mark.parametrize(("behaviour", "status", "google_status", "code"), [
    ("unregistered", 404, "NOT_FOUND", "UNREGISTERED"),
    ("invalid", 400, "INVALID_ARGUMENT", "INVALID_ARGUMENT"),
    ("sender_id_mismatch", 403, "PERMISSION_DENIED", "SENDER_ID_MISMATCH"),
    ("quota", 429, "RESOURCE_EXHAUSTED", "QUOTA_EXCEEDED"),
    ("unavailable", 503, "UNAVAILABLE", "UNAVAILABLE"),
    ("internal", 500, "INTERNAL", "INTERNAL"),
    ("third_party_auth_error", 401, "UNAUTHENTICATED", "THIRD_PARTY_AUTH_ERROR"),
])
def test_token_behaviours_set_over_http_answer_like_fcm(wire: Wire, project: Project, fake: FakeFcm,
                                                        behaviour: str, status: int, google_status: str, code: str) -> None:
    assert wire.h2.post(f"{wire.url}/_fake/tokens/device-token-1", json={"behaviour": behaviour}).status_code == 200

    answer = wire.send(project.project_id, good_message("device-token-1"), wire.access_token(project))

    assert answer.status_code == status
    error = google_error(answer)
    assert error["status"] == google_status and error_codes(error) == [code]
    assert (answer.headers.get("retry-after") == "30") is (behaviour == "quota")
    assert fake.received() == []


def test_a_project_with_auth_error_answers_401_to_a_valid_bearer(wire: Wire, project: Project) -> None:
    token = wire.access_token(project)
    assert wire.h2.post(f"{wire.url}/_fake/projects/{project.project_id}", json={"behaviour": "auth_error"}).status_code == 200
    assert wire.send(project.project_id, good_message(), token).status_code == 401
    assert wire.h2.post(f"{wire.url}/_fake/projects/{project.project_id}", json={"behaviour": None}).status_code == 200
    assert wire.send(project.project_id, good_message(), token).status_code == 200


def test_an_unknown_behaviour_is_refused(wire: Wire) -> None:
    assert wire.h2.post(f"{wire.url}/_fake/tokens/t", json={"behaviour": "explode"}).status_code == 400


def test_received_messages_are_listed_and_cleared_over_http(wire: Wire, project: Project) -> None:
    token = wire.access_token(project)
    for device in ("a", "b"):
        wire.send(project.project_id, good_message(device), token)

    listed = wire.h2.get(f"{wire.url}/_fake/received").json()
    assert [entry["message"]["token"] for entry in listed] == ["a", "b"]
    assert {entry["project"] for entry in listed} == {project.project_id}

    assert wire.h2.delete(f"{wire.url}/_fake/received").status_code == 200
    assert wire.h2.get(f"{wire.url}/_fake/received").json() == []
