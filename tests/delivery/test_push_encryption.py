"""RFC 8291/8188 encryption of what the client POSTs: checklist A1-A6 of the Web Push notes."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from unittest import mock

import http_ece
import pytest
import pywebpush
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.delivery.webpush.encryption import MAX_PLAINTEXT_BYTES, ReceiverKeys, encrypt
from pushgate.delivery.errors import ConfigurationError, PayloadTooLarge
from pushgate.delivery.webpush.vapid import VapidSigner
from pushgate.delivery.webpush.client import Delivery
from pushgate.errors import InvalidValue
from tests.delivery.push_fakes import (
    ENDPOINT,
    SUBJECT,
    Browser,
    FakeSession,
    b64url,
    browser_decrypt,
    make_client,
    unb64url,
    vapid_pem,
)

# RFC 8291 §5 / Appendix A (reference §2.2).
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
UA_PRIVATE = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94"
UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
AS_PUBLIC = "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_"
    "yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
)


def private_key(raw_b64: str) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(unb64url(raw_b64), "big"), ec.SECP256R1())


@contextlib.contextmanager
def _rfc_sender_key_and_salt() -> Iterator[None]:
    """The RFC's ephemeral key and salt, patched where pywebpush and http_ece draw them (the
    reference §2.3 recipe); everything else runs as in production."""
    with mock.patch.object(pywebpush.ec, "generate_private_key", return_value=private_key(AS_PRIVATE)), mock.patch.object(
        http_ece.os, "urandom", return_value=unb64url(SALT)
    ):
        yield


def test_a1_rfc8291_vector_byte_for_byte() -> None:
    # Given the RFC's sender key and salt
    receiver = ReceiverKeys.from_subscription(UA_PUBLIC, AUTH)

    # When the message is encrypted with them
    with _rfc_sender_key_and_salt():
        body = encrypt(PLAINTEXT, receiver)

    # Then it is the RFC's body, all 144 bytes
    assert body == unb64url(BODY)
    assert len(body) == 144


def test_a1_rfc8291_vector_through_the_client() -> None:
    # Given the RFC's sender key and salt
    session = FakeSession()
    client = make_client(session)
    delivery = Delivery(endpoint=ENDPOINT, p256dh=UA_PUBLIC, auth=AUTH, payload=PLAINTEXT, ttl=60)

    # When the client sends the RFC's message
    with _rfc_sender_key_and_salt():
        client.send(delivery)

    # Then the POSTed body is the RFC's
    assert session.posts[0].data == unb64url(BODY)


def test_a1_rfc_body_decrypts_with_the_rfc_user_agent_key() -> None:
    browser = Browser(private_key=private_key(UA_PRIVATE), auth=unb64url(AUTH))
    assert browser.p256dh == UA_PUBLIC
    assert browser_decrypt(unb64url(BODY), browser)[0] == PLAINTEXT


def test_a2_browser_side_decrypt_independent_and_http_ece() -> None:
    # Given a fresh user agent key pair and auth secret
    browser = Browser()
    session = FakeSession()

    # When the client sends {"t":"hi"}
    make_client(session).send(browser.delivery(b'{"t":"hi"}'))
    body = session.posts[0].data

    # Then the cryptography-only decryptor and http_ece both recover it; the delimiter is 0x02
    plaintext, padded = browser_decrypt(body, browser)
    assert plaintext == b'{"t":"hi"}'
    assert padded[len(plaintext)] == 0x02
    assert http_ece.decrypt(body, private_key=browser.private_key, auth_secret=browser.auth, version="aes128gcm") == b'{"t":"hi"}'


def test_a3_header_shape_is_one_record_with_a_p256_keyid() -> None:
    session = FakeSession()
    make_client(session).send(Browser().delivery(b"x" * 100))
    body = session.posts[0].data

    rs, idlen, keyid = int.from_bytes(body[16:20], "big"), body[20], body[21:86]
    ciphertext = body[86:]
    assert idlen == 65 and body[21] == 0x04
    ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), keyid)  # raises if not on P-256
    assert rs == 4096 and rs >= len(ciphertext)  # a single record
    assert len(ciphertext) == 100 + 1 + 16


def test_a4_every_message_has_a_fresh_salt_and_key_never_the_vapid_key() -> None:
    # Given 1000 sends to one subscription
    session = FakeSession()
    signer = VapidSigner(vapid_pem(), SUBJECT)
    client = make_client(session, signer=signer)
    delivery = Browser().delivery()
    for _ in range(1000):
        client.send(delivery)

    # Then salts and sender keys are all distinct, and none is the VAPID key (RFC 8292 §3.2)
    salts = {post.data[:16] for post in session.posts}
    keyids = {post.data[21:86] for post in session.posts}
    assert len(salts) == 1000 and len(keyids) == 1000
    assert unb64url(signer.public_key) not in keyids


def test_a5_3993_bytes_fill_exactly_4096_and_are_sent_once() -> None:
    session = FakeSession()
    browser = Browser()
    make_client(session).send(browser.delivery(b"a" * 3993))

    assert MAX_PLAINTEXT_BYTES == 3993
    assert len(session.posts) == 1
    assert len(session.posts[0].data) == 4096
    assert browser_decrypt(session.posts[0].data, browser)[0] == b"a" * 3993


def test_a5_3994_bytes_are_refused_before_any_post_and_are_not_retryable() -> None:
    session = FakeSession()
    make_client(session)

    with pytest.raises(PayloadTooLarge) as refused:
        Browser().delivery(b"a" * 3994)

    assert session.posts == []
    assert refused.value.size == 3994 and refused.value.limit == 3993
    # The error is not a transport failure, so no retry path (OSError, outcomes) can pick it up.
    assert not isinstance(refused.value, OSError)
    with pytest.raises(PayloadTooLarge):
        encrypt(b"a" * 3994, ReceiverKeys.from_subscription(Browser().p256dh, b64url(bytes(16))))


def test_an_empty_payload_is_refused_before_any_post() -> None:
    # pywebpush refuses to encrypt nothing (NoData); the refusal comes first, as a clear error.
    with pytest.raises(InvalidValue, match="payload"):
        Browser().delivery(b"")


def test_a6_content_encoding_is_aes128gcm_and_no_legacy_headers() -> None:
    session = FakeSession()
    make_client(session).send(Browser().delivery())

    headers = {name.lower(): value for name, value in session.posts[0].headers.items()}
    assert headers["content-encoding"] == "aes128gcm"
    assert "crypto-key" not in headers and "encryption" not in headers


@pytest.mark.parametrize("encoding", ["aesgcm", "aesgcm128", "AES128GCM", ""])
def test_a6_any_other_encoding_is_refused(encoding: str) -> None:
    with pytest.raises(ConfigurationError):
        make_client(FakeSession(), content_encoding=encoding)
