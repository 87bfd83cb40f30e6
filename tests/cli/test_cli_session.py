"""`pushgate session create` (docs/api.md §0): a session the stack accepts for that user and app."""

from __future__ import annotations

import time

import pytest

from pushgate.services.sessions import DEFAULT_SESSION_TTL

TTL_RANGE_ERROR = "argument --ttl: must be a whole number of seconds from 60 to 2592000, got {!r}"


def test_json_output_shape_and_values(cli, created_app):
    before = int(time.time())
    result = cli("session", "create", "--app", created_app["app_id"], "--user", "alice", "--ttl", "600", "--json")
    assert result.code == 0, result.stderr
    session = result.json
    assert set(session) == {"session_id", "user_id", "account_id", "expires_at"}
    assert session["user_id"] == "alice"
    assert session["account_id"] == created_app["account_id"]
    assert before + 600 <= session["expires_at"] <= int(time.time()) + 600


def test_the_session_authenticates_its_user_in_its_app(cli, created_app, stack):
    result = cli("session", "create", "--app", created_app["app_id"], "--user", "alice", "--json")
    session_id = result.json["session_id"]
    session, app = stack.services.authenticator.session(session_id)
    assert (session.user_id, app.app_id) == ("alice", created_app["app_id"])


def test_default_ttl_is_a_day(cli, created_app):
    expires_at = cli("session", "create", "--app", created_app["app_id"], "--user", "bob", "--json").json["expires_at"]
    assert abs(expires_at - (time.time() + DEFAULT_SESSION_TTL)) < 5


def test_unknown_app_exits_1_with_a_clear_error(cli):
    result = cli("session", "create", "--app", "app_nope", "--user", "alice", "--json")
    assert result.code == 1
    assert result.json == {"error": "no app 'app_nope' on the moto account"}
    assert "no app 'app_nope'" in result.stderr


@pytest.mark.parametrize("ttl", ["abc", "1.5", "59", "2592001", "-60"])
def test_bad_ttl_is_a_usage_error_naming_the_range(cli, created_app, ttl):
    result = cli("session", "create", "--app", created_app["app_id"], "--user", "alice", f"--ttl={ttl}", "--json")
    assert result.code == 2
    assert result.json == {"error": TTL_RANGE_ERROR.format(ttl)}


def test_bad_user_id_is_a_usage_error(cli, created_app):
    result = cli("session", "create", "--app", created_app["app_id"], "--user", "x" * 257, "--json")
    assert result.code == 2
    assert result.json == {"error": "argument --user: must be 1 to 256 printable characters"}


def test_human_output(cli, created_app):
    result = cli("session", "create", "--app", created_app["app_id"], "--user", "alice")
    assert result.code == 0
    lines = dict(line.split(None, 1) for line in result.stdout.splitlines())
    assert lines["user_id"] == "alice"
    assert lines["expires_at"].endswith("Z)")


def test_human_error_goes_to_stderr_only(cli):
    result = cli("session", "create", "--app", "app_nope", "--user", "alice")
    assert result.code == 1
    assert result.stdout == ""
    assert result.stderr.startswith("pushgate: error: no app")
