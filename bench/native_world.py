"""What the native-delivery benchmarks share: one app with an APNs and an FCM channel, their keys,
one push, the devices of one sender invocation, the transports as the sender builds them, the
"bare" requests a plain script would send, and a check of all of these against the honest fakes.

The push is the Web Push benchmarks' notification ("New message" / "You have a new message from
Alice", pushgate's own payload shape). APNs devices are 64-hex-character tokens (iOS, alert push);
FCM devices are registration tokens of the usual length (about 160 characters).

The bare requests are what a competent plain script sends for the same push: for APNs, one
provider JWT signed once and one headers dict built once (authorization, apns-topic,
apns-push-type, apns-priority, apns-expiration), the device token in the URL and json.dumps of the
same APNs payload per request; for FCM, one access token obtained once and one headers dict
(authorization, content-type), json.dumps of the same FCM v1 message per device.

`check_with_honest_fakes` sends one message of 50 devices through each transport, and a few bare
requests, to pushgate's honest fakes (FakeApns, FakeFcm: signatures, headers, payloads checked)
and fails if any is refused. The benchmarks run it first, so the light server they measure
against (bench/fake_h2_service.py, which checks nothing) gets requests that the strict fakes
accept."""

from __future__ import annotations

import json
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
for source in (REPO / "src", REPO / "layers" / "shared" / "python"):
    if str(source) not in sys.path:
        sys.path.insert(0, str(source))

import httpx  # noqa: E402
import jwt  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec, rsa  # noqa: E402

from pushgate.delivery.apns.payload import build_payload  # noqa: E402
from pushgate.delivery.apns.transport import ApnsTransport  # noqa: E402
from pushgate.delivery.fcm.message import build_message  # noqa: E402
from pushgate.delivery.fcm.oauth import AccessTokens, ServiceAccount  # noqa: E402
from pushgate.delivery.fcm.transport import FcmTransport  # noqa: E402
from pushgate.delivery.outcomes import DeliveryOutcome, OutcomeKind  # noqa: E402
from pushgate.delivery.transport.h2_transport import H2Transport  # noqa: E402
from pushgate.delivery.transport.http2 import Http2Client, tls_context  # noqa: E402
from httpx_transport import HttpxTransport  # noqa: E402
from pushgate.identifiers import token_hash  # noqa: E402
from pushgate.models import ApnsEnvironment, Channel, ChannelType  # noqa: E402
from pushgate.pushes import DeliveryTarget, Push  # noqa: E402
from pushgate.services.fanout import DEVICES_PER_DELIVERY  # noqa: E402
from pushgate.wiring import NATIVE_SEND_DEADLINE_SECONDS, SENDER_MESSAGES_AT_ONCE  # noqa: E402
from pushgate_local.fakes.apns import FakeApns  # noqa: E402
from pushgate_local.fakes.fcm import FakeFcm  # noqa: E402
from pushgate_local.fakes.server import TestCertificateAuthority, TlsServer  # noqa: E402

APP_ID = "app_0123456789abcdef"
TEAM_ID = "TEAM123456"
KEY_ID = "KEY1234567"
BUNDLE_ID = "com.example.pushgate"
APNS_CHANNEL_ID = "channel-apns-bench"
FCM_CHANNEL_ID = "channel-fcm-bench"
PROJECT_ID = "pushgate-bench"
CLIENT_EMAIL = "sender@pushgate-bench.iam.gserviceaccount.com"
PRIVATE_KEY_ID = "bench-key-1"
PUSH_ID = "push_0123456789abcdefghijk"
NOTIFICATION = {"title": "New message", "body": "You have a new message from Alice"}
TTL = 86_400
INVOCATION = DEVICES_PER_DELIVERY * SENDER_MESSAGES_AT_ONCE  # 5 messages of 50: one sender invocation
# The senders' HTTP/2 layer, by the name the benchmarks' --transport option takes.
TRANSPORTS: dict[str, type[HttpxTransport] | type[H2Transport]] = {"h2": H2Transport, "httpx": HttpxTransport}


def _pem_pair(key: Any) -> tuple[str, str]:
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private.decode(), public.decode()


def _fcm_registration_token() -> str:
    # The shape of a real one: an instance id, a colon, "APA91b" and ~134 more characters.
    return f"{secrets.token_urlsafe(16)[:22]}:APA91b{secrets.token_urlsafe(120)[:134]}"


def _target(token: str, device_type: str, channel_id: str) -> DeliveryTarget:
    return DeliveryTarget(token_hash=token_hash(token), token=token, type=device_type, channel_id=channel_id)


class Channels:
    """The one repository method the transports call (ChannelCache reads each channel once)."""

    def __init__(self, *channels: Channel) -> None:
        self._rows = {(channel.app_id, channel.channel_id): channel for channel in channels}

    def get_channel(self, app_id: str, channel_id: str) -> Channel | None:
        return self._rows.get((app_id, channel_id))


@dataclass
class BareRequests:
    """A plain script's requests: `headers` built once, `request(i)` per device -> (url, body)."""

    headers: dict[str, str] = field(repr=False)
    url_of: Any = field(repr=False)  # i -> url
    body_of: Any = field(repr=False)  # i -> bytes (json.dumps per request)

    def request(self, i: int) -> tuple[str, bytes]:
        return self.url_of(i), self.body_of(i)


class NativeWorld:
    """Keys, channels, secrets, the push and one invocation's devices per provider."""

    def __init__(self, transport: str = "h2") -> None:
        self.transport_type = TRANSPORTS[transport]
        self.apns_private_pem, self.apns_public_pem = _pem_pair(ec.generate_private_key(ec.SECP256R1()))
        self.fcm_private_pem, self.fcm_public_pem = _pem_pair(rsa.generate_private_key(public_exponent=65537, key_size=2048))
        apns_key_name, fcm_key_name = "/pushgate/bench/apns-key", "/pushgate/bench/fcm-key"
        self.secrets = {apns_key_name: self.apns_private_pem, fcm_key_name: self.fcm_private_pem}
        self.channels = Channels(
            Channel(channel_id=APNS_CHANNEL_ID, app_id=APP_ID, type=ChannelType.APNS, created_at=0, apns_key_id=KEY_ID,
                    apns_team_id=TEAM_ID, apns_bundle_id=BUNDLE_ID, apns_environment=ApnsEnvironment.PRODUCTION,
                    private_key_parameter=apns_key_name),
            Channel(channel_id=FCM_CHANNEL_ID, app_id=APP_ID, type=ChannelType.FCM, created_at=0, fcm_project_id=PROJECT_ID,
                    fcm_client_email=CLIENT_EMAIL, fcm_private_key_id=PRIVATE_KEY_ID, private_key_parameter=fcm_key_name),
        )
        self.payload_fields: dict[str, Any] = {"id": PUSH_ID, "notification": NOTIFICATION}
        self.push = Push(push_id=PUSH_ID, app_id=APP_ID, created_at=int(time.time()), time_to_live=TTL, urgency="normal",
                         payload=json.dumps(self.payload_fields, separators=(",", ":")))
        self.apns_tokens = [secrets.token_hex(32) for _ in range(INVOCATION)]
        self.fcm_tokens = [_fcm_registration_token() for _ in range(INVOCATION)]
        self.apns_targets = [_target(token, "ios", APNS_CHANNEL_ID) for token in self.apns_tokens]
        self.fcm_targets = [_target(token, "android", FCM_CHANNEL_ID) for token in self.fcm_tokens]
        self.account = ServiceAccount(PROJECT_ID, CLIENT_EMAIL, PRIVATE_KEY_ID, self.fcm_private_pem)

    def messages(self, targets: list[DeliveryTarget]) -> list[list[DeliveryTarget]]:
        """The invocation's devices as its SQS messages of 50."""
        return [targets[k : k + DEVICES_PER_DELIVERY] for k in range(0, len(targets), DEVICES_PER_DELIVERY)]

    def http(self, ca_file: str) -> Http2Client:
        """As wiring.native_delivery_service builds it (of the chosen type), with the fakes' CA."""
        return self.transport_type(ca_file=ca_file)

    def apns_transport(self, http: Http2Client, url: str) -> ApnsTransport:
        urls = {"apns": url, "apns-sandbox": url}
        return ApnsTransport(self.channels, self.secrets.__getitem__, http, urls, deadline_seconds=NATIVE_SEND_DEADLINE_SECONDS)

    def fcm_transport(self, http: Http2Client, url: str) -> FcmTransport:
        urls = {"fcm": url, "fcm-token": f"{url}/token"}
        return FcmTransport(self.channels, self.secrets.__getitem__, http, urls, deadline_seconds=NATIVE_SEND_DEADLINE_SECONDS)

    def bare_apns(self, url: str) -> BareRequests:
        provider_token = jwt.encode({"iss": TEAM_ID, "iat": int(time.time())}, self.apns_private_pem, algorithm="ES256",
                                    headers={"kid": KEY_ID, "typ": None})
        headers = {"authorization": f"bearer {provider_token}", "apns-topic": BUNDLE_ID, "apns-push-type": "alert",
                   "apns-priority": "10", "apns-expiration": "0"}
        payload = build_payload(self.payload_fields, PUSH_ID, "alert")
        tokens = self.apns_tokens
        return BareRequests(
            headers,
            lambda i: f"{url}/3/device/{tokens[i % INVOCATION]}",
            lambda i: json.dumps(payload, separators=(",", ":")).encode(),
        )

    def bare_fcm(self, url: str, access_token: str) -> BareRequests:
        headers = {"authorization": f"Bearer {access_token}", "content-type": "application/json"}
        fields = {"notification": NOTIFICATION}
        messages = [build_message(fields, PUSH_ID, token, TTL, "normal", None) for token in self.fcm_tokens]
        send_url = f"{url}/v1/projects/{PROJECT_ID}/messages:send"
        return BareRequests(headers, lambda i: send_url, lambda i: json.dumps(messages[i % INVOCATION], separators=(",", ":")).encode())

    def fcm_access_token(self, http: Http2Client, url: str) -> str:
        """One access token, minted as a script would (its own assertion, one POST): for the bare requests."""
        return AccessTokens(http, f"{url}/token").token(self.account)


def all_sent(outcomes: list[DeliveryOutcome]) -> bool:
    return all(outcome.kind is OutcomeKind.SENT for outcome in outcomes)


def bare_client(ca_file: str, asynchronous: bool = False) -> httpx.Client | httpx.AsyncClient:
    """A plain script's client: httpx with HTTP/2, the same TLS context as the transport's."""
    client_type = httpx.AsyncClient if asynchronous else httpx.Client
    return client_type(http2=True, verify=tls_context(ca_file), timeout=10.0, trust_env=False)


def check_with_honest_fakes(world: NativeWorld, bare_requests: int = 5) -> str:
    """One message of 50 through each transport and a few bare requests to FakeApns and FakeFcm;
    raises AssertionError if any is refused. Returns a line to print."""
    ca = TestCertificateAuthority()
    apns_fake, fcm_fake = FakeApns(), FakeFcm()
    apns_fake.register_key(TEAM_ID, KEY_ID, world.apns_public_pem)
    apns_fake.allow_topic(BUNDLE_ID)
    fcm_fake.register_service_account(PROJECT_ID, CLIENT_EMAIL, world.fcm_public_pem, PRIVATE_KEY_ID)
    with TlsServer(apns_fake, ca) as apns_server, TlsServer(fcm_fake, ca) as fcm_server:
        http = world.http(str(ca.ca_file))
        try:
            message = slice(0, DEVICES_PER_DELIVERY)
            apns_outcomes = world.apns_transport(http, apns_server.url).send(world.push, world.apns_targets[message], TTL)
            fcm_outcomes = world.fcm_transport(http, fcm_server.url).send(world.push, world.fcm_targets[message], TTL)
            assert all_sent(apns_outcomes), {outcome.detail for outcome in apns_outcomes}
            assert all_sent(fcm_outcomes), {outcome.detail for outcome in fcm_outcomes}
            bare = [world.bare_apns(apns_server.url), world.bare_fcm(fcm_server.url, world.fcm_access_token(http, fcm_server.url))]
        finally:
            http.close()
        with bare_client(str(ca.ca_file)) as client:
            for requests in bare:
                for i in range(bare_requests):
                    url, body = requests.request(i)
                    answer = client.post(url, headers=requests.headers, content=body)
                    assert answer.status_code == 200 and answer.http_version == "HTTP/2", (answer.status_code, answer.text[:200])
    accepted = (apns_fake.received_count, len(fcm_fake.received()))
    assert accepted == (DEVICES_PER_DELIVERY + bare_requests,) * 2, accepted
    return (
        f"requests checked first by the honest fakes (signatures, headers, payloads): APNs {accepted[0]} and FCM "
        f"{accepted[1]} accepted ({DEVICES_PER_DELIVERY} through each transport, {bare_requests} bare)"
    )


def add_common_options(parser: Any) -> None:
    """The options both native benchmarks take."""
    parser.add_argument("--providers", default="apns,fcm", help="comma-separated: apns, fcm")
    parser.add_argument("--transport", default="h2", choices=sorted(TRANSPORTS), help="the senders' HTTP/2 layer")


def chosen_providers(arguments: Any, parser: Any) -> list[str]:
    providers = [name.strip() for name in arguments.providers.split(",") if name.strip()]
    if not providers or set(providers) - {"apns", "fcm"}:
        parser.error("--providers takes apns and/or fcm")
    return providers
