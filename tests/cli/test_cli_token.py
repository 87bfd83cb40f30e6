"""`pushgate token create` (docs/api.md §0): a user JWT signed with the app's development key."""

from __future__ import annotations

import time

import jwt
import pytest

from pushgate.errors import Unauthenticated
from pushgate_cli.commands import create_token

TTL_RANGE_ERROR = "argument --ttl: must be a whole number of seconds from 60 to 2592000, got {!r}"


def _app(stack, created_app):  # noqa: ANN001, ANN202
    return stack.services.repository.get_app(created_app["app_id"])


def test_token_verifies_with_the_apps_registered_key(cli, created_app, stack):
    result = cli("token", "create", "--app", created_app["app_id"], "--user", "alice", "--json")
    assert result.code == 0, result.stderr
    assert set(result.json) == {"token"}
    assert stack.services.authenticator.user_from_jwt(_app(stack, created_app), result.json["token"]) == "alice"


def test_token_is_rs256_with_sub_iat_exp_and_an_hour_by_default(cli, created_app):
    token = cli("token", "create", "--app", created_app["app_id"], "--user", "alice", "--json").json["token"]
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    claims = jwt.decode(token, options={"verify_signature": False})
    assert set(claims) == {"sub", "iat", "exp"}
    assert claims["sub"] == "alice"
    assert claims["exp"] - claims["iat"] == 3600
    assert abs(claims["iat"] - time.time()) < 5


def test_ttl_sets_the_lifetime(cli, created_app):
    result = cli("token", "create", "--app", created_app["app_id"], "--user", "alice", "--ttl", "120", "--json")
    claims = jwt.decode(result.json["token"], options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] == 120


def test_an_expired_token_does_not_verify(stack, created_app):
    # Minted two hours ago with a 60 s life: long expired, well past the verifier's 60 s leeway.
    two_hours_ago = time.time() - 7200
    token = create_token(stack, created_app["app_id"], "alice", ttl=60, clock=lambda: two_hours_ago).data["token"]
    with pytest.raises(Unauthenticated):
        stack.services.authenticator.user_from_jwt(_app(stack, created_app), token)


def test_a_token_of_one_app_does_not_verify_in_another(cli, created_app, stack):
    other = cli("app", "create", "--name", "other", "--json").json
    token = cli("token", "create", "--app", other["app_id"], "--user", "alice", "--json").json["token"]
    with pytest.raises(Unauthenticated):
        stack.services.authenticator.user_from_jwt(_app(stack, created_app), token)


def test_the_token_authenticates_wherever_a_session_does(cli, created_app, stack):
    token = cli("token", "create", "--app", created_app["app_id"], "--user", "alice", "--json").json["token"]
    caller = stack.services.authenticator.caller_for_token(_app(stack, created_app), token)
    assert caller.user_id == "alice"


def test_unknown_app_exits_1(cli):
    result = cli("token", "create", "--app", "app_nope", "--user", "alice", "--json")
    assert result.code == 1
    assert result.json == {"error": "no app 'app_nope' on the moto account"}


def test_app_without_a_development_key_is_a_clear_error(cli, created_app, stack, aws):
    parameter = stack.apps.user_token_key_parameter(created_app["app_id"])
    aws["ssm"].delete_parameter(Name=parameter)
    result = cli("token", "create", "--app", created_app["app_id"], "--user", "alice", "--json")
    assert result.code == 1
    expected = f"app {created_app['app_id']} has no development user-token key in SSM at {parameter}"
    assert result.json == {"error": expected}


@pytest.mark.parametrize("ttl", ["soon", "0", "59", "2592001"])
def test_bad_ttl_is_a_usage_error(cli, created_app, ttl):
    result = cli("token", "create", "--app", created_app["app_id"], "--user", "alice", "--ttl", ttl, "--json")
    assert result.code == 2
    assert result.json == {"error": TTL_RANGE_ERROR.format(ttl)}


def test_human_output_is_the_bare_token(cli, created_app, stack):
    result = cli("token", "create", "--app", created_app["app_id"], "--user", "alice")
    assert result.code == 0
    token = result.stdout.strip()
    assert result.stdout == token + "\n"
    assert stack.services.authenticator.user_from_jwt(_app(stack, created_app), token) == "alice"
