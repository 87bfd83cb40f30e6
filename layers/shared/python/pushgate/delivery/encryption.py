"""RFC 8291 message encryption (aes128gcm, RFC 8188), for one Web Push message.

Written on `cryptography` primitives rather than through pywebpush's `WebPusher` or `http_ece`:
measured here (CPU per message, parsing the stored keys included), WebPusher costs about 1.4x
and http_ece about 1.15x of this, in per-call copies and object setup around the same EC
arithmetic, and the sender's whole CPU budget is 2x the encryption. The output is pinned byte
for byte to the RFC 8291 §5 vector and checked against http_ece and pywebpush in the tests, so
swapping back to `http_ece.encrypt` is a three-line change if that is ever preferred.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from pushgate.delivery.errors import PayloadTooLarge
from pushgate.validation import b64url_decode

CONTENT_ENCODING = "aes128gcm"
RECORD_SIZE = 4096  # RFC 8030 §7.2: push services must accept bodies up to 4096 bytes
HEADER_SIZE = 16 + 4 + 1 + 65  # salt, rs, idlen, keyid (RFC 8188 §2.1)
TAG_SIZE = 16
# One record only (RFC 8291 §4): header + plaintext + 0x02 delimiter + tag must fit in 4096 bytes.
MAX_PLAINTEXT_BYTES = RECORD_SIZE - HEADER_SIZE - 1 - TAG_SIZE  # 3993

_RS_AND_IDLEN = RECORD_SIZE.to_bytes(4, "big") + bytes([65])
_LAST_RECORD_DELIMITER = b"\x02"
_CEK_INFO = b"Content-Encoding: aes128gcm\x00\x01"
_NONCE_INFO = b"Content-Encoding: nonce\x00\x01"
_WEBPUSH_INFO = b"WebPush: info\x00"
_CURVE = ec.SECP256R1()
_X962 = serialization.Encoding.X962
_UNCOMPRESSED = serialization.PublicFormat.UncompressedPoint


@dataclass(frozen=True, repr=False)
class ReceiverKeys:
    """The browser's side of a subscription: its ECDH public key and the 16-byte auth secret."""

    public_key: ec.EllipticCurvePublicKey
    public_bytes: bytes
    auth_secret: bytes

    @classmethod
    def from_subscription(cls, p256dh: str, auth: str) -> "ReceiverKeys":
        """Parse stored keys. Raises ValueError for anything RFC 8291 §3.2/§7 does not allow: not
        base64url, not a 65-byte uncompressed point on P-256, or an auth secret not of 16 bytes."""
        raw = b64url_decode(p256dh)
        if len(raw) != 65 or raw[0] != 0x04:
            raise ValueError("p256dh is not an uncompressed P-256 point")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, raw)  # checks it is on the curve
        auth_secret = b64url_decode(auth)
        if len(auth_secret) != 16:
            raise ValueError("auth secret is not 16 bytes")
        return cls(public_key, raw, auth_secret)

    def __repr__(self) -> str:
        return "ReceiverKeys(<redacted>)"


def _hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.digest(key, message, "sha256")


def encrypt(
    plaintext: bytes,
    receiver: ReceiverKeys,
    *,
    sender_key: ec.EllipticCurvePrivateKey | None = None,
    salt: bytes | None = None,
) -> bytes:
    """The aes128gcm body of one push message. `sender_key` and `salt` are for test vectors only:
    by default each message gets a fresh ECDH key pair and a fresh random salt (RFC 8291 §3.1, §2)."""
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise PayloadTooLarge(len(plaintext), MAX_PLAINTEXT_BYTES)
    sender_key = sender_key or ec.generate_private_key(_CURVE)
    salt = salt or os.urandom(16)
    sender_public = sender_key.public_key().public_bytes(_X962, _UNCOMPRESSED)
    shared_secret = sender_key.exchange(ec.ECDH(), receiver.public_key)
    # RFC 8291 §3.3-3.4. Every output is at most one SHA-256 block, so each HKDF is a single HMAC.
    prk_key = _hmac_sha256(receiver.auth_secret, shared_secret)
    ikm = _hmac_sha256(prk_key, _WEBPUSH_INFO + receiver.public_bytes + sender_public + b"\x01")
    prk = _hmac_sha256(salt, ikm)
    content_key = _hmac_sha256(prk, _CEK_INFO)[:16]
    nonce = _hmac_sha256(prk, _NONCE_INFO)[:12]
    ciphertext = AESGCM(content_key).encrypt(nonce, plaintext + _LAST_RECORD_DELIMITER, None)
    return salt + _RS_AND_IDLEN + sender_public + ciphertext
