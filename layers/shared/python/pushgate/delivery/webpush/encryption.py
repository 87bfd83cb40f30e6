"""RFC 8291 message encryption (aes128gcm, RFC 8188) for one Web Push message, done by pywebpush.

pywebpush's `WebPusher.encode` encrypts (through http_ece): a fresh ECDH key pair and salt per
message, HKDF, AES-128-GCM, one record. This module adds what it leaves to its caller: strict
checks of the stored keys (pywebpush checks p256dh's length only: its test of the leading 0x04
compares a byte with a str) and the one-record size limit, checked before anything is encrypted.

The output is pinned byte for byte to the RFC 8291 §5 vector, and decrypted in the tests by a
decryptor written on `cryptography` alone and, end to end, by an npm push service.
"""

from __future__ import annotations

import binascii
from dataclasses import dataclass

import pywebpush

from pushgate.delivery.errors import PayloadTooLarge
from pushgate.validation import BASE64URL as _BASE64URL

CONTENT_ENCODING = "aes128gcm"
RECORD_SIZE = 4096  # RFC 8030 §7.2: push services must accept bodies up to 4096 bytes
HEADER_SIZE = 16 + 4 + 1 + 65  # salt, rs, idlen, keyid (RFC 8188 §2.1)
TAG_SIZE = 16
# One record only (RFC 8291 §4): header + plaintext + 0x02 delimiter + tag must fit in 4096 bytes.
MAX_PLAINTEXT_BYTES = RECORD_SIZE - HEADER_SIZE - 1 - TAG_SIZE  # 3993


@dataclass(frozen=True, repr=False)
class ReceiverKeys:
    """The browser's side of a subscription, checked: pywebpush's WebPusher for its p256dh (the
    browser's ECDH public key) and its 16-byte auth secret."""

    pusher: pywebpush.WebPusher

    @classmethod
    def from_subscription(cls, p256dh: str, auth: str) -> "ReceiverKeys":
        """Check stored keys. Raises ValueError for what RFC 8291 §3.2/§7 does not allow: not
        base64url, not a 65-byte uncompressed point, or an auth secret not of 16 bytes. Whether
        the point is on P-256 is checked where it is used, by the ECDH in `encrypt`: checking it
        here as well parsed every point twice."""
        # pywebpush decodes leniently (it skips characters outside the alphabet): the strict
        # alphabet check comes first, the lengths are checked on what it decoded.
        if not _BASE64URL.match(p256dh) or not _BASE64URL.match(auth):
            raise ValueError("not base64url")
        try:
            pusher = pywebpush.WebPusher({"endpoint": "", "keys": {"p256dh": p256dh, "auth": auth}})
        except binascii.Error as exc:
            raise ValueError("not base64url") from exc
        except pywebpush.WebPushException as exc:  # its own length check of p256dh
            raise ValueError("p256dh is not an uncompressed P-256 point") from exc
        receiver_key, auth_secret = pusher.receiver_key, pusher.auth_key
        if len(receiver_key) != 65 or receiver_key[0] != 0x04:
            raise ValueError("p256dh is not an uncompressed P-256 point")
        if len(auth_secret) != 16:
            raise ValueError("auth secret is not 16 bytes")
        return cls(pusher)

    def __repr__(self) -> str:
        return "ReceiverKeys(<redacted>)"


def encrypt(plaintext: bytes, receiver: ReceiverKeys) -> bytes:
    """The aes128gcm body of one push message, with a fresh ECDH key pair and a fresh random salt
    (RFC 8291 §3.1, §2). Raises PayloadTooLarge over one record, ValueError when p256dh is not a
    point on P-256."""
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise PayloadTooLarge(len(plaintext), MAX_PLAINTEXT_BYTES)
    return receiver.pusher.encode(plaintext, CONTENT_ENCODING)["body"]
