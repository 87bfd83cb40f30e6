"""The fcm and apns channels of an app (pushgate.services.provider_channels) on the moto account:
what each refused credential says, that a refusal stores nothing in SSM or the table, the one
channel per provider rule, and add/list/remove round trips with the key in SSM."""

from __future__ import annotations

import functools
import json
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pushgate.models import ApnsEnvironment, ChannelType
from pushgate.secret_store import SsmSecretStore
from pushgate.services.provider_channels import ChannelCredentialError, ProviderChannelService, public_view

PREFIX = "/pushgate/test"
NOW = 1_800_000_000
KEY_ID, TEAM_ID, BUNDLE_ID = "ABC123DEFG", "TEAM123456", "com.example.app"

# -- key material --------------------------------------------------------------------------------


def _pem(key: Any, private_format: serialization.PrivateFormat = serialization.PrivateFormat.PKCS8) -> str:
    return key.private_bytes(serialization.Encoding.PEM, private_format, serialization.NoEncryption()).decode()


@functools.cache
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def ec_key(curve_name: str) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key({"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}[curve_name])


def service_account(**changes: Any) -> dict[str, Any]:
    """A service-account file as the Firebase console hands it out; a change to None drops the field."""
    document = {
        "type": "service_account",
        "project_id": "demo-project",
        "private_key_id": "0123456789abcdef0123456789abcdef01234567",
        "private_key": _pem(rsa_key()),
        "client_email": "firebase-adminsdk-x1y2z@demo-project.iam.gserviceaccount.com",
        "client_id": "104857600000000000000",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    document.update(changes)
    return {name: value for name, value in document.items() if value is not None}


def p8(curve_name: str = "P-256") -> str:
    return _pem(ec_key(curve_name))


def key_lines(pem: str) -> list[str]:
    """The base64 body of a PEM key: what must never appear in an error message."""
    return [line for line in pem.splitlines() if line and not line.startswith("-----")]


# -- fixtures ------------------------------------------------------------------------------------


@pytest.fixture
def service(pushgate, aws) -> ProviderChannelService:  # noqa: ANN001
    return ProviderChannelService(pushgate.repository, SsmSecretStore(aws["ssm"]), PREFIX, clock=lambda: NOW)


@pytest.fixture
def app_id(demo_app) -> str:  # noqa: ANN001
    return demo_app.app.app_id


def stored_state(aws: dict[str, Any]) -> tuple[list[Any], list[str]]:
    """Every table item and every SSM parameter name: a refused call must leave both as they were."""
    items = aws["dynamodb"].scan(TableName="pushgate-test")["Items"]
    names: list[str] = []
    for page in aws["ssm"].get_paginator("describe_parameters").paginate():
        names.extend(parameter["Name"] for parameter in page["Parameters"])
    return sorted(items, key=json.dumps), sorted(names)


def refused(aws: dict[str, Any], call: Any, *texts: str) -> str:
    """Runs `call`, which must raise ChannelCredentialError without storing anything; the message."""
    before = stored_state(aws)
    with pytest.raises(ChannelCredentialError) as caught:
        call()
    assert stored_state(aws) == before
    message = str(caught.value)
    for text in texts:
        assert text in message, message
    for secret in (_pem(rsa_key()), p8("P-256"), p8("P-384")):
        assert not any(line in message for line in key_lines(secret))
    assert "PRIVATE KEY-----" not in message
    return message


# -- fcm -----------------------------------------------------------------------------------------


def test_fcm_channel_round_trip(service, app_id, aws, pushgate):  # noqa: ANN001
    channel = service.add_fcm(app_id, json.dumps(service_account()))
    assert channel.type is ChannelType.FCM and channel.app_id == app_id and channel.created_at == NOW
    assert (channel.fcm_project_id, channel.fcm_private_key_id) == ("demo-project", service_account()["private_key_id"])
    assert channel.fcm_client_email == service_account()["client_email"]
    parameter = f"{PREFIX}/apps/{app_id}/channels/{channel.channel_id}/private-key"
    assert channel.private_key_parameter == parameter
    assert pushgate.repository.get_channel(app_id, channel.channel_id) == channel

    stored = aws["ssm"].get_parameter(Name=parameter, WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString"
    key = serialization.load_pem_private_key(stored["Value"].encode(), password=None)
    assert key.private_numbers() == rsa_key().private_numbers()

    assert [c.type for c in service.list(app_id)] == [ChannelType.WEBPUSH, ChannelType.FCM]
    assert service.remove(app_id, channel.channel_id) == channel
    assert [c.type for c in service.list(app_id)] == [ChannelType.WEBPUSH]
    assert pushgate.repository.get_channel(app_id, channel.channel_id) is None
    assert parameter not in stored_state(aws)[1]


def test_a_pkcs1_rsa_key_is_accepted_and_stored_as_pkcs8(service, app_id, aws):  # noqa: ANN001
    pkcs1 = _pem(rsa_key(), serialization.PrivateFormat.TraditionalOpenSSL)
    channel = service.add_fcm(app_id, json.dumps(service_account(private_key=pkcs1)))
    stored = aws["ssm"].get_parameter(Name=channel.private_key_parameter, WithDecryption=True)["Parameter"]["Value"]
    assert stored == _pem(rsa_key())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{not json", "the service account file is not JSON (line 1, column 2"),
        ("", "not JSON"),
        ('["service_account"]', "is a JSON list, not a JSON object"),
        ('"service_account"', "is 'service_account', not a JSON object"),
        (json.dumps(service_account(type="authorized_user")), "has type 'authorized_user', not \"service_account\""),
        (json.dumps(service_account(type=None)), "has no type, not \"service_account\""),
        (json.dumps(service_account(project_id=None)), "lacks project_id"),
        (json.dumps(service_account(client_email="")), "lacks client_email"),
        (json.dumps(service_account(private_key=None)), "lacks private_key"),
        (json.dumps(service_account(private_key_id=42)), "lacks private_key_id"),
        (json.dumps(service_account(project_id=None, private_key_id=None)), "lacks project_id, private_key_id"),
        (json.dumps(service_account(private_key="not a key")), "private_key of the service account file is not"),
        (json.dumps(service_account(private_key=p8())), "is an EC key on secp256r1, not a PEM RSA private key"),
    ],
)
def test_wrong_service_account_is_refused_storing_nothing(service, app_id, aws, text, expected):  # noqa: ANN001
    refused(aws, lambda: service.add_fcm(app_id, text), expected)


def test_a_service_account_key_too_large_for_ssm_is_refused(service, app_id, aws):  # noqa: ANN001
    large = _pem(rsa.generate_private_key(public_exponent=65537, key_size=4096 + 64))
    refused(aws, lambda: service.add_fcm(app_id, json.dumps(service_account(private_key=large))), "4160-bit RSA key")


def test_an_encrypted_service_account_key_is_refused(service, app_id, aws):  # noqa: ANN001
    encrypted = rsa_key().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"secret"),
    ).decode()
    refused(aws, lambda: service.add_fcm(app_id, json.dumps(service_account(private_key=encrypted))), "encrypted")


# -- apns ----------------------------------------------------------------------------------------


def test_apns_channel_round_trip(service, app_id, aws, pushgate):  # noqa: ANN001
    channel = service.add_apns(app_id, p8(), KEY_ID, TEAM_ID, BUNDLE_ID)
    assert (channel.apns_key_id, channel.apns_team_id, channel.apns_bundle_id) == (KEY_ID, TEAM_ID, BUNDLE_ID)
    assert channel.apns_environment is ApnsEnvironment.PRODUCTION
    assert pushgate.repository.get_channel(app_id, channel.channel_id) == channel
    stored = aws["ssm"].get_parameter(Name=channel.private_key_parameter, WithDecryption=True)["Parameter"]
    assert stored["Type"] == "SecureString"
    assert stored["Value"] == p8()
    assert service.remove(app_id, channel.channel_id).channel_id == channel.channel_id
    assert channel.private_key_parameter not in stored_state(aws)[1]


def test_sandbox_environment_is_kept(service, app_id):  # noqa: ANN001
    channel = service.add_apns(app_id, p8(), KEY_ID, TEAM_ID, BUNDLE_ID, environment="sandbox")
    assert channel.apns_environment is ApnsEnvironment.SANDBOX
    assert public_view(channel) == {
        "id": channel.channel_id,
        "type": "apns",
        "created_at": NOW,
        "apns_key_id": KEY_ID,
        "apns_team_id": TEAM_ID,
        "apns_bundle_id": BUNDLE_ID,
        "apns_environment": "sandbox",
    }


APNS_DEFAULTS = {"key_id": KEY_ID, "team_id": TEAM_ID, "bundle_id": BUNDLE_ID, "environment": "production"}
NOT_PKCS8 = "the APNs key file is not a PEM PKCS#8 private key"


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"key_text": "hello"}, NOT_PKCS8 + " (an APNs .p8 file is one PEM block labelled PRIVATE KEY)"),
        ({"key_text": "sec1"}, NOT_PKCS8 + " (a SEC1 EC key: `openssl pkcs8 -topk8"),
        ({"key_text": "encrypted"}, "it is encrypted with a password"),
        ({"key_text": "two blocks"}, "it holds 2 PEM blocks"),
        ({"key_text": "garbled"}, NOT_PKCS8 + " (its PRIVATE KEY block cannot be read)"),
        ({"key_text": "P-384"}, "holds an EC key on secp384r1, not an EC P-256 key"),
        ({"key_text": "RSA"}, "holds an RSA key, not an EC P-256 key"),
        ({"key_id": "ABC123DEF"}, "the APNs key id must be 10 letters or digits"),
        ({"key_id": "ABC123DEF!"}, "got 'ABC123DEF!'"),
        ({"team_id": "TEAM12345678"}, "the APNs team id must be 10 letters or digits"),
        ({"team_id": "TÉAM123456"}, "the APNs team id"),
        ({"bundle_id": "example"}, "the bundle id must be a reverse-DNS id"),
        ({"bundle_id": "com.example.my_app"}, "the bundle id"),
        ({"bundle_id": "com..example"}, "the bundle id"),
        ({"bundle_id": ""}, "got ''"),
        ({"bundle_id": "com." + "a" * 152}, "got 156 characters"),
        ({"environment": "development"}, "the APNs environment must be production or sandbox, got 'development'"),
    ],
)
def test_wrong_apns_credentials_are_refused_storing_nothing(service, app_id, aws, changes, expected):  # noqa: ANN001
    keys = {
        None: p8(),
        "hello": "hello",
        "sec1": _pem(ec_key("P-256"), serialization.PrivateFormat.TraditionalOpenSSL),
        "encrypted": ec_key("P-256").private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.BestAvailableEncryption(b"pw")
        ).decode(),
        "two blocks": p8() + p8(),
        "garbled": "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        "P-384": p8("P-384"),
        "RSA": _pem(rsa_key()),
    }
    arguments = {**APNS_DEFAULTS, **changes}
    arguments["key_text"] = keys[changes.get("key_text")]
    refused(aws, lambda: service.add_apns(app_id, **arguments), expected)


def test_the_longest_bundle_id_is_accepted(service, app_id):  # noqa: ANN001
    bundle_id = "com." + "a" * 151
    assert service.add_apns(app_id, p8(), KEY_ID, TEAM_ID, bundle_id).apns_bundle_id == bundle_id


# -- the app and its channels --------------------------------------------------------------------


def test_an_unknown_app_is_refused_everywhere(service, aws):  # noqa: ANN001
    unknown = "app_0000000000000000"
    refused(aws, lambda: service.add_fcm(unknown, json.dumps(service_account())), f"no app '{unknown}'")
    refused(aws, lambda: service.add_apns(unknown, p8(), KEY_ID, TEAM_ID, BUNDLE_ID), f"no app '{unknown}'")
    refused(aws, lambda: service.list(unknown), f"no app '{unknown}'")
    refused(aws, lambda: service.remove(unknown, str(uuid.uuid4())), f"no app '{unknown}'")


def test_one_channel_per_provider(service, app_id, aws):  # noqa: ANN001
    first = service.add_fcm(app_id, json.dumps(service_account()))
    message = refused(
        aws,
        lambda: service.add_fcm(app_id, json.dumps(service_account(project_id="other"))),
        f"app {app_id} already has an fcm channel ({first.channel_id})",
        f"`pushgate channel remove --app {app_id} --channel {first.channel_id}` first",
    )
    assert "other" not in message
    # One of each provider, not one in all.
    apns = service.add_apns(app_id, p8(), KEY_ID, TEAM_ID, BUNDLE_ID)
    refused(aws, lambda: service.add_apns(app_id, p8(), KEY_ID, TEAM_ID, "com.example.other"), apns.channel_id)
    # Once removed, the provider's place is free again.
    service.remove(app_id, first.channel_id)
    second = service.add_fcm(app_id, json.dumps(service_account(project_id="other")))
    assert [c.channel_id for c in service.list(app_id)][1:] == [second.channel_id, apns.channel_id]


class _RecordingSecrets(SsmSecretStore):
    def __init__(self, client: Any) -> None:
        super().__init__(client)
        self.written: list[str] = []

    def put_secret(self, name: str, value: str) -> None:
        self.written.append(name)
        super().put_secret(name, value)


def test_a_refused_add_never_writes_the_key_even_briefly(pushgate, app_id, aws):  # noqa: ANN001
    secrets = _RecordingSecrets(aws["ssm"])
    service = ProviderChannelService(pushgate.repository, secrets, PREFIX)
    service.add_fcm(app_id, json.dumps(service_account()))
    assert len(secrets.written) == 1
    for refused_add in (
        lambda: service.add_fcm(app_id, json.dumps(service_account())),  # a second fcm channel
        lambda: service.add_fcm("app_0000000000000000", json.dumps(service_account())),  # unknown app
        lambda: service.add_apns(app_id, p8("P-384"), KEY_ID, TEAM_ID, BUNDLE_ID),  # wrong key
    ):
        with pytest.raises(ChannelCredentialError):
            refused_add()
    assert len(secrets.written) == 1


def test_credentials_are_checked_before_the_app_and_its_channels(service, app_id, aws):  # noqa: ANN001
    service.add_fcm(app_id, json.dumps(service_account()))
    refused(aws, lambda: service.add_fcm(app_id, "{"), "not JSON")


def test_the_webpush_channel_cannot_be_removed(service, demo_app, aws):  # noqa: ANN001
    app_id, webpush = demo_app.app.app_id, demo_app.channels[0]
    expected = f"channel {webpush.channel_id} is app {app_id}'s webpush channel: it cannot be removed"
    refused(aws, lambda: service.remove(app_id, webpush.channel_id), expected)
    assert [c.channel_id for c in service.list(app_id)] == [webpush.channel_id]


def test_removing_an_unknown_channel_is_refused(service, app_id, aws, pushgate):  # noqa: ANN001
    unknown = str(uuid.uuid4())
    refused(aws, lambda: service.remove(app_id, unknown), f"app {app_id} has no channel '{unknown}'", "channel list")
    refused(aws, lambda: service.remove(app_id, "not-a-channel-id"), "has no channel 'not-a-channel-id'")
    # Another app's channel is unknown to this one.
    other_app = pushgate.apps().create_app("other").app.app_id
    theirs = service.add_fcm(other_app, json.dumps(service_account()))
    refused(aws, lambda: service.remove(app_id, theirs.channel_id), "has no channel")
    # Removing twice: the second finds nothing.
    service.remove(other_app, theirs.channel_id)
    refused(aws, lambda: service.remove(other_app, theirs.channel_id), "has no channel")


def test_a_channel_id_is_found_whatever_its_case(service, app_id):  # noqa: ANN001
    channel = service.add_apns(app_id, p8(), KEY_ID, TEAM_ID, BUNDLE_ID)
    assert service.remove(app_id, channel.channel_id.upper()).channel_id == channel.channel_id


def test_remove_succeeds_when_the_key_is_already_gone(service, app_id, aws, pushgate):  # noqa: ANN001
    channel = service.add_fcm(app_id, json.dumps(service_account()))
    aws["ssm"].delete_parameter(Name=channel.private_key_parameter)
    assert service.remove(app_id, channel.channel_id) == channel
    assert pushgate.repository.get_channel(app_id, channel.channel_id) is None


# -- the row failing after the key was stored ----------------------------------------------------


class _FailingRepository:
    """The real repository, except that add_channel first runs `before` (a failure, or a rival add)."""

    def __init__(self, repository: Any, before: Any) -> None:
        self._repository, self._before = repository, before

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repository, name)

    def add_channel(self, channel: Any) -> None:
        self._before(channel)
        self._repository.add_channel(channel)


def test_a_row_that_fails_takes_its_key_with_it(pushgate, app_id, aws):  # noqa: ANN001
    def fail(channel: Any) -> None:
        assert channel.private_key_parameter in stored_state(aws)[1]  # the key went first
        raise RuntimeError("table unavailable")

    service = ProviderChannelService(_FailingRepository(pushgate.repository, fail), SsmSecretStore(aws["ssm"]), PREFIX)
    before = stored_state(aws)
    with pytest.raises(RuntimeError, match="table unavailable"):
        service.add_fcm(app_id, json.dumps(service_account()))
    assert stored_state(aws) == before


def test_a_rival_add_that_wins_the_race_is_named(pushgate, app_id, aws):  # noqa: ANN001
    plain = ProviderChannelService(pushgate.repository, SsmSecretStore(aws["ssm"]), PREFIX)
    rivals: list[Any] = []

    def rival_adds_first(_: Any) -> None:
        rivals.append(plain.add_apns(app_id, p8(), KEY_ID, TEAM_ID, "com.example.rival"))

    repository = _FailingRepository(pushgate.repository, rival_adds_first)
    racing = ProviderChannelService(repository, SsmSecretStore(aws["ssm"]), PREFIX)
    with pytest.raises(ChannelCredentialError, match="already has an apns channel") as caught:
        racing.add_apns(app_id, p8(), KEY_ID, TEAM_ID, BUNDLE_ID)
    [rival] = rivals
    assert rival.channel_id in str(caught.value)
    assert [c.channel_id for c in plain.list(app_id) if c.type is ChannelType.APNS] == [rival.channel_id]
    # Only the rival's key is left under the app's channels.
    keys = [name for name in stored_state(aws)[1] if name.endswith("/private-key")]
    assert keys == [rival.private_key_parameter]


def test_delete_secret_ignores_a_missing_parameter(aws):  # noqa: ANN001
    secrets = SsmSecretStore(aws["ssm"])
    secrets.put_secret(f"{PREFIX}/x", "value")
    secrets.delete_secret(f"{PREFIX}/x")
    secrets.delete_secret(f"{PREFIX}/x")
    assert f"{PREFIX}/x" not in stored_state(aws)[1]
