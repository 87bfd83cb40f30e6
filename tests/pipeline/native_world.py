"""The native senders' world under moto: the demo app with an fcm and an apns channel added the way
`pushgate channel add` adds them (the private keys in moto's SSM), a fake FCM and a fake APNs over
TLS and HTTP/2 on loopback with a test CA, bob with one device of each native type, and the real
handler modules: POST /push, fan-out, GET /pushes/{id}, GET /devices/{token} and the two senders.

Each sender is imported the first time a test runs it, with its own queue and dead-letter queue in
DELIVERY_QUEUE_URL / DELIVERY_DLQ_URL as its Lambda has them, so that a test may first lower
wiring.NATIVE_SEND_DEADLINE_SECONDS. Everything a test checks is read where it lands: what the fakes
received, what the senders handed SQS (each sender's own boto3 client, watched), the push's counts
and the devices' status through the API handlers."""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from types import ModuleType
from typing import Any

import pytest
from aws_lambda_powertools.utilities import parameters
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pushgate import config, wiring
from pushgate.delivery.transport import h2_transport
from pushgate.models import Caller, ChannelType, DeviceType
from pushgate.secret_store import SsmSecretStore
from pushgate.services.provider_channels import ProviderChannelService
from pushgate.services.subscriptions import Registration
from pushgate_local.fakes import apns as fake_apns
from pushgate_local.fakes import fcm as fake_fcm
from pushgate_local.fakes.server import Receive, Scope, Send, TestCertificateAuthority, TlsServer
from tests.pipeline.conftest import bodies, drain, receive, sqs_event
from tests.pipeline.test_pipeline import http_event

PROJECT_ID = "demo-project"
CLIENT_EMAIL = "firebase-adminsdk@demo-project.iam.gserviceaccount.com"
PRIVATE_KEY_ID = "0123456789abcdef0123456789abcdef01234567"
TEAM_ID = "TEAM123456"
KEY_ID = "ABCDE12345"
BUNDLE_ID = "com.example.demo"
NOTHING_LISTENS = "https://127.0.0.1:9"  # the sandbox: the demo channel is production, nothing may go there

IOS_TOKEN = "0a" * 32
VOIP_TOKEN = "0b" * 32
ANDROID_TOKEN = "android-registration-token:APA91b-bob"
FCM_TOKEN = "fcm-registration-token:APA91c-bob"
BOB = {DeviceType.IOS: IOS_TOKEN, DeviceType.IOS_VOIP: VOIP_TOKEN, DeviceType.ANDROID: ANDROID_TOKEN, DeviceType.FCM: FCM_TOKEN}


@dataclass(frozen=True)
class SenderWiring:
    handler: str  # functions/<handler>/app.py
    queue: str  # template.yaml's queue names
    dead_letter_queue: str
    tokens: tuple[str, str]  # bob's devices it delivers to


SENDERS = {
    ChannelType.FCM: SenderWiring("fcm_sender", "FcmDeliveryQueue", "FcmDeliveryDeadLetterQueue", (ANDROID_TOKEN, FCM_TOKEN)),
    ChannelType.APNS: SenderWiring("apns_sender", "ApnsDeliveryQueue", "ApnsDeliveryDeadLetterQueue", (IOS_TOKEN, VOIP_TOKEN)),
}


class Trouble(StrEnum):
    """What a provider may do to one token; each fake says it in its provider's words."""

    UNREGISTERED = "unregistered"  # FCM 404 UNREGISTERED, APNs 410 Unregistered
    FORBIDDEN = "forbidden"  # FCM 403 SENDER_ID_MISMATCH, APNs 403 InvalidProviderToken
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    STALL = "stall"  # no answer at all


FCM_TROUBLE = {
    Trouble.UNREGISTERED: fake_fcm.Behaviour.UNREGISTERED,
    Trouble.FORBIDDEN: fake_fcm.Behaviour.SENDER_ID_MISMATCH,
    Trouble.RATE_LIMITED: fake_fcm.Behaviour.QUOTA,
    Trouble.STALL: fake_fcm.Behaviour.STALL,
}
APNS_TROUBLE = {
    Trouble.UNREGISTERED: fake_apns.Behaviour.UNREGISTERED,
    Trouble.FORBIDDEN: fake_apns.Behaviour.FORBIDDEN,
    Trouble.RATE_LIMITED: fake_apns.Behaviour.TOO_MANY_REQUESTS,
    Trouble.STALL: fake_apns.Behaviour.STALL,
}


# -- key material, made once per session (an RSA key takes a while) ----------------------------------


@functools.cache
def fcm_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@functools.cache
def apns_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def private_pem(key: Any) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def public_pem(key: Any) -> str:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def service_account_file() -> str:
    """What the Firebase console hands out, as an operator gives it to `pushgate channel add fcm`."""
    return json.dumps({
        "type": "service_account",
        "project_id": PROJECT_ID,
        "private_key_id": PRIVATE_KEY_ID,
        "private_key": private_pem(fcm_key()),
        "client_email": CLIENT_EMAIL,
        "token_uri": "https://oauth2.googleapis.com/token",
    })


# -- instruments ------------------------------------------------------------------------------------


class SlowToAnswer:
    """ASGI in front of a fake: holds each notification request `seconds` before the fake sees it,
    as a provider under load answers late. The OAuth token endpoint and the fakes' own /_fake
    endpoints are not held."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Any]) -> None:
        self.app = app
        self.seconds = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        held = scope["type"] == "http" and not scope["path"].startswith(("/_fake/", "/token"))
        if held and self.seconds:
            await asyncio.sleep(self.seconds)
        await self.app(scope, receive, send)


class SqsSends:
    """The SendMessageBatch entries of the watched boto3 clients, per queue URL, as SQS got them."""

    def __init__(self) -> None:
        self._entries: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
        self._watched: set[int] = set()
        self._lock = threading.Lock()  # a sender's messages are processed on threads of their own

    def watch(self, client: Any) -> None:
        if id(client) not in self._watched:
            self._watched.add(id(client))
            client.meta.events.register("provide-client-params.sqs.SendMessageBatch", self._record)

    def _record(self, params: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self._entries[params["QueueUrl"]].extend(copy.deepcopy(params["Entries"]))

    def entries(self, queue_url: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._entries[queue_url])


# -- the world ----------------------------------------------------------------------------------------


@dataclass
class NativeWorld:
    aws: dict[str, Any]
    queues: dict[str, str]
    pushgate: Any
    demo_app: Any
    import_handler: Callable[[str], ModuleType]
    monkeypatch: pytest.MonkeyPatch
    ca: TestCertificateAuthority
    lambda_context: Any
    fcm: fake_fcm.FakeFcm = field(default_factory=fake_fcm.FakeFcm)
    apns: fake_apns.FakeApns = field(default_factory=fake_apns.FakeApns)
    sqs_sends: SqsSends = field(default_factory=SqsSends)
    slow: dict[ChannelType, SlowToAnswer] = field(default_factory=dict)
    _servers: list[TlsServer] = field(default_factory=list)
    _transports: list[h2_transport.H2Transport] = field(default_factory=list)
    _handlers: dict[str, ModuleType] = field(default_factory=dict)

    def start(self) -> NativeWorld:
        parameters.clear_caches()  # values and the SSM client: read from this moto account only
        self._record_http2_transports()
        self.fcm.register_service_account(PROJECT_ID, CLIENT_EMAIL, public_pem(fcm_key()), PRIVATE_KEY_ID)
        self.apns.register_key(TEAM_ID, KEY_ID, public_pem(apns_key()))
        self.apns.allow_topic(BUNDLE_ID)
        fcm_url = self._serve(ChannelType.FCM, self.fcm)
        apns_url = self._serve(ChannelType.APNS, self.apns)
        urls = f"fcm={fcm_url},fcm-token={fcm_url}/token,apns={apns_url},apns-sandbox={NOTHING_LISTENS}"
        self.monkeypatch.setenv("PUSHGATE_PROVIDER_URLS", urls)
        self.monkeypatch.setenv("PUSHGATE_PROVIDER_CA_FILE", str(self.ca.ca_file))
        config.settings.cache_clear()
        self._add_channels()
        bob = Caller(app=self.demo_app.app, user_id="bob")
        for device_type, token in BOB.items():
            registration = Registration(type=device_type, token=token, device_id=f"bob-{device_type.value}")
            self.pushgate.subscriptions.subscribe_device(bob, registration)
        for name in ("send_push", "get_push", "get_device", "fanout"):
            self._handlers[name] = self.import_handler(name)
        return self

    def stop(self) -> None:
        # Clients first: a server then stops with no connection open.
        for transport in self._transports:
            transport.close()
        for server in self._servers:
            server.stop()
        parameters.clear_caches()

    def _serve(self, provider: ChannelType, fake: Any) -> str:
        self.slow[provider] = SlowToAnswer(fake)
        server = TlsServer(self.slow[provider], self.ca).start()
        self._servers.append(server)
        return server.url

    def _record_http2_transports(self) -> None:
        """The senders' transports live as long as their containers; here, as long as the test."""
        opened = self._transports

        class Recorded(h2_transport.H2Transport):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                opened.append(self)

        self.monkeypatch.setattr(h2_transport, "H2Transport", Recorded)

    def _add_channels(self) -> None:
        service = ProviderChannelService(self.pushgate.repository, SsmSecretStore(self.aws["ssm"]), self.pushgate.settings.ssm_prefix)
        app_id = self.demo_app.app.app_id
        service.add_fcm(app_id, service_account_file())
        service.add_apns(app_id, private_pem(apns_key()), KEY_ID, TEAM_ID, BUNDLE_ID, "production")

    # -- the providers ------------------------------------------------------------------------------

    def misbehave(self, provider: ChannelType, token: str, trouble: Trouble, retry_after: int | None = None) -> None:
        if provider is ChannelType.FCM:
            if retry_after is not None:
                self.fcm.retry_after = retry_after  # the fake's one Retry-After for QUOTA_EXCEEDED
            self.fcm.set_token_behaviour(token, FCM_TROUBLE[trouble])
        else:
            self.apns.set_behaviour(token, APNS_TROUBLE[trouble], retry_after=retry_after)

    def received_tokens(self, provider: ChannelType, push_id: str | None = None) -> list[str]:
        """The device tokens of the notifications the provider accepted (of one push, if given), sorted."""
        if provider is ChannelType.FCM:
            messages = [m["message"] for m in self.fcm.received()]
            return sorted(m["token"] for m in messages if push_id is None or m["data"]["id"] == push_id)
        return sorted(n.token for n in self.apns.received() if push_id is None or n.payload["id"] == push_id)

    # -- the pipeline -------------------------------------------------------------------------------

    def post_push(self, body: dict[str, Any]) -> str:
        event = http_event("POST", "/push", "/push", f"api_key={self.demo_app.secret_key}", body)
        response = self._handlers["send_push"].lambda_handler(event, self.lambda_context)
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])["id"]

    def push_to_bob(self, **fields: Any) -> str:
        return self.post_push({"to": "/users/bob", "notification": {"title": "Hi", "body": "bob"}, **fields})

    def fan_out(self) -> None:
        sqs, url = self.aws["sqs"], self.queues["FanoutQueue"]
        while messages := receive(sqs, url):
            assert self._handlers["fanout"].lambda_handler(sqs_event(messages), self.lambda_context) == {"batchItemFailures": []}
            for message in messages:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def queued(self, provider: ChannelType) -> list[dict[str, Any]]:
        """The provider queue's messages as its event source mapping would receive them (and delete them)."""
        return drain(self.aws["sqs"], self.queues[SENDERS[provider].queue])

    def run_sender(self, provider: ChannelType, event: dict[str, Any]) -> dict[str, Any]:
        return self.sender(provider).lambda_handler(event, self.lambda_context)

    def deliver(self, provider: ChannelType) -> dict[str, Any]:
        """One invocation of the provider's sender with every message of its queue."""
        return self.run_sender(provider, sqs_event(self.queued(provider)))

    def deliver_all(self) -> None:
        for provider in SENDERS:
            assert self.deliver(provider) == {"batchItemFailures": []}

    def sender(self, provider: ChannelType) -> ModuleType:
        """functions/<fcm|apns>_sender/app.py, imported as its Lambda imports it: with its own queues
        in the environment, and wiring's caches empty so that it builds its own service and client."""
        wired = SENDERS[provider]
        if wired.handler not in self._handlers:
            self.monkeypatch.setenv("DELIVERY_QUEUE_URL", self.queues[wired.queue])
            self.monkeypatch.setenv("DELIVERY_DLQ_URL", self.queues[wired.dead_letter_queue])
            self._clear_wiring()
            self._handlers[wired.handler] = self.import_handler(wired.handler)
            self.sqs_sends.watch(wiring.sqs_client())  # the client its service was built with
            self.monkeypatch.setenv("DELIVERY_QUEUE_URL", self.queues["DeliveryQueue"])
            self.monkeypatch.setenv("DELIVERY_DLQ_URL", self.queues["DeliveryDeadLetterQueue"])
            self._clear_wiring()
        return self._handlers[wired.handler]

    @staticmethod
    def _clear_wiring() -> None:
        config.settings.cache_clear()
        for factory in (wiring.services, wiring.push_service, wiring.fanout_service, wiring.delivery_service,
                        wiring.native_delivery_service, wiring.sqs_client):
            factory.cache_clear()

    # -- what the API and SQS say -----------------------------------------------------------------

    def push(self, push_id: str) -> dict[str, Any]:
        query = f"api_key={self.demo_app.secret_key}"
        event = http_event("GET", f"/pushes/{push_id}", "/pushes/{push_id}", query, path_parameters={"push_id": push_id})
        response = self._handlers["get_push"].lambda_handler(event, self.lambda_context)
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])["push"]

    def device_status(self, token: str) -> str:
        query = f"api_key={self.demo_app.secret_key}"
        event = http_event("GET", f"/devices/{token}", "/devices/{token}", query, path_parameters={"token": token})
        response = self._handlers["get_device"].lambda_handler(event, self.lambda_context)
        assert response["statusCode"] == 200, response
        return json.loads(response["body"])["device"]["status"]

    def dead_letters(self, provider: ChannelType) -> list[dict[str, Any]]:
        return bodies(drain(self.aws["sqs"], self.queues[SENDERS[provider].dead_letter_queue]))

    def delayed(self, provider: ChannelType) -> int:
        """Messages on the provider's queue that SQS holds back (DelaySeconds not yet over)."""
        url = self.queues[SENDERS[provider].queue]
        name = "ApproximateNumberOfMessagesDelayed"
        return int(self.aws["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name])

    def requeued(self, provider: ChannelType) -> list[tuple[int, dict[str, Any]]]:
        """(DelaySeconds, body) of what the senders put back on the provider's queue."""
        entries = self.sqs_sends.entries(self.queues[SENDERS[provider].queue])
        return [(entry.get("DelaySeconds", 0), json.loads(entry["MessageBody"])) for entry in entries]


def devices_of(messages: Iterable[dict[str, Any]]) -> list[str]:
    return sorted(device["token"] for message in messages for device in message["devices"])


def elapsed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started
