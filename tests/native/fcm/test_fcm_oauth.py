"""AccessTokens against the fake OAuth endpoint: what it signs, how long it keeps a token, how
many it mints under concurrency and after a 401, and what its failures say (no secrets)."""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import jwt
import pytest

from pushgate.delivery.fcm.oauth import SCOPE, AccessTokenError, AccessTokens
from pushgate.delivery.transport.h2_transport import H2Transport
from pushgate.delivery.transport.http2 import Request, Response
from pushgate_local.fakes.fcm import FakeFcm
from tests.native.fcm.conftest import KeyPair, Project


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recording:
    """Wraps the real transport and keeps what AccessTokens sent (to read the assertion)."""

    def __init__(self, http: H2Transport) -> None:
        self.http = http
        self.sent: list[Request] = []

    def send_all(self, requests: list[Request], deadline_seconds: float) -> list[Response | BaseException]:
        self.sent.extend(requests)
        return self.http.send_all(requests, deadline_seconds)


def test_the_assertion_is_what_google_asks_for(http: H2Transport, urls: dict[str, str], project: Project,
                                              keys: KeyPair) -> None:
    recording = Recording(http)
    tokens = AccessTokens(recording, urls["fcm-token"])

    assert tokens.token(project.account).startswith("ya29.")

    (request,) = recording.sent
    assert request.method == "POST" and request.url == urls["fcm-token"]
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    form = dict(pair.split("=", 1) for pair in request.body.decode().split("&"))
    assert form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    assertion = form["assertion"]
    assert jwt.get_unverified_header(assertion) == {"alg": "RS256", "typ": "JWT", "kid": project.private_key_id}
    claims = jwt.decode(assertion, keys.public_pem, algorithms=["RS256"], audience=urls["fcm-token"])
    assert claims["iss"] == project.client_email and claims["scope"] == SCOPE
    assert claims["exp"] - claims["iat"] == 3600


def test_one_token_serves_every_call_until_five_minutes_before_expiry(http: H2Transport, urls: dict[str, str], fake: FakeFcm,
                                                                     project: Project) -> None:
    clock = Clock(fake_now := time.time())
    fake.clock = clock  # the fake judges expiry by the same clock
    tokens = AccessTokens(http, urls["fcm-token"], clock=clock)

    first = tokens.token(project.account)
    clock.now = fake_now + 3600 - 301
    assert tokens.token(project.account) == first
    clock.now = fake_now + 3600 - 299

    second = tokens.token(project.account)

    assert second != first and tokens.minted == 2 and fake.tokens_issued == 2


def test_a_short_lived_token_is_kept_for_half_its_life_not_minted_per_call(http: H2Transport, urls: dict[str, str],
                                                                          fake: FakeFcm, project: Project) -> None:
    fake.token_lifetime = 60
    clock = Clock(time.time())
    tokens = AccessTokens(http, urls["fcm-token"], clock=clock)

    first = tokens.token(project.account)
    clock.now += 29
    assert tokens.token(project.account) == first
    clock.now += 2
    assert tokens.token(project.account) != first


def test_concurrent_callers_share_one_mint(http: H2Transport, urls: dict[str, str], fake: FakeFcm, project: Project) -> None:
    tokens = AccessTokens(http, urls["fcm-token"])
    with ThreadPoolExecutor(max_workers=16) as pool:
        seen = set(pool.map(lambda _: tokens.token(project.account), range(64)))
    assert len(seen) == 1 and tokens.minted == 1 and fake.tokens_issued == 1


def test_fifty_401s_with_the_same_token_make_one_new_token(http: H2Transport, urls: dict[str, str], fake: FakeFcm,
                                                          project: Project) -> None:
    tokens = AccessTokens(http, urls["fcm-token"])
    stale = tokens.token(project.account)
    start = threading.Barrier(50)

    def refused_then_retry(_: int) -> str:
        start.wait()
        tokens.invalidate(stale)
        return tokens.token(project.account)

    with ThreadPoolExecutor(max_workers=50) as pool:
        fresh = set(pool.map(refused_then_retry, range(50)))

    assert len(fresh) == 1 and stale not in fresh
    assert tokens.minted == 2 and fake.tokens_issued == 2


def test_invalidating_a_token_already_replaced_changes_nothing(http: H2Transport, urls: dict[str, str], project: Project) -> None:
    tokens = AccessTokens(http, urls["fcm-token"])
    stale = tokens.token(project.account)
    tokens.invalidate(stale)
    fresh = tokens.token(project.account)
    tokens.invalidate(stale)
    assert tokens.token(project.account) == fresh and tokens.minted == 2


def test_accounts_have_tokens_of_their_own(http: H2Transport, urls: dict[str, str], project: Project,
                                           other_project: Project) -> None:
    tokens = AccessTokens(http, urls["fcm-token"])
    assert tokens.token(project.account) != tokens.token(other_project.account)
    assert tokens.minted == 2


def test_a_refusal_raises_with_the_oauth_code_and_no_secret(http: H2Transport, urls: dict[str, str], project: Project,
                                                            other_project: Project) -> None:
    tokens = AccessTokens(http, urls["fcm-token"])
    wrong_key = replace(project.account, private_key=other_project.keys.private_pem)

    with pytest.raises(AccessTokenError) as refused:
        tokens.token(wrong_key)

    assert refused.value.code == "invalid_grant" and refused.value.status == 400
    message = str(refused.value)
    assert "PRIVATE KEY" not in message and "eyJ" not in message and "Signature" not in message
    assert tokens.minted == 0


def test_an_unusable_key_raises_before_any_request(http: H2Transport, urls: dict[str, str], project: Project,
                                                   fake: FakeFcm) -> None:
    tokens = AccessTokens(http, urls["fcm-token"])
    with pytest.raises(AccessTokenError) as refused:
        tokens.token(replace(project.account, private_key="-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"))
    assert refused.value.code == "private_key_unusable" and "not a key" not in str(refused.value)
    assert fake.tokens_issued == 0


def test_an_unreachable_token_endpoint_raises_a_transient_error(http: H2Transport, project: Project) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    tokens = AccessTokens(http, f"https://127.0.0.1:{port}/token")

    with pytest.raises(AccessTokenError) as failed:
        tokens.token(project.account)

    assert failed.value.status is None and failed.value.code.startswith("token_endpoint_unreachable:")
