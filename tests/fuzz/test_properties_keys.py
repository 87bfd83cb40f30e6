"""Subscription keys (RFC 8291 §3.2, docs/api.md §6): p256dh is an uncompressed point on P-256 and
auth exactly 16 bytes, both in base64url (padding optional). Valid keys are accepted and come back
canonical; anything else is refused with InvalidP256dh / InvalidAuthSecret, never another
exception. The curve check is compared with the curve equation itself, not with the library the
code uses."""

from __future__ import annotations

import base64

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given
from hypothesis import strategies as st

from pushgate.errors import InvalidAuthSecret, InvalidP256dh
from pushgate.validation import check_auth_secret, check_p256dh
from tests.fuzz.budget import property_settings

# P-256 (SEC 2 §2.4.2 / FIPS 186-4 D.1.2.3): y^2 = x^3 - 3x + b over GF(p), of order n.
P = 2**256 - 2**224 + 2**192 + 2**96 - 1
B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def on_curve(raw: bytes) -> bool:
    if len(raw) != 65 or raw[0] != 4:
        return False
    x, y = int.from_bytes(raw[1:33]), int.from_bytes(raw[33:])
    return x < P and y < P and (y * y - (x * x * x - 3 * x + B)) % P == 0


def b64url(raw: bytes, padded: bool = False) -> str:
    text = base64.urlsafe_b64encode(raw).decode()
    return text if padded else text.rstrip("=")


points = st.integers(1, N - 1).map(
    lambda scalar: ec.derive_private_key(scalar, ec.SECP256R1())
    .public_key()
    .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
)
# Points with one coordinate byte flipped (almost never on the curve), other lengths and prefixes.
raw_keys = st.one_of(
    points,
    st.tuples(points, st.integers(1, 64), st.integers(1, 255)).map(lambda t: t[0][: t[1]] + bytes([t[0][t[1]] ^ t[2]]) + t[0][t[1] + 1 :]),
    st.binary(min_size=64, max_size=66),
    st.binary(max_size=80),
    st.tuples(st.sampled_from([b"\x02", b"\x03", b"\x00"]), points).map(lambda t: t[0] + t[1][1:]),
)
base64ish = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+/=. \n\t", max_size=100)


@property_settings(400)
@given(raw_keys, st.booleans())
def test_p256dh_accepts_exactly_the_points_on_the_curve(raw: bytes, padded: bool) -> None:
    encoded = b64url(raw, padded)
    if on_curve(raw):
        assert check_p256dh(encoded) == b64url(raw)
    else:
        with pytest.raises(InvalidP256dh):
            check_p256dh(encoded)


@property_settings(1000)
@given(st.one_of(st.text(max_size=120), base64ish, points.map(b64url).flatmap(lambda key: st.sampled_from([key + "=", key + "==", key + "===", " " + key, key + "\n", key.replace("-", "+"), key[:-1]]))))
def test_p256dh_refuses_anything_else_with_its_documented_error(value: str) -> None:
    try:
        canonical = check_p256dh(value)
    except InvalidP256dh as error:
        assert error.field == "p256dh"
        return
    raw = base64.urlsafe_b64decode(canonical + "=" * (-len(canonical) % 4))
    # A non-canonical spelling (unused low bits set in the last character) reads as the same bytes.
    assert on_curve(raw) and base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4)) == raw


@property_settings(1000)
@given(st.binary(max_size=40), st.booleans())
def test_auth_accepts_exactly_16_bytes(raw: bytes, padded: bool) -> None:
    if len(raw) == 16:
        assert check_auth_secret(b64url(raw, padded)) == b64url(raw)
    else:
        with pytest.raises(InvalidAuthSecret):
            check_auth_secret(b64url(raw, padded))


@property_settings(1000)
@given(st.one_of(st.text(max_size=60), base64ish))
def test_auth_refuses_anything_else_with_its_documented_error(value: str) -> None:
    try:
        canonical = check_auth_secret(value)
    except InvalidAuthSecret as error:
        assert error.field == "auth"
        return
    raw = base64.urlsafe_b64decode(canonical + "=" * (-len(canonical) % 4))
    assert len(raw) == 16 and base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4)) == raw
