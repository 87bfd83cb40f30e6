"""ProviderTokens: the JWT Apple documents, signed once per (team, key) and refresh period, and
re-signed once, not once per refused request, when APNs calls it expired."""

from __future__ import annotations

import threading

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from pushgate.delivery.apns.provider_token import REFRESH_SECONDS, ProviderTokens
from pushgate.delivery.errors import ConfigurationError
from tests.native.apns.conftest import KEY_ID, TEAM_ID, Clock, ProviderKey, new_provider_key


def test_the_token_is_es256_with_exactly_the_header_and_claims_apple_documents(provider_key: ProviderKey, clock: Clock) -> None:
    token = ProviderTokens(clock=clock).token_for(TEAM_ID, KEY_ID, provider_key.private_pem)

    assert jwt.get_unverified_header(token) == {"alg": "ES256", "kid": KEY_ID}
    claims = jwt.decode(token, provider_key.public_pem, algorithms=["ES256"], options={"verify_iat": False})
    assert claims == {"iss": TEAM_ID, "iat": int(clock())}


def test_the_refresh_period_is_clear_of_both_apple_limits() -> None:
    # Apple: older than 60 min is ExpiredProviderToken; newer than 20 min is TooManyProviderTokenUpdates.
    assert 20 * 60 < REFRESH_SECONDS < 50 * 60


def test_one_token_is_reused_until_the_refresh_period_has_passed(provider_key: ProviderKey, clock: Clock) -> None:
    tokens = ProviderTokens(clock=clock)
    first = tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem)

    reused = {tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem) for _ in range(10_000)}
    clock.advance(REFRESH_SECONDS - 1)
    still = tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem)
    clock.advance(1)
    renewed = tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem)

    assert reused == {first} and still == first
    assert renewed != first
    assert jwt.decode(renewed, options={"verify_signature": False})["iat"] == int(clock())
    assert tokens.signings == 2


def test_threads_that_all_need_a_token_at_once_get_one_signature(provider_key: ProviderKey, clock: Clock) -> None:
    tokens = ProviderTokens(clock=clock)
    start = threading.Barrier(32)
    got: list[str] = []

    def take() -> None:
        start.wait()
        got.append(tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem))

    threads = [threading.Thread(target=take) for _ in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(got)) == 1 and tokens.signings == 1


def test_invalidating_a_token_many_times_at_once_re_signs_once(provider_key: ProviderKey, clock: Clock) -> None:
    tokens = ProviderTokens(clock=clock)
    stale = tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem)
    start = threading.Barrier(50)
    dropped: list[bool] = []
    fresh: list[str] = []

    def refused_as_expired() -> None:  # what each request refused with ExpiredProviderToken leads to
        start.wait()
        dropped.append(tokens.invalidate(stale))
        fresh.append(tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem))

    threads = [threading.Thread(target=refused_as_expired) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert dropped.count(True) == 1
    assert len(set(fresh)) == 1 and stale not in fresh
    assert tokens.signings == 2


def test_invalidating_an_unknown_token_changes_nothing(provider_key: ProviderKey, clock: Clock) -> None:
    tokens = ProviderTokens(clock=clock)
    token = tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem)

    assert tokens.invalidate("not-a-token-we-signed") is False
    assert tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem) == token and tokens.signings == 1


def test_each_team_and_key_has_its_own_token(provider_key: ProviderKey, clock: Clock) -> None:
    tokens = ProviderTokens(clock=clock)
    other_key = new_provider_key()

    first = tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem)
    second = tokens.token_for("TEAM999999", "KEY9999999", other_key.private_pem)

    assert jwt.decode(second, other_key.public_pem, algorithms=["ES256"], options={"verify_iat": False})["iss"] == "TEAM999999"
    assert tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem) == first
    assert tokens.signings == 2


def test_a_replaced_key_under_the_same_key_id_is_signed_with_at_once(provider_key: ProviderKey, clock: Clock) -> None:
    tokens = ProviderTokens(clock=clock)
    tokens.token_for(TEAM_ID, KEY_ID, provider_key.private_pem)
    replacement = new_provider_key()

    token = tokens.token_for(TEAM_ID, KEY_ID, replacement.private_pem)

    jwt.decode(token, replacement.public_pem, algorithms=["ES256"], options={"verify_iat": False})


def test_a_key_that_is_not_p256_is_a_configuration_error_that_does_not_quote_it(clock: Clock) -> None:
    rsa_pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    garbage = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49secretsecret\n-----END PRIVATE KEY-----\n"
    tokens = ProviderTokens(clock=clock)

    for pem in (rsa_pem, garbage):
        with pytest.raises(ConfigurationError) as raised:
            tokens.token_for(TEAM_ID, KEY_ID, pem)
        assert "secret" not in str(raised.value) and "MII" not in str(raised.value)
    assert tokens.signings == 0
