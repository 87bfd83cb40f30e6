"""`pushgate app create` (docs/api.md §0): one JSON object whose credentials work against the stack."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives import serialization

from pushgate.identifiers import credential_hash


def test_json_output_has_exactly_the_contract_fields(created_app):
    assert set(created_app) == {
        "app_id", "account_id", "secret_key", "public_key", "channels", "user_token_private_key"
    }  # fmt: skip
    assert isinstance(created_app["account_id"], int) and created_app["account_id"] > 0
    assert created_app["secret_key"].startswith("sk_") and len(created_app["secret_key"]) >= 35
    assert created_app["public_key"].startswith("pk_") and len(created_app["public_key"]) >= 27
    [channel] = created_app["channels"]
    assert set(channel) == {"id", "type", "vapid_public_key"}
    assert channel["type"] == "webpush"
    assert created_app["user_token_private_key"].startswith("-----BEGIN PRIVATE KEY-----")


def test_stdout_is_one_json_object_and_nothing_else(cli):
    result = cli("app", "create", "--name", "demo", "--json")
    assert result.code == 0
    assert result.stdout.count("\n") == 1
    assert isinstance(json.loads(result.stdout), dict)


def test_the_app_is_stored_and_its_keys_authenticate(created_app, stack):
    authenticator = stack.services.authenticator
    app = stack.services.repository.get_app(created_app["app_id"])
    assert app is not None and app.name == "demo" and app.account_id == created_app["account_id"]
    assert authenticator.app_for_secret_key(created_app["secret_key"]).app_id == app.app_id
    assert authenticator.app_for_public_key(created_app["public_key"]).app_id == app.app_id
    assert authenticator.app_for_account(created_app["account_id"]).app_id == app.app_id
    # Only hashes are stored.
    assert app.secret_key_hash == credential_hash(created_app["secret_key"])
    channel = stack.services.repository.get_channel(app.app_id, created_app["channels"][0]["id"])
    assert channel.vapid_public_key == created_app["channels"][0]["vapid_public_key"]


def test_private_keys_are_secure_strings_in_ssm_and_the_public_half_is_registered(created_app, stack, aws):
    parameter = stack.apps.user_token_key_parameter(created_app["app_id"])
    stored = aws["ssm"].get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString"
    assert stored["Value"] == created_app["user_token_private_key"]
    private_key = serialization.load_pem_private_key(created_app["user_token_private_key"].encode(), password=None)
    public_pem = private_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    assert stack.services.repository.get_app(created_app["app_id"]).user_token_keys == (public_pem,)
    channel = stack.services.repository.get_channel(created_app["app_id"], created_app["channels"][0]["id"])
    vapid = aws["ssm"].get_parameter(Name=channel.vapid_private_key_parameter, WithDecryption=True)["Parameter"]
    assert vapid["Type"] == "SecureString"


def test_each_app_gets_its_own_account_and_keys(cli):
    first = cli("app", "create", "--name", "one", "--json").json
    second = cli("app", "create", "--name", "two", "--json").json
    assert first["account_id"] != second["account_id"]
    assert first["app_id"] != second["app_id"]
    assert first["secret_key"] != second["secret_key"]


def test_human_output_names_the_app_and_shows_the_secret_key_once(cli):
    result = cli("app", "create", "--name", "demo")
    assert result.code == 0
    assert "Created app 'demo'" in result.stdout
    [secret_line] = [line for line in result.stdout.splitlines() if "secret_key" in line]
    assert "sk_" in secret_line
    assert "user-token-private-key" in result.stdout  # where the development key lives
    assert not result.stdout.lstrip().startswith("{")


def test_empty_name_is_a_usage_error(cli):
    result = cli("app", "create", "--name", " ", "--json")
    assert result.code == 2
    assert result.json == {"error": "argument --name: must not be empty"}
    assert "must not be empty" in result.stderr


def test_missing_name_is_reported_as_json_when_asked(cli):
    result = cli("app", "create", "--json")
    assert result.code == 2
    assert "--name" in result.json["error"]
    assert "usage: pushgate app create" in result.stderr
