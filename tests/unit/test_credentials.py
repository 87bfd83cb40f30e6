"""Credential rules of docs/api.md §0: hashed keys, expiring sessions, RS256-only user JWTs."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from pushgate.credentials import Authenticator
from pushgate.errors import Forbidden, Unauthenticated
from pushgate.identifiers import credential_hash
from pushgate.services.apps import AppService
from pushgate.services.sessions import SessionService
from tests.fakes import FakeClock, InMemoryRepository, InMemorySecretStore
from tests.keys import rsa_key_pair, user_jwt


@pytest.fixture
def world():  # noqa: ANN201
    clock, repo, secrets = FakeClock(), InMemoryRepository(), InMemorySecretStore()
    apps = AppService(repo, secrets, "/pushgate/test", clock)
    first, second = apps.create_app("first"), apps.create_app("second")
    private_pem = secrets.get_secret(apps.user_token_key_parameter(first.app.app_id))
    return {
        "clock": clock,
        "repo": repo,
        "auth": Authenticator(repo, clock),
        "sessions": SessionService(repo, clock),
        "first": first,
        "second": second,
        "private_pem": private_pem,
    }


def test_keys_and_session_ids_are_stored_only_as_hashes(world) -> None:  # noqa: ANN001
    created = world["first"]
    repo: InMemoryRepository = world["repo"]
    session_id, _ = world["sessions"].create(created.app, "alice")
    stored = json.dumps([a.model_dump() for a in repo.apps.values()]) + json.dumps(list(repo.api_keys)) + json.dumps(list(repo.sessions))
    for secret in (created.secret_key, created.public_key, session_id):
        assert secret not in stored
    assert credential_hash(created.secret_key) in repo.api_keys


def test_secret_and_public_keys_resolve_only_as_their_own_kind(world) -> None:  # noqa: ANN001
    auth, created = world["auth"], world["first"]
    assert auth.app_for_secret_key(created.secret_key).app_id == created.app.app_id
    assert auth.app_for_public_key(created.public_key).app_id == created.app.app_id
    with pytest.raises(Unauthenticated):
        auth.app_for_secret_key(created.public_key)
    with pytest.raises(Unauthenticated):
        auth.app_for_public_key(created.secret_key)
    for bad in (None, "", "sk_unknown", 42):
        with pytest.raises(Unauthenticated):
            auth.app_for_secret_key(bad)


def test_session_expires(world) -> None:  # noqa: ANN001
    session_id, session = world["sessions"].create(world["first"].app, "alice", 60)
    assert world["auth"].session(session_id)[0].user_id == "alice"
    world["clock"].advance(60)
    with pytest.raises(Unauthenticated):
        world["auth"].session(session_id)


def test_account_caller_checks_session_then_account(world) -> None:  # noqa: ANN001
    auth, first, second = world["auth"], world["first"], world["second"]
    session_id, _ = world["sessions"].create(first.app, "alice")
    assert auth.account_caller(str(first.app.account_id), session_id).user_id == "alice"
    with pytest.raises(Forbidden):
        auth.account_caller(str(second.app.account_id), session_id)
    with pytest.raises(Forbidden):
        auth.account_caller("not-a-number", session_id)
    with pytest.raises(Unauthenticated):
        auth.account_caller(str(first.app.account_id), "ses_forged")
    with pytest.raises(Unauthenticated):
        auth.account_caller(str(first.app.account_id), None)


def test_user_jwt_is_accepted_with_rs256_and_the_apps_key(world) -> None:  # noqa: ANN001
    app = world["first"].app
    token = user_jwt(world["private_pem"], "bob", now=world["clock"].now)
    assert world["auth"].user_from_jwt(app, token) == "bob"
    assert world["auth"].caller_for_token(app, token).user_id == "bob"
    assert world["auth"].account_caller(str(app.account_id), token).user_id == "bob"


def _unsigned(claims: dict, header: dict) -> str:
    encode = lambda part: base64.urlsafe_b64encode(json.dumps(part).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{encode(header)}.{encode(claims)}."


def test_alg_none_is_rejected(world) -> None:  # noqa: ANN001
    now = int(world["clock"].now)
    token = _unsigned({"sub": "mallory", "exp": now + 600}, {"alg": "none", "typ": "JWT"})
    with pytest.raises(Unauthenticated):
        world["auth"].user_from_jwt(world["first"].app, token)


def test_hs256_signed_with_the_public_key_is_rejected(world) -> None:  # noqa: ANN001
    # The classic key-confusion attack: HMAC keyed with the (public) verification key.
    app = world["first"].app
    now = int(world["clock"].now)
    import hashlib
    import hmac

    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps({"sub": "mallory", "exp": now + 600}).encode()).rstrip(b"=")
    signature = hmac.new(app.user_token_keys[0].encode(), header + b"." + body, hashlib.sha256).digest()
    token = (header + b"." + body + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
    with pytest.raises(Unauthenticated):
        world["auth"].user_from_jwt(app, token)
    with pytest.raises(Unauthenticated):
        world["auth"].user_from_jwt(app, jwt.encode({"sub": "m", "exp": now + 600}, "s" * 32, algorithm="HS256"))


def test_expiry_is_required_and_enforced_with_at_most_60s_leeway(world) -> None:  # noqa: ANN001
    app, pem, now = world["first"].app, world["private_pem"], world["clock"].now
    assert world["auth"].user_from_jwt(app, user_jwt(pem, ttl=-59, now=now)) == "alice"
    with pytest.raises(Unauthenticated):
        world["auth"].user_from_jwt(app, user_jwt(pem, ttl=-60, now=now))
    no_exp = jwt.encode({"sub": "alice", "iat": int(now)}, pem, algorithm="RS256")
    with pytest.raises(Unauthenticated):
        world["auth"].user_from_jwt(app, no_exp)
    with pytest.raises(Unauthenticated):
        world["auth"].user_from_jwt(app, jwt.encode({"sub": "alice", "exp": "never"}, pem, algorithm="RS256"))


def test_nbf_and_iat_in_the_future_are_rejected_beyond_the_leeway(world) -> None:  # noqa: ANN001
    app, pem, now = world["first"].app, world["private_pem"], world["clock"].now
    assert world["auth"].user_from_jwt(app, user_jwt(pem, now=now, nbf=int(now) + 60))
    for claim in ("nbf", "iat"):
        with pytest.raises(Unauthenticated):
            world["auth"].user_from_jwt(app, user_jwt(pem, now=now, ttl=3600, **{claim: int(now) + 61}))


def test_sub_is_required_and_must_be_a_valid_user_id(world) -> None:  # noqa: ANN001
    app, pem = world["first"].app, world["private_pem"]
    now = world["clock"].now
    for token in (user_jwt(pem, sub=None, now=now), user_jwt(pem, sub="", now=now), user_jwt(pem, sub="x" * 257, now=now)):
        with pytest.raises(Unauthenticated):
            world["auth"].user_from_jwt(app, token)


def test_another_apps_key_or_a_tampered_token_is_rejected(world) -> None:  # noqa: ANN001
    other_private, _ = rsa_key_pair()
    with pytest.raises(Unauthenticated):
        world["auth"].user_from_jwt(world["first"].app, user_jwt(other_private, now=world["clock"].now))
    token = user_jwt(world["private_pem"], "alice", now=world["clock"].now)
    header, payload, signature = token.split(".")
    forged_payload = base64.urlsafe_b64encode(json.dumps({"sub": "admin", "exp": 9_999_999_999}).encode()).rstrip(b"=").decode()
    with pytest.raises(Unauthenticated):
        world["auth"].user_from_jwt(world["first"].app, f"{header}.{forged_payload}.{signature}")
    # A token of the first app gives nothing in the second.
    with pytest.raises(Unauthenticated):
        world["auth"].caller_for_token(world["second"].app, token)


def test_session_of_one_app_is_not_accepted_by_another(world) -> None:  # noqa: ANN001
    session_id, _ = world["sessions"].create(world["first"].app, "alice")
    with pytest.raises(Unauthenticated):
        world["auth"].caller_for_token(world["second"].app, session_id)
