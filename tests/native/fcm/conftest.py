"""Fixtures of the FCM tests: one test CA for the session, a fresh fake FCM + OAuth server per
test on a loopback TLS port, service-account keys, a channel store and a secret store like the
sender's, and a `wire` for requests built by hand (right or deliberately wrong)."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pushgate.delivery.fcm.oauth import GRANT_TYPE, SCOPE, ServiceAccount
from pushgate.delivery.fcm.transport import FcmTransport
from pushgate.delivery.transport.h2_transport import H2Transport
from pushgate.delivery.transport.http2 import tls_context
from pushgate.models import Channel, ChannelType
from pushgate.pushes import DeliveryTarget, Push
from pushgate_local.fakes.fcm import FakeFcm
from pushgate_local.fakes.server import TestCertificateAuthority, TlsServer

APP_ID = "app_0123456789abcdef"


@dataclass(frozen=True)
class KeyPair:
    private_pem: str = field(repr=False)
    public_pem: str


def new_key_pair() -> KeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return KeyPair(private, public)


@dataclass(frozen=True)
class Project:
    """A Firebase project with its service account, registered with the fake."""

    project_id: str
    client_email: str
    private_key_id: str
    keys: KeyPair
    channel_id: str

    @property
    def account(self) -> ServiceAccount:
        return ServiceAccount(self.project_id, self.client_email, self.private_key_id, self.keys.private_pem)

    @property
    def secret_name(self) -> str:
        return f"/pushgate/test/channels/{self.channel_id}/private-key"

    def channel(self) -> Channel:
        return Channel(channel_id=self.channel_id, app_id=APP_ID, type=ChannelType.FCM, created_at=0,
                       fcm_project_id=self.project_id, fcm_client_email=self.client_email,
                       fcm_private_key_id=self.private_key_id, private_key_parameter=self.secret_name)


class Channels:
    """The repository's get_channel, counting reads (the transport caches channels per container)."""

    def __init__(self, *projects: Project) -> None:
        self.channels = {project.channel_id: project.channel() for project in projects}
        self.reads = 0

    def get_channel(self, app_id: str, channel_id: str) -> Channel | None:
        self.reads += 1
        channel = self.channels.get(channel_id)
        return channel if channel is not None and channel.app_id == app_id else None


class Secrets:
    def __init__(self, *projects: Project) -> None:
        self.values = {project.secret_name: project.keys.private_pem for project in projects}

    def __call__(self, name: str) -> str:
        return self.values[name]


def make_push(payload: dict[str, Any] | None = None, push_id: str = "p0123456789abcdefghijklmn", urgency: str = "normal",
              collapse_key: str | None = None) -> Push:
    fields = {"notification": {"title": "Hello", "body": "World"}} if payload is None else payload
    return Push(push_id=push_id, app_id=APP_ID, created_at=int(time.time()), time_to_live=3600, urgency=urgency,
                collapse_key=collapse_key, payload=json.dumps({"id": push_id, **fields}))


def target(token: str, channel_id: str | None) -> DeliveryTarget:
    return DeliveryTarget(token_hash=f"h-{token}"[:32], token=token, type="android", channel_id=channel_id)


@pytest.fixture(scope="session")
def ca() -> TestCertificateAuthority:
    return TestCertificateAuthority()


@pytest.fixture(scope="session")
def keys() -> KeyPair:
    return new_key_pair()


@pytest.fixture(scope="session")
def other_keys() -> KeyPair:
    return new_key_pair()


@pytest.fixture
def fake() -> FakeFcm:
    return FakeFcm()


@pytest.fixture
def server(fake: FakeFcm, ca: TestCertificateAuthority) -> Iterator[TlsServer]:
    with TlsServer(fake, ca) as running:
        yield running


@pytest.fixture
def urls(server: TlsServer) -> dict[str, str]:
    return {"fcm": server.url, "fcm-token": f"{server.url}/token"}


@pytest.fixture
def project(fake: FakeFcm, keys: KeyPair) -> Project:
    registered = Project("pushgate-test", "sender@pushgate-test.iam.gserviceaccount.com", "key-1", keys, "channel-fcm-1")
    fake.register_service_account(registered.project_id, registered.client_email, keys.public_pem, registered.private_key_id)
    return registered


@pytest.fixture
def other_project(fake: FakeFcm, other_keys: KeyPair) -> Project:
    registered = Project("other-project", "sender@other-project.iam.gserviceaccount.com", "key-9", other_keys, "channel-fcm-2")
    fake.register_service_account(registered.project_id, registered.client_email, other_keys.public_pem, registered.private_key_id)
    return registered


@pytest.fixture
def http(ca: TestCertificateAuthority, server: TlsServer) -> Iterator[H2Transport]:
    # Depends on the server so that it closes first: the server then stops with no connection open.
    transport = H2Transport(ca_file=str(ca.ca_file), connect_timeout=2.0, read_timeout=5.0)
    yield transport
    transport.close()


@pytest.fixture
def make_transport(http: H2Transport, urls: dict[str, str]):
    def build(*projects: Project, deadline_seconds: float = 10.0, channels: Channels | None = None) -> FcmTransport:
        return FcmTransport(channels or Channels(*projects), Secrets(*projects), http, urls, deadline_seconds=deadline_seconds)

    return build


class Wire:
    """Requests built by hand against the fake, over HTTP/2 (or HTTP/1.1 when asked)."""

    def __init__(self, url: str, ca: TestCertificateAuthority) -> None:
        self.url = url
        self.token_url = f"{url}/token"
        self.h2 = httpx.Client(http1=False, http2=True, verify=tls_context(str(ca.ca_file)), timeout=5.0)
        self.h1 = httpx.Client(http1=True, http2=False, verify=ssl.create_default_context(cafile=str(ca.ca_file)), timeout=5.0)

    def assertion(self, project: Project, *, key: str | None = None, algorithm: str = "RS256", kid: str | None = "default",
                  drop: tuple[str, ...] = (), **claims: Any) -> str:
        now = int(time.time())
        payload = {"iss": project.client_email, "scope": SCOPE, "aud": self.token_url, "iat": now, "exp": now + 3600, **claims}
        for name in drop:
            payload.pop(name)
        headers = {"kid": project.private_key_id if kid == "default" else kid} if kid else None
        return jwt.encode(payload, key or project.keys.private_pem, algorithm=algorithm, headers=headers)

    def token_answer(self, assertion: str, grant_type: str = GRANT_TYPE,
                     content_type: str = "application/x-www-form-urlencoded") -> httpx.Response:
        body = urlencode({"grant_type": grant_type, "assertion": assertion})
        return self.h2.post(self.token_url, content=body, headers={"content-type": content_type})

    def access_token(self, project: Project) -> str:
        answer = self.token_answer(self.assertion(project))
        assert answer.status_code == 200, answer.text
        return answer.json()["access_token"]

    def send(self, project_id: str, body: Any, token: str | None, *, http1: bool = False,
             content_type: str = "application/json") -> httpx.Response:
        headers = {"content-type": content_type}
        if token is not None:
            headers["authorization"] = f"Bearer {token}"
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        client = self.h1 if http1 else self.h2
        return client.post(f"{self.url}/v1/projects/{project_id}/messages:send", content=raw, headers=headers)

    def close(self) -> None:
        self.h2.close()
        self.h1.close()


@pytest.fixture
def wire(server: TlsServer, ca: TestCertificateAuthority) -> Iterator[Wire]:
    client = Wire(server.url, ca)
    yield client
    client.close()


def good_message(token: str = "device-token-1") -> dict[str, Any]:
    android = {"ttl": "3600s", "priority": "HIGH", "collapse_key": "c", "notification": {"icon": "i", "click_action": "u"}}
    return {"message": {"token": token, "notification": {"title": "t", "body": "b"}, "data": {"id": "p1", "k": "v"}, "android": android}}


def google_error(answer: httpx.Response) -> dict[str, Any]:
    """The error object of a Google-shaped error answer; fails the test if the shape is not Google's."""
    body = answer.json()
    error = body["error"]
    assert set(error) <= {"code", "message", "status", "details"} and error["code"] == answer.status_code
    return error
