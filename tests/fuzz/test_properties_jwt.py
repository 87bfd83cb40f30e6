"""User JWT checks (docs/api.md §0, pushgate.credentials): accepted only when RS256-signed by one of
the app's registered keys, with a numeric `exp` not past by more than the 60 s leeway, `nbf`/`iat`
not ahead by more, and a valid user id in `sub`; every other token - hypothesis-mutated headers
(`alg` none, HS256 keyed with the public key, other algorithms), claims of any type, other keys,
tampered parts - is refused with Unauthenticated and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushgate.credentials import JWT_LEEWAY_SECONDS, Authenticator
from pushgate.errors import Unauthenticated
from pushgate.models import App
from pushgate.validation import MAX_USER_ID_LENGTH
from tests.fuzz.budget import property_settings
from tests.keys import _signing_key, rsa_key_pair

NOW = 1_800_000_000
PRIVATE_PEM, PUBLIC_PEM = rsa_key_pair()
STRANGER_PEM, _ = rsa_key_pair()
APP = App(
    app_id="app_fuzz", name="fuzz", account_id=1, secret_key_hash="s", public_key_hash="p",
    user_token_keys=(PUBLIC_PEM,), webpush_channel_id="c", created_at=NOW,
)
AUTHENTICATOR = Authenticator(repository=None, clock=lambda: NOW)  # type: ignore[arg-type] - JWTs need no table


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64json(value: object) -> str:
    return b64(json.dumps(value).encode())


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3), max_leaves=5)
offsets = st.one_of(st.integers(-3 * JWT_LEEWAY_SECONDS, 3 * JWT_LEEWAY_SECONDS), st.integers(-10**9, 10**9), st.sampled_from([-JWT_LEEWAY_SECONDS - 1, -JWT_LEEWAY_SECONDS, -JWT_LEEWAY_SECONDS + 1, JWT_LEEWAY_SECONDS, JWT_LEEWAY_SECONDS + 1]))
time_claims = st.one_of(st.none(), offsets.map(lambda offset: NOW + offset), offsets.map(lambda offset: NOW + offset + 0.5), json_values)
subjects = st.one_of(st.text(max_size=20), st.text(min_size=MAX_USER_ID_LENGTH - 1, max_size=MAX_USER_ID_LENGTH + 1), json_values)
algorithms = st.sampled_from(["RS256", "RS256", "RS256", "none", "None", "HS256", "RS384", "RS512", "PS256", "ES256", "rs256", ""])
signers = st.sampled_from(["app key", "app key", "app key", "stranger key", "HS256 with the public key", "no signature", "garbage signature"])


@st.composite
def tokens(draw: st.DrawFn) -> tuple[str, dict, dict, str]:
    header = {"alg": draw(algorithms), "typ": draw(st.sampled_from(["JWT", "jwt", None]))}
    header.update(draw(st.dictionaries(st.sampled_from(["kid", "jku", "x5u", "crit", "cty"]), json_values, max_size=2)))
    header = {name: value for name, value in header.items() if value is not None}
    claims = {name: draw(time_claims) for name in ("exp", "nbf", "iat")}
    claims["sub"] = draw(subjects)
    claims = {name: value for name, value in claims.items() if value is not None or draw(st.booleans())}
    signer = draw(signers)
    signing_input = f"{b64json(header)}.{b64json(claims)}"
    if signer in ("app key", "stranger key"):
        key = _signing_key(PRIVATE_PEM if signer == "app key" else STRANGER_PEM)
        signature = key.sign(signing_input.encode(), *_rs256())
    elif signer == "HS256 with the public key":
        signature = hmac.new(PUBLIC_PEM.encode(), signing_input.encode(), hashlib.sha256).digest()
    elif signer == "garbage signature":
        signature = draw(st.binary(max_size=300))
    else:
        signature = b""
    return f"{signing_input}.{b64(signature)}", header, claims, signer


def _rs256() -> tuple:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return padding.PKCS1v15(), hashes.SHA256()


def is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def should_accept(header: dict, claims: dict, signer: str) -> bool:
    exp, sub = claims.get("exp"), claims.get("sub")
    times_ok = all(claims.get(name) is None or is_number(claims[name]) for name in ("exp", "nbf", "iat"))
    return (
        header.get("alg") == "RS256"
        and signer == "app key"
        and times_ok
        and exp is not None
        and exp > NOW - JWT_LEEWAY_SECONDS
        and all(claims.get(name) is None or claims[name] <= NOW + JWT_LEEWAY_SECONDS for name in ("nbf", "iat"))
        and isinstance(sub, str)
        and 0 < len(sub) <= MAX_USER_ID_LENGTH
        and sub.isprintable()
    )


@property_settings(600)
@given(tokens())
def test_only_rs256_tokens_of_a_registered_key_within_their_time_are_accepted(token: tuple[str, dict, dict, str]) -> None:
    text, header, claims, signer = token
    try:
        user = AUTHENTICATOR.user_from_jwt(APP, text)
    except Unauthenticated:
        accepted = False
    else:
        accepted = True
        assert user == claims["sub"]
    if accepted:
        # Nothing the rule refuses gets in (a crit header or an odd typ may still be refused by PyJWT).
        assert should_accept(header, claims, signer), f"accepted: header {header}, claims {claims}, {signer}"
    elif should_accept(header, claims, signer):
        assert set(header) - {"alg", "typ", "kid", "jku", "x5u", "cty"} or header.get("typ") not in (None, "JWT", "jwt"), (
            f"refused a valid token: header {header}, claims {claims}"
        )


@property_settings(300)
@given(tokens(), st.integers(0, 600), st.binary(min_size=1, max_size=1))
def test_any_tampered_byte_is_refused(token: tuple[str, dict, dict, str], position: int, byte: bytes) -> None:
    text = token[0]
    index = position % len(text)
    tampered = text[:index] + chr(byte[0] % 128) + text[index + 1 :]
    if tampered == text:
        return
    try:
        AUTHENTICATOR.user_from_jwt(APP, tampered)
    except Unauthenticated:
        return
    # Only a change base64url decodes to the same bytes (a last character's unused bits) may pass.
    assert should_accept(token[1], token[2], token[3])
    assert [b64decode(part) for part in tampered.split(".")] == [b64decode(part) for part in text.split(".")]


def b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except ValueError:
        return b"\x00invalid" + part.encode()


@pytest.mark.parametrize("offset", [-JWT_LEEWAY_SECONDS, -JWT_LEEWAY_SECONDS + 1])
def test_the_expiry_leeway_is_60_seconds(offset: int) -> None:
    token = jwt.encode({"sub": "alice", "exp": NOW + offset}, _signing_key(PRIVATE_PEM), algorithm="RS256")
    if offset == -JWT_LEEWAY_SECONDS:
        with pytest.raises(Unauthenticated):
            AUTHENTICATOR.user_from_jwt(APP, token)
    else:
        assert AUTHENTICATOR.user_from_jwt(APP, token) == "alice"

