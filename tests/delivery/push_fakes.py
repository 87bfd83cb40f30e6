"""Test doubles for the Web Push client: key material, a recording fake session, loopback push
services, and an independent "browser-side" decryptor and VAPID verifier written with
`cryptography` only (reference §2.4), so that a bug shared with http_ece or pywebpush cannot hide."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import os
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import requests
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pushgate.delivery.webpush.vapid import VapidSigner
from pushgate.delivery.webpush.client import Delivery, Timeouts, WebPushClient
from pushgate.validation import EndpointPolicy

SUBJECT = "mailto:ops@example.com"
ENDPOINT = "https://fcm.googleapis.com/wp/secret-subscription-token"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def vapid_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


@dataclass
class Browser:
    """A subscribed user agent: what it gives the server, and the private key to read messages."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    @property
    def public_bytes(self) -> bytes:
        return self.private_key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)

    @property
    def p256dh(self) -> str:
        return b64url(self.public_bytes)

    @property
    def auth_b64(self) -> str:
        return b64url(self.auth)

    def delivery(self, payload: bytes = b'{"t":"hi"}', endpoint: str = ENDPOINT, ttl: int = 86400, **options: Any) -> Delivery:
        return Delivery(endpoint=endpoint, p256dh=self.p256dh, auth=self.auth_b64, payload=payload, ttl=ttl, **options)


def browser_decrypt(body: bytes, browser: Browser) -> tuple[bytes, bytes]:
    """RFC 8291 decryption as a user agent does it (reference §2.4). Returns (plaintext, padded)."""
    salt, rs, idlen = body[:16], int.from_bytes(body[16:20], "big"), body[20]
    as_pub, ciphertext = body[21 : 21 + idlen], body[21 + idlen :]
    assert idlen == 65 and as_pub[0] == 4 and len(body) <= 4096 and rs >= len(ciphertext)  # one record
    sender = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), as_pub)
    ecdh = browser.private_key.exchange(ec.ECDH(), sender)

    def h(key: bytes, message: bytes) -> bytes:
        return hmac.new(key, message, hashlib.sha256).digest()

    ikm = h(h(browser.auth, ecdh), b"WebPush: info\x00" + browser.public_bytes + as_pub + b"\x01")
    prk = h(salt, ikm)
    cek = h(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = h(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    padded = AESGCM(cek).decrypt(nonce, ciphertext, None)  # InvalidTag if anything is off
    unpadded = padded.rstrip(b"\x00")
    assert unpadded[-1:] == b"\x02", "RFC 8188: the last record's delimiter must be 0x02"
    return unpadded[:-1], padded


def verify_es256(token: str, public_key_b64: str) -> dict[str, Any]:
    """A JWS ES256 check written from RFC 7515/7518 with `cryptography` only. Returns the claims;
    raises cryptography.exceptions.InvalidSignature (or ValueError) when it does not verify."""
    header_b64, claims_b64, signature_b64 = token.split(".")
    header = json.loads(unb64url(header_b64))
    if header.get("alg") != "ES256":
        raise ValueError("not ES256")
    signature = unb64url(signature_b64)
    if len(signature) != 64:
        raise ValueError("an ES256 signature is 64 bytes of r||s")
    public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(public_key_b64))
    der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
    public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
    return json.loads(unb64url(claims_b64))


def split_vapid(authorization: str) -> tuple[str, str]:
    """(t, k) from 'vapid t=..., k=...'."""
    scheme, _, params = authorization.partition(" ")
    assert scheme == "vapid"
    values = dict(part.strip().split("=", 1) for part in params.split(","))
    return values["t"], values["k"]


def canned_response(status: int, headers: dict[str, str] | None = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers.update(headers or {})
    response._content = b""
    return response


@dataclass
class Post:
    url: str
    data: bytes
    headers: dict[str, str]
    timeout: Any
    allow_redirects: Any


class FakeSession:
    """Records every post; answers with `respond(url)`: a Response, or an exception to raise."""

    def __init__(self, respond: Callable[[str], Any] | int = 201) -> None:
        self.posts: list[Post] = []
        self._respond = respond if callable(respond) else (lambda url: canned_response(respond))
        self._lock = threading.Lock()

    def post(
        self, url: str, data: bytes = b"", headers: dict[str, str] | None = None, timeout: Any = None, allow_redirects: Any = True
    ) -> Any:
        with self._lock:
            self.posts.append(Post(url, data, dict(headers or {}), timeout, allow_redirects))
        answer = self._respond(url)
        if isinstance(answer, BaseException):
            raise answer
        return answer


def make_client(
    session: Any = None,
    pem: str | None = None,
    policy: EndpointPolicy | None = None,
    clock: Callable[[], float] | None = None,
    signer: VapidSigner | None = None,
    **options: Any,
) -> WebPushClient:
    kwargs: dict[str, Any] = {"clock": clock} if clock else {}
    signer = signer or VapidSigner(pem or vapid_pem(), SUBJECT, **kwargs)
    session = session if session is not None else FakeSession()
    return WebPushClient(signer, policy or EndpointPolicy(), session=session, **kwargs, **options)


# -- loopback push services ----------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class LoopbackPushService(http.server.ThreadingHTTPServer):
    """HTTP/1.1 with keep-alive on 127.0.0.1, a free port. `answer(path)` gives (status, headers);
    every request and every accepted TCP connection is counted."""

    daemon_threads = True
    # socketserver's default backlog is 5: a client opening more connections at once than that
    # has its extra SYNs dropped and retried a second later, past a short connect timeout, when
    # the accepting thread is slow (a loaded machine).
    request_queue_size = 128

    def __init__(self, answer: Callable[[str], tuple[int, dict[str, str]]], tls: ssl.SSLContext | None = None) -> None:
        self.answer = answer
        self.received: list[Received] = []
        self.connections = 0
        self.errors = 0
        self.tls = tls
        super().__init__(("127.0.0.1", 0), _RecordingHandler)

    @property
    def port(self) -> int:
        return self.server_address[1]

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.errors += 1  # e.g. a client refusing our certificate; tests assert on what was received

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = super().get_request()
        self.connections += 1
        if self.tls is not None:
            # Handshake in the handler thread, so a client that rejects our certificate
            # cannot block the accept loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


class _RecordingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackPushService

    def setup(self) -> None:
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(5)
            self.request.do_handshake()
        super().setup()

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.server.received.append(Received(self.path, dict(self.headers), body))
        status, headers = self.server.answer(self.path)
        self.send_response(status)
        for name, value in {"Content-Length": "0", **headers}.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


class MeetingPoint:
    """An answer function for loopback_push_service: each request waits until `parties` requests
    are being handled at once, and the most ever handled at once is recorded."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=5)
        self.lock = threading.Lock()
        self.active = 0
        self.most_at_once = 0

    def __call__(self, path: str) -> tuple[int, dict[str, str]]:
        with self.lock:
            self.active += 1
            self.most_at_once = max(self.most_at_once, self.active)
        try:
            self.barrier.wait()
            return 201, {}
        except threading.BrokenBarrierError:
            return 500, {}
        finally:
            with self.lock:
                self.active -= 1


@contextmanager
def loopback_push_service(
    answer: Callable[[str], tuple[int, dict[str, str]]] = lambda path: (201, {}), tls: ssl.SSLContext | None = None
) -> Iterator[LoopbackPushService]:
    server = LoopbackPushService(answer, tls)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def silent_service() -> Iterator[int]:
    """Accepts TCP connections and never answers: the port of a hung push service."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        for sock in accepted:
            sock.close()
        listener.close()


@contextmanager
def scripted_service(script: Callable[[socket.socket], None]) -> Iterator[int]:
    """A loopback listener whose connections `script(listener)` accepts and answers by hand, in a
    thread: for answers no well-behaved HTTP server would give. Yields the port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    thread = threading.Thread(target=script, args=(listener,), daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(timeout=5)
        listener.close()


def closed_port() -> int:
    """A loopback port with nothing listening: connecting is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def loopback_policy(port: int) -> EndpointPolicy:
    return EndpointPolicy.from_setting((f"127.0.0.1:{port}",))


SHORT_TIMEOUTS = Timeouts(connect=1.0, read=0.5)
