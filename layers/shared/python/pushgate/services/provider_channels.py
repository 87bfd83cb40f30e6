"""An app's native push channels (`fcm`, `apns`): checking the credentials an operator hands
over, keeping the private key in SSM and the public rest in the table, and removing them again.

An app has at most one channel per provider; the repository's per-provider marker holds that even
against a concurrent add. Everything is checked before anything is written, the key goes to SSM
before the row that names it, and a row that fails to land takes its parameter with it: a channel
row never points at a missing key, and a refused add leaves nothing behind. Error messages name
what is wrong, never the key: they are printed, and parse errors are raised `from None` because
some (JSONDecodeError) carry the whole document, private key included."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa

from pushgate import identifiers
from pushgate.errors import PushgateError
from pushgate.models import ApnsEnvironment, Channel, ChannelType
from pushgate.repository import ConditionFailed, Repository
from pushgate.secret_store import SecretStore

SERVICE_ACCOUNT_FIELDS = ("project_id", "client_email", "private_key", "private_key_id")
APPLE_ID_LENGTH = 10  # Apple's Key ID and Team ID are both 10 letters or digits
MAX_BUNDLE_ID_LENGTH = 155
_APPLE_ID = re.compile(rf"[A-Za-z0-9]{{{APPLE_ID_LENGTH}}}")
# Reverse-DNS: labels of letters, digits and hyphens joined by dots, at least two labels.
_BUNDLE_ID = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_PEM_LABEL = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----")
_SHOWN_VALUE_LENGTH = 40  # identifiers are echoed in errors up to this length, never key material
# A standard SSM parameter holds 4096 characters, the PKCS#8 PEM of a 4096-bit RSA key ~3300. Larger
# keys are refused here: SSM's own error for an oversized value would echo the value, the key.
MAX_RSA_KEY_BITS = 4096

# What `list` and the CLI show of a channel: the public fields of its provider.
PUBLIC_FIELDS = {
    ChannelType.WEBPUSH: ("vapid_public_key",),
    ChannelType.FCM: ("fcm_project_id", "fcm_client_email", "fcm_private_key_id"),
    ChannelType.APNS: ("apns_key_id", "apns_team_id", "apns_bundle_id", "apns_environment"),
}
_LISTING_ORDER = {ChannelType.WEBPUSH: 0, ChannelType.FCM: 1, ChannelType.APNS: 2}


class ChannelCredentialError(PushgateError):
    """A channel cannot be added or removed as asked. The message says what is wrong and is safe
    to print: it never holds key material."""


@dataclass(frozen=True)
class ServiceAccount:
    """The fields of a Firebase service-account file that delivery needs."""

    project_id: str
    client_email: str
    private_key_id: str
    private_key_pem: str = field(repr=False)  # normalised to PKCS#8 PEM


@dataclass(frozen=True)
class ApnsCredentials:
    key_id: str
    team_id: str
    bundle_id: str
    environment: ApnsEnvironment
    private_key_pem: str = field(repr=False)  # the .p8 key, normalised to PKCS#8 PEM


def public_view(channel: Channel) -> dict[str, Any]:
    """The channel as the CLI prints it: id, type, creation time and its provider's public fields."""
    fields = channel.model_dump(mode="json", include=set(PUBLIC_FIELDS[channel.type]))
    return {"id": channel.channel_id, "type": channel.type.value, "created_at": channel.created_at, **fields}


# -- checking credentials (no I/O) -----------------------------------------------------------


def _shown(value: object) -> str:
    """An identifier as an error message may echo it: short strings only."""
    if value is None:
        return "nothing"
    if isinstance(value, str) and len(value) <= _SHOWN_VALUE_LENGTH:
        return repr(value)
    if isinstance(value, str):
        return f"{len(value)} characters"
    return f"a JSON {type(value).__name__}"


def _key_kind(key: object) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "an RSA key"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return f"an EC key on {key.curve.name}"
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return "an EdDSA key"
    return "another kind of key"


def _load_private_key(pem: str, what: str, expected: str) -> object:
    try:
        return serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except TypeError:
        # cryptography's TypeError here means a password-protected key.
        raise ChannelCredentialError(f"{what} is encrypted with a password: give the unencrypted key") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ChannelCredentialError(f"{what} is not {expected}") from None


def _pkcs8_pem(key: Any) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")


def parse_service_account(text: str) -> ServiceAccount:
    """A Firebase service-account file (Project settings > Service accounts > Generate new private key)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        position = f"line {error.lineno}, column {error.colno}: {error.msg}"
        raise ChannelCredentialError(f"the service account file is not JSON ({position})") from None
    if not isinstance(document, dict):
        raise ChannelCredentialError(f"the service account file is {_shown(document)}, not a JSON object")
    kind = document.get("type")
    if kind != "service_account":
        found = "has no type" if kind is None else f"has type {_shown(kind)}"
        raise ChannelCredentialError(
            f'the service account file {found}, not "service_account":'
            " download a service account key from the Firebase console"
        )
    missing = [
        name for name in SERVICE_ACCOUNT_FIELDS if not isinstance(document.get(name), str) or not document[name].strip()
    ]
    if missing:
        raise ChannelCredentialError(f"the service account file lacks {', '.join(missing)} (each a non-empty string)")
    key = _load_private_key(document["private_key"], "private_key of the service account file", "a PEM RSA private key")
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ChannelCredentialError(
            f"private_key of the service account file is {_key_kind(key)}, not a PEM RSA private key"
        )
    if key.key_size > MAX_RSA_KEY_BITS:
        raise ChannelCredentialError(
            f"private_key of the service account file is a {key.key_size}-bit RSA key;"
            f" at most {MAX_RSA_KEY_BITS} bits are accepted (Google issues 2048)"
        )
    return ServiceAccount(
        project_id=document["project_id"],
        client_email=document["client_email"],
        private_key_id=document["private_key_id"],
        private_key_pem=_pkcs8_pem(key),
    )


def parse_apns_key(text: str) -> str:
    """The PKCS#8 PEM of an APNs auth key (.p8): Apple's are always unencrypted P-256 keys."""
    labels = _PEM_LABEL.findall(text)
    if labels != ["PRIVATE KEY"]:
        if labels == ["EC PRIVATE KEY"]:
            hint = " (a SEC1 EC key: `openssl pkcs8 -topk8 -nocrypt -in KEY -out AuthKey.p8` converts it)"
        elif labels == ["ENCRYPTED PRIVATE KEY"]:
            hint = " (it is encrypted with a password: give the unencrypted .p8 Apple issued)"
        elif len(labels) > 1:
            hint = f" (it holds {len(labels)} PEM blocks, not one)"
        else:
            hint = " (an APNs .p8 file is one PEM block labelled PRIVATE KEY)"
        raise ChannelCredentialError("the APNs key file is not a PEM PKCS#8 private key" + hint)
    unreadable = "a PEM PKCS#8 private key (its PRIVATE KEY block cannot be read)"
    key = _load_private_key(text, "the APNs key file", unreadable)
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise ChannelCredentialError(
            f"the APNs key file holds {_key_kind(key)}, not an EC P-256 key (APNs tokens are signed with ES256)"
        )
    return _pkcs8_pem(key)


def _check_apple_id(value: str, what: str) -> str:
    if not isinstance(value, str) or not _APPLE_ID.fullmatch(value):
        raise ChannelCredentialError(f"the APNs {what} must be {APPLE_ID_LENGTH} letters or digits{_APPLE_ID_HINTS[what]}, got {_shown(value)}")
    return value


_APPLE_ID_HINTS = {"key id": " (the Key ID Apple shows with the key)", "team id": " (your Apple Developer Team ID)"}


def check_key_id(value: str) -> str:
    return _check_apple_id(value, "key id")


def check_team_id(value: str) -> str:
    return _check_apple_id(value, "team id")


def check_bundle_id(value: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_BUNDLE_ID_LENGTH or not _BUNDLE_ID.fullmatch(value):
        raise ChannelCredentialError(
            "the bundle id must be a reverse-DNS id such as com.example.app: letters, digits, hyphens and dots,"
            f" 1 to {MAX_BUNDLE_ID_LENGTH} characters, with a dot between parts; got {_shown(value)}"
        )
    return value


def check_environment(value: str) -> ApnsEnvironment:
    try:
        return ApnsEnvironment(value)
    except ValueError:
        choices = " or ".join(environment.value for environment in ApnsEnvironment)
        raise ChannelCredentialError(f"the APNs environment must be {choices}, got {_shown(value)}") from None


def parse_apns_credentials(
    key_text: str, key_id: str, team_id: str, bundle_id: str, environment: str
) -> ApnsCredentials:
    return ApnsCredentials(
        key_id=check_key_id(key_id),
        team_id=check_team_id(team_id),
        bundle_id=check_bundle_id(bundle_id),
        environment=check_environment(environment),
        private_key_pem=parse_apns_key(key_text),
    )


# -- the service -------------------------------------------------------------------------------


class ProviderChannelService:
    def __init__(
        self, repository: Repository, secrets: SecretStore, ssm_prefix: str, clock: Callable[[], float] = time.time
    ) -> None:
        self._repository = repository
        self._secrets = secrets
        self._prefix = ssm_prefix.rstrip("/")
        self._clock = clock

    def private_key_parameter(self, app_id: str, channel_id: str) -> str:
        return f"{self._prefix}/apps/{app_id}/channels/{channel_id}/private-key"

    def add_fcm(self, app_id: str, service_account_text: str) -> Channel:
        account = parse_service_account(service_account_text)
        public = {
            "fcm_project_id": account.project_id,
            "fcm_client_email": account.client_email,
            "fcm_private_key_id": account.private_key_id,
        }
        return self._add(app_id, ChannelType.FCM, account.private_key_pem, public)

    def add_apns(
        self,
        app_id: str,
        key_text: str,
        key_id: str,
        team_id: str,
        bundle_id: str,
        environment: str = ApnsEnvironment.PRODUCTION.value,
    ) -> Channel:
        credentials = parse_apns_credentials(key_text, key_id, team_id, bundle_id, environment)
        public = {
            "apns_key_id": credentials.key_id,
            "apns_team_id": credentials.team_id,
            "apns_bundle_id": credentials.bundle_id,
            "apns_environment": credentials.environment,
        }
        return self._add(app_id, ChannelType.APNS, credentials.private_key_pem, public)

    def list(self, app_id: str) -> list[Channel]:
        """Every channel of the app, webpush first."""
        self._require_app(app_id)
        channels = self._repository.list_channels(app_id)
        return sorted(channels, key=lambda channel: (_LISTING_ORDER[channel.type], channel.created_at))

    def remove(self, app_id: str, channel_id: str) -> Channel:
        """The row first, then its key: a key without a row is harmless, a row without its key
        would fail every delivery through it."""
        self._require_app(app_id)
        channel = self._find(app_id, channel_id)
        if channel is None:
            raise self._unknown_channel(app_id, channel_id)
        if channel.type is ChannelType.WEBPUSH:
            raise ChannelCredentialError(
                f"channel {channel.channel_id} is app {app_id}'s webpush channel: it cannot be removed,"
                " every web subscription of the app is delivered through it"
            )
        if not self._repository.remove_channel(channel):
            raise self._unknown_channel(app_id, channel_id)  # removed by someone else meanwhile
        if channel.private_key_parameter:
            self._secrets.delete_secret(channel.private_key_parameter)
        return channel

    # -- helpers ---------------------------------------------------------------------------

    def _add(self, app_id: str, channel_type: ChannelType, private_key_pem: str, public: dict[str, Any]) -> Channel:
        self._require_app(app_id)
        existing = self._channel_of_type(app_id, channel_type)
        if existing is not None:
            raise self._already_has(app_id, channel_type, existing.channel_id)
        channel_id = identifiers.new_channel_id()
        parameter = self.private_key_parameter(app_id, channel_id)
        channel = Channel(
            channel_id=channel_id,
            app_id=app_id,
            type=channel_type,
            created_at=int(self._clock()),
            private_key_parameter=parameter,
            **public,
        )
        self._secrets.put_secret(parameter, private_key_pem)
        try:
            self._repository.add_channel(channel)
        except ConditionFailed:
            # Another add of the same provider won the race between our check and our write.
            self._secrets.delete_secret(parameter)
            winner = self._channel_of_type(app_id, channel_type)
            raise self._already_has(app_id, channel_type, winner.channel_id if winner else None) from None
        except BaseException:
            self._secrets.delete_secret(parameter)
            raise
        return channel

    def _require_app(self, app_id: str) -> None:
        if not app_id or self._repository.get_app(app_id) is None:
            raise ChannelCredentialError(f"no app {_shown(app_id)}")

    def _channel_of_type(self, app_id: str, channel_type: ChannelType) -> Channel | None:
        return next((c for c in self._repository.list_channels(app_id) if c.type is channel_type), None)

    def _find(self, app_id: str, channel_id: str) -> Channel | None:
        try:
            # Channel ids are lower-case UUIDs; anything else cannot name one.
            normalised = str(uuid.UUID(channel_id))
        except (ValueError, TypeError, AttributeError):
            return None
        return self._repository.get_channel(app_id, normalised)

    @staticmethod
    def _already_has(app_id: str, channel_type: ChannelType, channel_id: str | None) -> ChannelCredentialError:
        if channel_id is None:
            return ChannelCredentialError(
                f"app {app_id} was given another {channel_type.value} channel at the same time:"
                " list its channels and retry"
            )
        return ChannelCredentialError(
            f"app {app_id} already has an {channel_type.value} channel ({channel_id}); an app has one per provider:"
            f" `pushgate channel remove --app {app_id} --channel {channel_id}` first"
        )

    @staticmethod
    def _unknown_channel(app_id: str, channel_id: str) -> ChannelCredentialError:
        return ChannelCredentialError(
            f"app {app_id} has no channel {_shown(channel_id)} (`pushgate channel list --app {app_id}` shows them)"
        )
