"""VAPID (RFC 8292): checklist B1-B7 of the Web Push notes."""

from __future__ import annotations

import re

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from pushgate.delivery.errors import ConfigurationError
from pushgate.delivery.webpush.vapid import TOKEN_LIFETIME, VapidSigner, check_subject, origin_of
from tests.delivery.push_fakes import SUBJECT, Browser, FakeSession, b64url, make_client, split_vapid, unb64url, vapid_pem, verify_es256

# RFC 8292 §2.4: the example token and the key that signed it.
RFC8292_TOKEN = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9"
    ".eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0"
    ".i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA"
)
RFC8292_KEY = "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs"
MOZILLA = "https://updates.push.services.mozilla.com/wpush/v2/x"
FCM = "https://fcm.googleapis.com/wp/y"
T = 1_700_000_000.75


class Clock:
    def __init__(self, now: float = T) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def authorization_of(session: FakeSession, index: int = -1) -> str:
    return session.posts[index].headers["Authorization"]


def test_b1_header_format_and_key() -> None:
    pem = vapid_pem()
    session = FakeSession()
    make_client(session, pem=pem).send(Browser().delivery())

    authorization = authorization_of(session)
    assert re.fullmatch(r"vapid t=[\w-]+\.[\w-]+\.[\w-]+, ?k=[\w-]{87}", authorization)
    configured = serialization.load_pem_private_key(pem.encode(), None).public_key()
    expected = configured.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    assert unb64url(split_vapid(authorization)[1]) == expected and len(expected) == 65


def test_b2_verifier_accepts_rfc_example_then_ours_and_rejects_a_flipped_byte() -> None:
    # Given a verifier proven on the RFC's own example first
    assert verify_es256(RFC8292_TOKEN, RFC8292_KEY) == {"aud": "https://push.example.net", "exp": 1453523768, "sub": "mailto:push@example.com"}

    # When our client signs a header
    session = FakeSession()
    make_client(session).send(Browser().delivery())
    token, key = split_vapid(authorization_of(session))

    # Then it verifies as ES256 with a 64-byte r||s signature...
    claims = verify_es256(token, key)
    assert claims["aud"] == "https://fcm.googleapis.com" and claims["sub"] == SUBJECT
    assert len(unb64url(token.rsplit(".", 1)[1])) == 64
    # ...and not once one byte of the signed claims is changed
    head, payload, signature = token.split(".")
    tampered = bytearray(unb64url(payload))
    tampered[-3] ^= 0x01
    with pytest.raises((InvalidSignature, ValueError)):
        verify_es256(f"{head}.{b64url(bytes(tampered))}.{signature}", key)
    flipped_signature = bytearray(unb64url(signature))
    flipped_signature[10] ^= 0x80
    with pytest.raises(InvalidSignature):
        verify_es256(f"{head}.{payload}.{b64url(bytes(flipped_signature))}", key)


def test_b3_aud_is_each_endpoints_origin_and_nothing_leaks_between_origins() -> None:
    # Given one client sending to Mozilla, then FCM, then Mozilla again
    session = FakeSession()
    client = make_client(session)
    browser = Browser()
    for endpoint in (MOZILLA, FCM, MOZILLA):
        client.send(browser.delivery(endpoint=endpoint))

    # Then each token's aud is that endpoint's origin, with no path and no trailing slash
    auds = [verify_es256(*split_vapid(post.headers["Authorization"]))["aud"] for post in session.posts]
    assert auds == ["https://updates.push.services.mozilla.com", "https://fcm.googleapis.com", "https://updates.push.services.mozilla.com"]
    # And the claims are exactly aud/exp/sub: the subject configured is what every token carries
    assert all(set(verify_es256(*split_vapid(post.headers["Authorization"]))) == {"aud", "exp", "sub"} for post in session.posts)


@pytest.mark.parametrize(
    ("endpoint", "origin"),
    [
        ("https://fcm.googleapis.com/fcm/send/abc", "https://fcm.googleapis.com"),
        ("https://FCM.googleapis.com:443/wp/abc", "https://fcm.googleapis.com"),
        ("https://wns2-par02p.notify.windows.com/w/?token=abc", "https://wns2-par02p.notify.windows.com"),
        ("http://127.0.0.1:8090/push/x", "http://127.0.0.1:8090"),
    ],
)
def test_b3_origin_of(endpoint: str, origin: str) -> None:
    assert origin_of(endpoint) == origin


def test_b4_exp_within_12_hours_and_refreshed_5_minutes_before_it() -> None:
    # Given a frozen clock at T
    clock = Clock()
    signer = VapidSigner(vapid_pem(), SUBJECT, clock=clock)
    origin = "https://fcm.googleapis.com"

    first = signer.header(origin)
    exp = verify_es256(*split_vapid(first))["exp"]
    assert T < exp <= T + 12 * 3600 and TOKEN_LIFETIME <= 24 * 3600

    # At exp - 6 min the cached token is still used; at exp - 4 min a new one is signed
    clock.now = exp - 6 * 60
    assert signer.header(origin) == first
    clock.now = exp - 4 * 60
    renewed = signer.header(origin)
    assert renewed != first
    assert verify_es256(*split_vapid(renewed))["exp"] > exp


def test_b4_explicit_now_wins_over_the_clock() -> None:
    signer = VapidSigner(vapid_pem(), SUBJECT, clock=Clock(0))
    assert verify_es256(*split_vapid(signer.header("https://fcm.googleapis.com", now=T)))["exp"] == int(T) + TOKEN_LIFETIME


def test_b5_one_signature_per_origin_within_the_window() -> None:
    # Given 100 sends to one origin, 8 at a time
    session = FakeSession()
    clock = Clock()
    signer = VapidSigner(vapid_pem(), SUBJECT, clock=clock)
    client = make_client(session, signer=signer, clock=clock, concurrency=8)
    browser = Browser()
    client.send_many([browser.delivery() for _ in range(100)], max_workers=8)

    # Then one token was signed and reused by all of them
    assert signer.signatures == 1
    assert len({post.headers["Authorization"] for post in session.posts}) == 1

    # And a second origin gets its own, single, signature
    client.send_many([browser.delivery(endpoint=MOZILLA) for _ in range(10)])
    assert signer.signatures == 2


@pytest.mark.parametrize(
    "subject", ["mailto:ops@example.com", "https://example.com/contact", "https://example.com", "mailto:first.last+push@mail.example.co.uk"]
)
def test_b6_valid_subjects_are_accepted(subject: str) -> None:
    assert check_subject(subject) == subject
    VapidSigner(vapid_pem(), subject)


@pytest.mark.parametrize(
    "subject",
    [
        "mailto: <ops@example.com>",
        "mailto:<ops@example.com>",
        "ops@example.com",
        "mailto:ops@localhost",
        "mailto:ops@dev.localhost",
        "mailto:ops@10.0.0.1",
        "mailto:ops@example",
        "https://localhost/contact",
        "http://example.com/contact",
        "https://user@example.com/",
        "https://example.com/a b",
        "",
        None,
    ],
)
def test_b6_unusable_subjects_fail_at_startup(subject: object) -> None:
    with pytest.raises(ConfigurationError):
        VapidSigner(vapid_pem(), subject)


def _other_keys() -> dict[str, str]:
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    p384_pem = ec.generate_private_key(ec.SECP384R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    good = vapid_pem()
    return {
        "truncated": good[: len(good) // 2],
        "garbage": "-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n",
        "empty": "",
        "not pem": "just some text",
        "rsa": rsa_pem.decode(),
        "p384": p384_pem.decode(),
    }


@pytest.mark.parametrize("case", ["truncated", "garbage", "empty", "not pem", "rsa", "p384"])
def test_b7_a_bad_private_key_fails_at_construction_without_quoting_it(case: str) -> None:
    pem = _other_keys()[case]
    with pytest.raises(ConfigurationError) as failure:
        VapidSigner(pem, SUBJECT)
    body_lines = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    assert not any(line in str(failure.value) for line in body_lines)
    # No chained library exception either, so a traceback shows nothing of the key's bytes.
    assert failure.value.__cause__ is None
    assert failure.value.__context__ is None or failure.value.__suppress_context__


def test_b7_sec1_pem_is_accepted_too() -> None:
    sec1 = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    assert VapidSigner(sec1, SUBJECT).public_key
