"""`pushgate channel add fcm|apns`, `channel list`, `channel remove`: the --json shapes, the human
output, every refusal with nothing stored, unreadable files, and the local and --stack targets."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pushgate_cli.main import main

KEY_ID, TEAM_ID, BUNDLE_ID = "ABC123DEFG", "TEAM123456", "com.example.app"
GARBLED_PEM = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
FCM_FIELDS = {"id", "type", "created_at", "fcm_project_id", "fcm_client_email", "fcm_private_key_id"}
APNS_FIELDS = {"id", "type", "created_at", "apns_key_id", "apns_team_id", "apns_bundle_id", "apns_environment"}


def _pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


@functools.cache
def rsa_pem() -> str:
    return _pem(rsa.generate_private_key(public_exponent=65537, key_size=2048))


@functools.cache
def ec_pem(curve: type[ec.EllipticCurve]) -> str:
    return _pem(ec.generate_private_key(curve()))


def service_account_text(**changes: Any) -> str:
    document = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": rsa_pem(),
        "client_email": "firebase-adminsdk-x1y2z@demo-project.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token",
        **changes,
    }
    return json.dumps(document)


@pytest.fixture
def files(tmp_path: Path):  # noqa: ANN201
    """Writes a file under tmp_path and returns its path as the CLI takes it."""

    def write(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return str(path)

    return write


@pytest.fixture
def add_fcm(cli, files):  # noqa: ANN001, ANN201
    def run(app_id: str, text: str | None = None, *extra: str) -> Any:
        path = files("service-account.json", service_account_text() if text is None else text)
        return cli("channel", "add", "fcm", "--app", app_id, "--service-account", path, *extra)

    return run


@pytest.fixture
def add_apns(cli, files):  # noqa: ANN001, ANN201
    def run(app_id: str, *extra: str, key: str | None = None, key_id: str = KEY_ID) -> Any:
        path = files(f"AuthKey_{KEY_ID}.p8", ec_pem(ec.SECP256R1) if key is None else key)
        return cli(
            "channel", "add", "apns", "--app", app_id, "--key-file", path,
            "--key-id", key_id, "--team-id", TEAM_ID, "--bundle-id", BUNDLE_ID, *extra,
        )  # fmt: skip

    return run


def stored_state(aws: dict[str, Any]) -> tuple[list[Any], list[str]]:
    """Every table item and SSM parameter name, to show a refused command stored nothing."""
    items = aws["dynamodb"].scan(TableName=os.environ["TABLE_NAME"])["Items"]
    pages = aws["ssm"].get_paginator("describe_parameters").paginate()
    names = [parameter["Name"] for page in pages for parameter in page["Parameters"]]
    return sorted(items, key=json.dumps), sorted(names)


def assert_no_key_material(text: str) -> None:
    for pem in (rsa_pem(), ec_pem(ec.SECP256R1), ec_pem(ec.SECP384R1)):
        assert not any(line in text for line in pem.splitlines() if not line.startswith("-----"))


# -- add, list, remove ---------------------------------------------------------------------------


def test_add_fcm_prints_one_json_object_with_the_public_fields(add_fcm, created_app, stack, aws):  # noqa: ANN001
    result = add_fcm(created_app["app_id"], None, "--json")
    assert result.code == 0, result.stderr
    assert result.stdout.count("\n") == 1
    channel = result.json
    assert set(channel) == FCM_FIELDS
    assert channel["type"] == "fcm" and channel["fcm_project_id"] == "demo-project"
    assert_no_key_material(result.stdout + result.stderr)
    row = stack.services.repository.get_channel(created_app["app_id"], channel["id"])
    stored = aws["ssm"].get_parameter(Name=row.private_key_parameter, WithDecryption=True)["Parameter"]
    app_id = created_app["app_id"]
    assert row.private_key_parameter == f"/pushgate/test/apps/{app_id}/channels/{channel['id']}/private-key"
    assert stored["Type"] == "SecureString" and stored["Value"] == rsa_pem()


def test_add_apns_defaults_to_production_and_takes_sandbox(add_apns, cli, created_app):  # noqa: ANN001
    production = add_apns(created_app["app_id"], "--json")
    assert production.code == 0, production.stderr
    assert set(production.json) == APNS_FIELDS
    assert production.json["apns_environment"] == "production"
    assert (production.json["apns_key_id"], production.json["apns_team_id"]) == (KEY_ID, TEAM_ID)
    removed = cli("channel", "remove", "--app", created_app["app_id"], "--channel", production.json["id"], "--json")
    assert removed.code == 0, removed.stderr
    sandbox = add_apns(created_app["app_id"], "--environment", "sandbox", "--json")
    assert sandbox.json["apns_environment"] == "sandbox"


def test_list_shows_every_channel_webpush_first(add_fcm, add_apns, cli, created_app):  # noqa: ANN001
    app_id = created_app["app_id"]
    fcm, apns = add_fcm(app_id, None, "--json").json, add_apns(app_id, "--json").json
    listed = cli("channel", "list", "--app", app_id, "--json")
    assert listed.code == 0, listed.stderr
    assert set(listed.json) == {"channels"}
    webpush, *native = listed.json["channels"]
    [created_webpush] = created_app["channels"]
    assert webpush == {**created_webpush, "created_at": webpush["created_at"]}
    assert native == [fcm, apns]


def test_remove_prints_the_id_and_deletes_the_row_and_the_key(add_fcm, cli, created_app, stack, aws):  # noqa: ANN001
    app_id = created_app["app_id"]
    before = stored_state(aws)
    channel = add_fcm(app_id, None, "--json").json
    result = cli("channel", "remove", "--app", app_id, "--channel", channel["id"], "--json")
    assert result.code == 0, result.stderr
    assert result.json == {"removed": channel["id"]}
    assert stored_state(aws) == before
    assert [c["type"] for c in cli("channel", "list", "--app", app_id, "--json").json["channels"]] == ["webpush"]


def test_human_output(add_fcm, add_apns, cli, created_app):  # noqa: ANN001
    app_id = created_app["app_id"]
    added = add_fcm(app_id)
    assert added.code == 0, added.stderr
    assert added.stdout.startswith(f"Added fcm channel ") and f"to app {app_id} on the moto account" in added.stdout
    assert "fcm_project_id" in added.stdout and "demo-project" in added.stdout
    assert f"SSM SecureString at /pushgate/test/apps/{app_id}/channels/" in added.stdout
    assert not added.stdout.lstrip().startswith("{")
    assert add_apns(app_id).code == 0
    listed = cli("channel", "list", "--app", app_id).stdout.splitlines()
    assert listed[0] == f"Channels of app {app_id} on the moto account:"
    assert [line.split()[1] for line in listed[1:]] == ["webpush", "fcm", "apns"]
    assert f"bundle {BUNDLE_ID}, team {TEAM_ID}, key {KEY_ID}, production" in listed[3]
    fcm_id = listed[2].split()[0]
    removed = cli("channel", "remove", "--app", app_id, "--channel", fcm_id)
    assert removed.stdout.startswith(f"Removed fcm channel {fcm_id} from app {app_id}")
    assert_no_key_material(added.stdout + listed[2] + removed.stdout)


# -- refusals ------------------------------------------------------------------------------------


def test_a_second_channel_of_a_provider_is_refused(add_fcm, created_app, aws):  # noqa: ANN001
    app_id = created_app["app_id"]
    first = add_fcm(app_id, None, "--json").json
    before = stored_state(aws)
    result = add_fcm(app_id, None, "--json")
    assert result.code == 1
    assert stored_state(aws) == before
    assert f"already has an fcm channel ({first['id']})" in result.json["error"]
    assert f"`pushgate channel remove --app {app_id} --channel {first['id']}` first" in result.json["error"]


def test_the_webpush_channel_cannot_be_removed(cli, created_app, aws):  # noqa: ANN001
    before = stored_state(aws)
    [webpush] = created_app["channels"]
    result = cli("channel", "remove", "--app", created_app["app_id"], "--channel", webpush["id"], "--json")
    assert result.code == 1
    assert "webpush channel: it cannot be removed" in result.json["error"]
    assert stored_state(aws) == before


def test_unknown_app_and_unknown_channel(cli, add_fcm, created_app):  # noqa: ANN001
    for argv in (("list", "--app", "app_nope"), ("remove", "--app", "app_nope", "--channel", "x")):
        result = cli("channel", *argv, "--json")
        assert result.code == 1
        assert result.json == {"error": "no app 'app_nope' on the moto account"}
    assert add_fcm("app_nope", None, "--json").json == {"error": "no app 'app_nope' on the moto account"}
    unknown = cli("channel", "remove", "--app", created_app["app_id"], "--channel", "0" * 32, "--json")
    assert unknown.code == 1
    assert f"has no channel '{'0' * 32}'" in unknown.json["error"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("not json", "the service account file is not JSON"),
        ("[]", "not a JSON object"),
        (service_account_text(type="authorized_user"), "has type 'authorized_user'"),
        (service_account_text(client_email=None), "lacks client_email"),
        (service_account_text(private_key=GARBLED_PEM), "not a PEM RSA private key"),
    ],
)
def test_wrong_service_account_exits_1_storing_nothing(add_fcm, created_app, aws, text, expected):  # noqa: ANN001
    # Exit 1, not 2: the command line was right, the file's content is not.
    before = stored_state(aws)
    result = add_fcm(created_app["app_id"], text, "--json")
    assert result.code == 1
    assert expected in result.json["error"]
    assert f"pushgate: error: {result.json['error']}" in result.stderr
    assert stored_state(aws) == before


def test_a_service_account_with_an_ec_key_is_refused(add_fcm, created_app, aws):  # noqa: ANN001
    before = stored_state(aws)
    result = add_fcm(created_app["app_id"], service_account_text(private_key=ec_pem(ec.SECP256R1)), "--json")
    assert result.code == 1
    assert "not a PEM RSA private key" in result.json["error"]
    assert_no_key_material(result.stdout + result.stderr)
    assert stored_state(aws) == before


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (lambda: ec_pem(ec.SECP384R1), "holds an EC key on secp384r1, not an EC P-256 key"),
        (rsa_pem, "holds an RSA key, not an EC P-256 key"),
        (lambda: service_account_text(), "not a PEM PKCS#8 private key"),
    ],
)
def test_a_wrong_p8_exits_1_and_stores_nothing(add_apns, created_app, aws, key, expected):  # noqa: ANN001
    before = stored_state(aws)
    result = add_apns(created_app["app_id"], "--json", key=key())
    assert result.code == 1
    assert expected in result.json["error"]
    assert_no_key_material(result.stdout + result.stderr)
    assert stored_state(aws) == before


def _never_connect(**_: Any) -> Any:
    raise AssertionError("a usage error must be reported before any stack is contacted")


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--key-id", "ABC"], "argument --key-id: the APNs key id must be 10 letters or digits"),
        (["--team-id", "TEAM-12345"], "argument --team-id: the APNs team id must be 10 letters or digits"),
        (["--bundle-id", "nodots"], "argument --bundle-id: the bundle id must be a reverse-DNS id"),
        (["--environment", "staging"], "argument --environment: invalid choice: 'staging'"),
        (["--key-file", "/nonexistent/AuthKey.p8"], "argument --key-file: cannot read '/nonexistent/AuthKey.p8'"),
    ],
)
def test_wrong_apns_options_are_usage_errors(files, capsys, options, expected):  # noqa: ANN001
    values = {"--key-file": files("AuthKey.p8", ec_pem(ec.SECP256R1)), "--key-id": KEY_ID, "--team-id": TEAM_ID}
    values["--bundle-id"] = BUNDLE_ID
    values.update(zip(options[::2], options[1::2], strict=True))
    argv = ["channel", "add", "apns", "--app", "app_x", *[part for pair in values.items() for part in pair], "--json"]
    assert main(argv, connect=_never_connect) == 2
    assert expected in json.loads(capsys.readouterr().out)["error"]


@pytest.mark.parametrize(
    ("make_path", "expected"),
    [
        (lambda tmp: str(tmp / "missing.json"), "cannot read '{path}': No such file or directory"),
        (lambda tmp: str(tmp), "cannot read '{path}': Is a directory"),
        (lambda tmp: _write(tmp / "binary.json", b"\xff\xfe\x00key"), "'{path}' is not UTF-8 text: not a key file"),
        (lambda tmp: _write(tmp / "big.json", b" " * (64 * 1024 + 1)), "'{path}' is over 64 KiB: not a key file"),
    ],
)
def test_an_unreadable_service_account_file_is_a_usage_error(tmp_path, capsys, make_path, expected):  # noqa: ANN001
    path = make_path(tmp_path)
    argv = ["channel", "add", "fcm", "--app", "app_x", "--service-account", path, "--json"]
    assert main(argv, connect=_never_connect) == 2
    out, err = capsys.readouterr()
    message = "argument --service-account: " + expected.format(path=path)
    assert json.loads(out) == {"error": message}
    assert f"pushgate: error: {message}" in err


def _write(path: Path, content: bytes) -> str:
    path.write_bytes(content)
    return str(path)


def test_a_utf8_bom_is_accepted(add_fcm, created_app):  # noqa: ANN001
    result = add_fcm(created_app["app_id"], "\ufeff" + service_account_text(), "--json")
    assert result.code == 0, result.stderr


def test_channel_add_needs_a_provider_word(cli):  # noqa: ANN001
    result = cli("channel", "add", "--app", "app_x", "--json")
    assert result.code == 2
    assert "{fcm,apns}" in result.json["error"]


# -- targets -------------------------------------------------------------------------------------


def test_channels_on_the_local_stack(run_cli, local_stack_url, files):  # noqa: ANN001
    target = ("--local-url", local_stack_url, "--json")
    app_id = run_cli("app", "create", "--name", "local", *target).json["app_id"]
    key = files("AuthKey.p8", ec_pem(ec.SECP256R1))
    added = run_cli(
        "channel", "add", "apns", "--app", app_id, "--key-file", key,
        "--key-id", KEY_ID, "--team-id", TEAM_ID, "--bundle-id", BUNDLE_ID, *target,
    )  # fmt: skip
    assert added.code == 0, added.stderr
    listed = run_cli("channel", "list", "--app", app_id, *target).json["channels"]
    assert [c["type"] for c in listed] == ["webpush", "apns"]
    removed = run_cli("channel", "remove", "--app", app_id, "--channel", added.json["id"], *target)
    assert removed.json == {"removed": added.json["id"]}


def test_channels_on_a_deployed_stack(run_cli, aws, files):  # noqa: ANN001
    import boto3

    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"TableName": {"Value": os.environ["TABLE_NAME"]}, "SsmPrefix": {"Value": "/pushgate/deployed"}},
    }
    boto3.client("cloudformation").create_stack(StackName="pushgate-prod", TemplateBody=json.dumps(template))
    target = ("--stack", "pushgate-prod", "--region", "us-east-1", "--json")
    app_id = run_cli("app", "create", "--name", "prod", *target).json["app_id"]
    path = files("sa.json", service_account_text())
    added = run_cli("channel", "add", "fcm", "--app", app_id, "--service-account", path, *target)
    assert added.code == 0, added.stderr
    parameter = f"/pushgate/deployed/apps/{app_id}/channels/{added.json['id']}/private-key"
    assert aws["ssm"].get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"] == rsa_pem()
    listed = run_cli("channel", "list", "--app", app_id, *target).json["channels"]
    assert [channel["type"] for channel in listed] == ["webpush", "fcm"]
