"""The APNs tests' world: a test CA, a P-256 provider key, the fake APNs served over real TLS and
HTTP/2 on loopback (a sandbox one started when a test asks for it), a clock the sender and the fake
share (the fake's may run ahead, as Apple's may), and an ApnsTransport wired to all of it."""

from __future__ import annotations

import json
import secrets
import ssl
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.delivery.apns.transport import ApnsTransport
from pushgate.delivery.outcomes import DeliveryOutcome
from pushgate.delivery.transport.h2_transport import H2Transport
from pushgate.identifiers import token_hash
from pushgate.models import ApnsEnvironment, Channel, ChannelType
from pushgate.pushes import DeliveryTarget, Push
from pushgate_local.fakes.apns import FakeApns
from pushgate_local.fakes.server import TestCertificateAuthority, TlsServer

TEAM_ID = "TEAM123456"
KEY_ID = "KEY1234567"
BUNDLE_ID = "com.example.pushgate"
APP_ID = "app_0123456789abcdef"
CHANNEL_ID = "3f1c0b7e-apns-channel"
KEY_PARAMETER = "/pushgate/test/apns/provider-key"
PUSH_ID = "p" * 26


@dataclass(frozen=True)
class ProviderKey:
    private_pem: str = field(repr=False)
    public_pem: str


def new_provider_key() -> ProviderKey:
    key = ec.generate_private_key(ec.SECP256R1())
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return ProviderKey(private_pem.decode(), public_pem.decode())


def new_device_token(size: int = 32) -> str:
    return secrets.token_hex(size)


class Clock:
    """Seconds since the epoch, moved by hand. `ahead` is how far the fake's clock (Apple's) runs
    in front of the sender's."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.ahead = 0.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def apple(self) -> float:
        return self.now + self.ahead


class Channels:
    """The one repository method the transport uses, counting its reads."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], Channel] = {}
        self.reads = 0

    def get_channel(self, app_id: str, channel_id: str) -> Channel | None:
        self.reads += 1
        return self.rows.get((app_id, channel_id))


def sign_provider_token(private_pem: str, team_id: str = TEAM_ID, key_id: str = KEY_ID, issued_at: float = 0, algorithm: str = "ES256") -> str:
    return jwt.encode({"iss": team_id, "iat": int(issued_at)}, private_pem, algorithm=algorithm, headers={"kid": key_id, "typ": None})


class Apns:
    """Everything a test needs, built per test."""

    def __init__(self, ca: TestCertificateAuthority, key: ProviderKey, clock: Clock, deadline_seconds: float = 10.0) -> None:
        self.ca, self.key, self.clock = ca, key, clock
        self.fake, self.server = self._start_fake()
        self._sandbox: tuple[FakeApns, TlsServer] | None = None
        self.channels = Channels()
        self.secrets: dict[str, str] = {KEY_PARAMETER: key.private_pem}
        self.http = H2Transport(ca_file=str(ca.ca_file), connect_timeout=5.0, read_timeout=10.0)
        self._raw: httpx.Client | None = None
        self._tokens: dict[int, str] = {}
        self.add_channel()
        self.transport = self.make_transport(deadline_seconds)

    def _start_fake(self) -> tuple[FakeApns, TlsServer]:
        fake = FakeApns(clock=self.clock.apple)
        fake.register_key(TEAM_ID, KEY_ID, self.key.public_pem)
        fake.allow_topic(BUNDLE_ID)
        return fake, TlsServer(fake, self.ca).start()

    @property
    def sandbox(self) -> FakeApns:
        if self._sandbox is None:
            self._sandbox = self._start_fake()
        return self._sandbox[0]

    @property
    def urls(self) -> dict[str, str]:
        sandbox_url = self._sandbox[1].url if self._sandbox else "https://127.0.0.1:9"  # port 9 (discard): nothing answers
        return {"apns": self.server.url, "apns-sandbox": sandbox_url}

    def make_transport(self, deadline_seconds: float = 10.0) -> ApnsTransport:
        return ApnsTransport(self.channels, self.secrets.__getitem__, self.http, self.urls, clock=self.clock, deadline_seconds=deadline_seconds)

    def add_channel(self, channel_id: str = CHANNEL_ID, environment: ApnsEnvironment = ApnsEnvironment.PRODUCTION, **fields: Any) -> Channel:
        row = {
            "channel_id": channel_id,
            "app_id": APP_ID,
            "type": ChannelType.APNS,
            "created_at": 1_700_000_000,
            "apns_key_id": KEY_ID,
            "apns_team_id": TEAM_ID,
            "apns_bundle_id": BUNDLE_ID,
            "apns_environment": environment,
            "private_key_parameter": KEY_PARAMETER,
            **fields,
        }
        channel = Channel(**row)
        self.channels.rows[(APP_ID, channel_id)] = channel
        return channel

    def push(
        self,
        notification: dict[str, Any] | None = None,
        data: Any = None,
        urgency: str = "normal",
        collapse_key: str | None = None,
        push_id: str = PUSH_ID,
    ) -> Push:
        fields: dict[str, Any] = {"id": push_id}
        if notification is not None:
            fields["notification"] = notification
        if data is not None:
            fields["data"] = data
        return Push(
            push_id=push_id,
            app_id=APP_ID,
            created_at=int(self.clock()),
            time_to_live=86_400,
            urgency=urgency,
            collapse_key=collapse_key,
            payload=json.dumps(fields),
        )

    @staticmethod
    def target(token: str | None = None, device_type: str = "ios", channel_id: str | None = CHANNEL_ID) -> DeliveryTarget:
        token = token or new_device_token()
        return DeliveryTarget(token_hash=token_hash(token), token=token, type=device_type, channel_id=channel_id)

    def send(self, push: Push, targets: Sequence[DeliveryTarget], ttl: int = 3600) -> list[DeliveryOutcome]:
        return self.transport.send(push, targets, ttl)

    # --- requests built by hand, to show the fake's checks --------------------------------------

    def good_request(self, token: str | None = None) -> dict[str, Any]:
        """The parts of a request the fake accepts; a test changes one of them."""
        return {
            "method": "POST",
            "path": f"/3/device/{token or new_device_token()}",
            "headers": {
                "authorization": f"bearer {self.provider_token()}",
                "apns-topic": BUNDLE_ID,
                "apns-push-type": "alert",
                "apns-priority": "10",
                "apns-expiration": "0",
                "apns-id": "6e1f7c1a-2b3c-4d5e-8f90-a1b2c3d4e5f6",
            },
            "body": {"aps": {"alert": {"title": "Hi", "body": "there"}}, "id": PUSH_ID},
        }

    def provider_token(self, **overrides: Any) -> str:
        """Signed once per moment and reused, as a sender must: a new token every request would be
        TooManyProviderTokenUpdates. With overrides, a token of its own."""
        if overrides:
            return sign_provider_token(**({"private_pem": self.key.private_pem, "issued_at": self.clock()} | overrides))
        if int(self.clock()) not in self._tokens:
            self._tokens[int(self.clock())] = sign_provider_token(self.key.private_pem, issued_at=self.clock())
        return self._tokens[int(self.clock())]

    def raw(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | list[tuple[str, str]],
        body: Any,
        http2: bool = True,
        new_connection: bool = False,
    ) -> httpx.Response:
        """One request as built, over HTTP/2 (or HTTP/1.1), to the production fake; on the
        harness's one HTTP/2 connection unless asked for a new one."""
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        shared = http2 and not new_connection
        client = self._raw_client() if shared else self._new_client(http2=http2)
        try:
            return client.request(method, self.server.url + path, headers=headers, content=content)
        finally:
            if not shared:
                client.close()

    def _raw_client(self) -> httpx.Client:
        if self._raw is None:
            self._raw = self._new_client(http2=True)
        return self._raw

    def _new_client(self, http2: bool) -> httpx.Client:
        context = ssl.create_default_context(cafile=str(self.ca.ca_file))
        return httpx.Client(http1=not http2, http2=http2, verify=context, timeout=5.0, trust_env=False)

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
        self.http.close()
        self.server.stop()
        if self._sandbox is not None:
            self._sandbox[1].stop()


@pytest.fixture(scope="session")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority()


@pytest.fixture(scope="session")
def provider_key() -> ProviderKey:
    return new_provider_key()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def apns(ca: TestCertificateAuthority, provider_key: ProviderKey, clock: Clock) -> Iterator[Apns]:
    harness = Apns(ca, provider_key, clock)
    try:
        yield harness
    finally:
        harness.close()
