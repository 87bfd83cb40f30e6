"""The local stack's native providers: the fake FCM (with its OAuth token endpoint) and the fake
APNs, each a real HTTP/2 server over TLS on loopback with a CA made at start, and the demo app's
fcm and apns channels whose keys they know.

The senders reach the fakes only because the local stack deploys the template with ProviderUrls
and ProviderCaFile pointing at them, as any deployment could; production leaves both empty."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from pushgate.models import ChannelType
from pushgate.services.provider_channels import ProviderChannelService

from pushgate_local.fakes.apns import FakeApns
from pushgate_local.fakes.fcm import FakeFcm
from pushgate_local.fakes.server import TestCertificateAuthority, TlsServer

DEMO_SERVICE_ACCOUNT_FILE = "demo-fcm-service-account.json"
DEMO_APNS_KEY_FILE = "demo-apns-AuthKey.p8"
DEMO_FCM_PROJECT = "pushgate-demo"
DEMO_APNS_KEY_ID = "DEMOKEY001"
DEMO_APNS_TEAM_ID = "DEMOTEAM01"
DEMO_BUNDLE_ID = "com.example.pushgate.demo"


@dataclass(frozen=True)
class DemoKeys:
    """The demo app's provider credentials, kept in the data directory like demo.json."""

    service_account: dict[str, Any]
    apns_key_pem: str

    @property
    def service_account_public_pem(self) -> str:
        return _public_pem(serialization.load_pem_private_key(self.service_account["private_key"].encode(), password=None))

    @property
    def apns_public_pem(self) -> str:
        return _public_pem(serialization.load_pem_private_key(self.apns_key_pem.encode(), password=None))


def _public_pem(private_key: Any) -> str:
    return private_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _private_pem(private_key: Any) -> str:
    return private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def _write_secret_file(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")
    os.chmod(path, 0o600)


def demo_keys(data_dir: Path) -> DemoKeys:
    """The keys of an earlier start, or new ones: a Google-shaped service-account file and an
    Apple-shaped .p8 key, for the fakes only (no real provider knows them)."""
    account_path, key_path = data_dir / DEMO_SERVICE_ACCOUNT_FILE, data_dir / DEMO_APNS_KEY_FILE
    if not account_path.exists():
        account = {
            "type": "service_account",
            "project_id": DEMO_FCM_PROJECT,
            "private_key_id": secrets.token_hex(20),
            "private_key": _private_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)),
            "client_email": f"pushgate-demo@{DEMO_FCM_PROJECT}.iam.gserviceaccount.com",
            "client_id": str(secrets.randbelow(10**20)),
            "token_uri": "https://oauth2.googleapis.com/token",
        }
        _write_secret_file(account_path, json.dumps(account, indent=2) + "\n")
    if not key_path.exists():
        _write_secret_file(key_path, _private_pem(ec.generate_private_key(ec.SECP256R1())))
    return DemoKeys(json.loads(account_path.read_text(encoding="utf-8")), key_path.read_text(encoding="utf-8"))


class ChannelKeys:
    """What a real provider knows from its console: the public half of every fcm and apns channel's
    key. The fakes ask for a key they have not seen, so channels added on the local stack with
    `pushgate channel add` are delivered to as the demo app's are. Local only: it scans the table."""

    def __init__(self, dynamodb: Any, ssm: Any, table_name: str, fakes: FakeProviders) -> None:
        self._dynamodb, self._ssm, self._table, self._fakes = dynamodb, ssm, table_name, fakes

    def _channels(self, **matching: str) -> list[dict[str, Any]]:
        names = {f"#{name}": name for name in ("entity", *matching)}
        values = {":entity": {"S": "Channel"}, **{f":{name}": {"S": value} for name, value in matching.items()}}
        condition = " AND ".join(f"#{name} = :{name}" for name in ("entity", *matching))
        pages = self._dynamodb.get_paginator("scan").paginate(
            TableName=self._table, FilterExpression=condition, ExpressionAttributeNames=names, ExpressionAttributeValues=values
        )
        return [{name: next(iter(value.values())) for name, value in item.items()} for page in pages for item in page["Items"]]

    def _public_pem(self, parameter: str) -> str | None:
        try:
            private = self._ssm.get_parameter(Name=parameter, WithDecryption=True)["Parameter"]["Value"]
            return _public_pem(serialization.load_pem_private_key(private.encode(), password=None))
        except Exception:  # noqa: BLE001 - a missing or unreadable key is simply not known to the fake
            return None

    def resolve_apns(self, team_id: str, key_id: str) -> bool:
        found = False
        for channel in self._channels(apns_team_id=team_id, apns_key_id=key_id):
            if (pem := self._public_pem(channel["private_key_parameter"])) is not None:
                self._fakes.apns.register_key(team_id, key_id, pem)
                self._fakes.apns.allow_topic(channel["apns_bundle_id"])
                found = True
        return found

    def resolve_fcm(self, client_email: str) -> bool:
        for channel in self._channels(fcm_client_email=client_email):
            if (pem := self._public_pem(channel["private_key_parameter"])) is not None:
                self._fakes.fcm.register_service_account(channel["fcm_project_id"], client_email, pem, channel.get("fcm_private_key_id"))
                return True
        return False


class FakeProviders:
    """Both fakes, started before the functions so that their URLs go into the deployment."""

    def __init__(self, data_dir: Path, fcm_port: int = 0, apns_port: int = 0) -> None:
        self.ca = TestCertificateAuthority(data_dir / "fake-providers")
        self.fcm = FakeFcm()
        self.apns = FakeApns()
        self._fcm_server = TlsServer(self.fcm, self.ca, fcm_port)
        self._apns_server = TlsServer(self.apns, self.ca, apns_port)

    @property
    def fcm_url(self) -> str:
        return self._fcm_server.url

    @property
    def apns_url(self) -> str:
        return self._apns_server.url

    def start(self) -> None:
        self._fcm_server.start()
        self._apns_server.start()

    def stop(self) -> None:
        self._fcm_server.stop()
        self._apns_server.stop()

    def parameter_overrides(self) -> dict[str, str]:
        """The template parameters that point the FCM and APNs senders here."""
        urls = {
            "fcm": self.fcm_url,
            "fcm-token": f"{self.fcm_url}/token",
            "apns": self.apns_url,
            "apns-sandbox": self.apns_url,
        }
        return {"ProviderUrls": ",".join(f"{name}={url}" for name, url in urls.items()), "ProviderCaFile": str(self.ca.ca_file)}

    def learn_from(self, channel_keys: ChannelKeys) -> None:
        self.apns.key_resolver = channel_keys.resolve_apns
        self.fcm.account_resolver = channel_keys.resolve_fcm

    def know(self, keys: DemoKeys) -> None:
        account = keys.service_account
        self.fcm.register_service_account(account["project_id"], account["client_email"], keys.service_account_public_pem, account["private_key_id"])
        self.apns.register_key(DEMO_APNS_TEAM_ID, DEMO_APNS_KEY_ID, keys.apns_public_pem)
        self.apns.allow_topic(DEMO_BUNDLE_ID)


def ensure_demo_channels(channels: ProviderChannelService, app_id: str, keys: DemoKeys) -> dict[str, str]:
    """The demo app's fcm and apns channels (made once, kept with the rest of the local data)."""
    existing = {channel.type: channel for channel in channels.list(app_id)}
    if ChannelType.FCM not in existing:
        existing[ChannelType.FCM] = channels.add_fcm(app_id, json.dumps(keys.service_account))
    if ChannelType.APNS not in existing:
        existing[ChannelType.APNS] = channels.add_apns(
            app_id, keys.apns_key_pem, DEMO_APNS_KEY_ID, DEMO_APNS_TEAM_ID, DEMO_BUNDLE_ID, environment="sandbox"
        )
    return {provider.value: existing[provider].channel_id for provider in (ChannelType.FCM, ChannelType.APNS)}
