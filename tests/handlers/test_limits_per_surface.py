"""Per-app request rates through the real handlers, under moto (docs/limits.md).

The deployment's rates are set low through the environment, as template.yaml passes them (send 1/s,
a bucket of 2; subscribe 1.5/s, a bucket of 3), and the limiter's clock is frozen, so a bucket
refills only when a test moves the clock: every count below is exact."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pushgate.models import RateLimits
from tests.events import http_request, ws_event
from tests.fakes import FakeClock
from tests.keys import browser_keys
from tests.surfaces import Surfaces, Tenant, web_subscription

SEND_BURST, SUBSCRIBE_BURST = 2, 3
ENDPOINT = "https://fcm.googleapis.com/fcm/send/limits-test"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pushgate(aws, monkeypatch: pytest.MonkeyPatch, clock: FakeClock):  # noqa: ANN001, ANN201 - replaces tests/conftest.py's
    """The wired services with the low rates, their limiter on the frozen clock."""
    from pushgate import config, wiring

    monkeypatch.setenv("PUSHGATE_SEND_RATE_PER_SECOND", "1")
    monkeypatch.setenv("PUSHGATE_SUBSCRIBE_RATE_PER_SECOND", "1.5")
    config.settings.cache_clear()
    wiring.services.cache_clear()
    services = wiring.services()
    monkeypatch.setattr(services.limiter, "_clock", clock)
    return services


@pytest.fixture
def keys() -> tuple[str, str]:
    return browser_keys()


# One authenticated request of each surface: (function, event maker) and how its 429 reads.
Request = Callable[[Tenant, tuple[str, str]], tuple[str, dict[str, Any]]]


def account_subscribe(tenant: Tenant, keys: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    fields = {"session_id": tenant.session("alice"), "endpoint": ENDPOINT, "key_p256dh": keys[0], "key_auth": keys[1]}
    event = http_request("http-account-push-subscribe-post-json.json", path_parameters={"account_id": str(tenant.app.account_id)},
                         query={}, body=fields)
    return "account_push_subscribe", event


def device_subscribe(tenant: Tenant, keys: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    headers = {"im-client-key": tenant.public_key, "im-authorization": tenant.session("alice")}
    body = {"type": "web", "deviceId": "browser", "subscription": web_subscription(ENDPOINT, keys)}
    return "device_subscribe", http_request("http-device-subscribe-web.json", headers=headers, body=body)


def device_list_server_side(tenant: Tenant, keys: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    """IM-API-KEY: the secret key on the device API still counts as the subscribe group."""
    return "list_my_devices", http_request("http-list-my-devices.json", headers={"im-api-key": tenant.secret_key, "im-client-key": None,
                                                                                "im-authorization": None}, query={"clientId": "alice"})


def channel_list(tenant: Tenant, keys: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    headers = {"x-notiflows-api-key": tenant.public_key, "x-notiflows-user-key": tenant.jwt("alice"), "x-request-id": "req-limits"}
    return "channel_subscription_list", http_request("http-channel-subscription-list.json",
                                                     path_parameters={"channel_id": tenant.channel_id}, headers=headers)


def list_topics(tenant: Tenant, keys: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    return "list_topics", http_request("http-list-topics.json", query={"api_key": tenant.secret_key})


def create_session(tenant: Tenant, keys: tuple[str, str]) -> tuple[str, dict[str, Any]]:
    return "create_session", http_request("http-create-session.json", query={"api_key": tenant.secret_key}, body={"user_id": "alice"})


def account_envelope(body: dict[str, Any]) -> None:
    assert body == {"error_no": 429, "error_message": "Too Many Requests"}


def device_envelope(body: dict[str, Any]) -> None:
    assert (body["RC"], body["RM"], body["error"]["code"]) == (429, "Too Many Requests", "RATE_LIMITED")


def channel_envelope(body: dict[str, Any]) -> None:
    error = body["error"]
    assert (error["code"], error["status"], error["type"], error["request_id"]) == ("rate_limited", 429, "/docs/errors#rate_limited-429", "req-limits")
    assert error["details"] == {"retry_after": 1, "window": "1s"}


def pushy_envelope(body: dict[str, Any]) -> None:
    assert body["code"] == "RATE_LIMITED" and body["error"]


SURFACES: dict[str, tuple[Request, int, Callable[[dict[str, Any]], None], int]] = {
    # name: (request, the bucket it uses, how its 429 reads, its success status)
    "account": (account_subscribe, SUBSCRIBE_BURST, account_envelope, 200),
    "device": (device_subscribe, SUBSCRIBE_BURST, device_envelope, 200),
    "device-server-side": (device_list_server_side, SUBSCRIBE_BURST, device_envelope, 200),
    "channel": (channel_list, SUBSCRIBE_BURST, channel_envelope, 200),
    "topics": (list_topics, SEND_BURST, pushy_envelope, 200),
    "sessions": (create_session, SEND_BURST, pushy_envelope, 201),
}


def call(surfaces: Surfaces, request: Request, tenant: Tenant, keys: tuple[str, str]) -> dict[str, Any]:
    function, event = request(tenant, keys)
    return surfaces.invoke(function, event)


def statuses(surfaces: Surfaces, request: Request, tenant: Tenant, keys: tuple[str, str], count: int) -> list[int]:
    return [call(surfaces, request, tenant, keys)["statusCode"] for _ in range(count)]


@pytest.mark.parametrize("surface", SURFACES)
def test_beyond_the_bucket_each_surface_answers_429_in_its_envelope_with_retry_after(surface, surfaces, tenant, keys) -> None:  # noqa: ANN001
    request, burst, envelope, ok = SURFACES[surface]
    assert statuses(surfaces, request, tenant, keys, burst) == [ok] * burst
    refused = call(surfaces, request, tenant, keys)
    assert refused["statusCode"] == 429
    headers = {name.lower(): value for name, value in refused["headers"].items()}
    assert headers["retry-after"] == "1"
    envelope(json.loads(refused["body"]))


@pytest.mark.parametrize("surface", SURFACES)
def test_another_app_is_unaffected(surface, surfaces, tenant, other_tenant, keys) -> None:  # noqa: ANN001
    request, burst, _, ok = SURFACES[surface]
    statuses(surfaces, request, tenant, keys, burst + 1)
    assert statuses(surfaces, request, other_tenant, browser_keys(), burst) == [ok] * burst


def test_the_groups_are_separate_buckets(surfaces, tenant, keys) -> None:  # noqa: ANN001
    assert statuses(surfaces, list_topics, tenant, keys, SEND_BURST + 1)[-1] == 429
    assert statuses(surfaces, channel_list, tenant, keys, SUBSCRIBE_BURST) == [200] * SUBSCRIBE_BURST


def test_a_token_comes_back_at_the_rate(surfaces, tenant, keys, clock) -> None:  # noqa: ANN001
    statuses(surfaces, list_topics, tenant, keys, SEND_BURST + 1)
    clock.now += 1.0  # send: 1 a second
    assert statuses(surfaces, list_topics, tenant, keys, 2) == [200, 429]


def test_the_apps_own_rate_applies(surfaces, tenant, other_tenant, keys, pushgate) -> None:  # noqa: ANN001
    assert pushgate.repository.set_rate_limits(tenant.app_id, RateLimits(send=3))  # a bucket of 6
    assert statuses(surfaces, list_topics, tenant, keys, 7) == [200] * 6 + [429]
    assert statuses(surfaces, list_topics, other_tenant, keys, SEND_BURST + 1) == [200] * SEND_BURST + [429]
    assert statuses(surfaces, channel_list, tenant, keys, SUBSCRIBE_BURST + 1)[-1] == 429  # subscribe: still the deployment's


def test_requests_that_fail_authentication_cost_the_app_nothing(surfaces, tenant, keys) -> None:  # noqa: ANN001
    headers = {"x-notiflows-api-key": tenant.public_key, "x-notiflows-user-key": "not.a.jwt", "x-request-id": "r"}
    forged = http_request("http-channel-subscription-list.json", path_parameters={"channel_id": tenant.channel_id}, headers=headers)
    assert [surfaces.invoke("channel_subscription_list", forged)["statusCode"] for _ in range(SUBSCRIBE_BURST + 2)] == [401] * (SUBSCRIBE_BURST + 2)
    assert statuses(surfaces, channel_list, tenant, keys, SUBSCRIBE_BURST) == [200] * SUBSCRIBE_BURST


def test_the_limiter_failing_lets_requests_through(surfaces, tenant, keys, pushgate, monkeypatch) -> None:  # noqa: ANN001
    def unavailable(*args: Any) -> None:  # noqa: ANN401
        raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "throttled"}}, "UpdateItem")

    monkeypatch.setattr(pushgate.repository, "take_token", unavailable)
    assert statuses(surfaces, list_topics, tenant, keys, SEND_BURST + 3) == [200] * (SEND_BURST + 3)


def test_a_rate_of_zero_is_no_limit(aws, monkeypatch, import_handler, lambda_context) -> None:  # noqa: ANN001
    from pushgate import config, wiring

    monkeypatch.setenv("PUSHGATE_SEND_RATE_PER_SECOND", "0")
    config.settings.cache_clear()
    wiring.services.cache_clear()
    tenant = Tenant(wiring.services().apps().create_app("unlimited"), wiring.services())
    surfaces = Surfaces(import_handler, lambda_context)
    assert statuses(surfaces, list_topics, tenant, browser_keys(), 10) == [200] * 10


# -- §1 WebSocket: commands count as subscribe; $connect and $default are not counted --------------


def test_websocket_commands_count_against_subscribe(surfaces, tenant, keys) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    for _ in range(3):  # $connect with a token, and unknown commands ($default), cost nothing
        surfaces.ws_open(tenant, "alice")
        assert surfaces.ws(connection, {"cmd": "nope"})["val"] == "Unknown command"
    replies = [surfaces.ws_subscribe(connection, ENDPOINT, keys) for _ in range(SUBSCRIBE_BURST)]
    assert [reply["cmd"] for reply in replies] == ["push_subscribed"] * SUBSCRIBE_BURST
    for command in ({"cmd": "push_get_vapid"}, {"cmd": "push_unsubscribe", "endpoint": ENDPOINT},
                    {"cmd": "push_subscribe", "subscription": web_subscription(ENDPOINT, keys)}, {"cmd": "auth", "token": tenant.session("alice")}):
        assert surfaces.ws(connection, command) == {"cmd": "error", "src": command["cmd"], "val": "Rate limited"}


def test_websocket_and_http_share_the_apps_subscribe_bucket(surfaces, tenant, keys) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    assert statuses(surfaces, channel_list, tenant, keys, SUBSCRIBE_BURST - 1) == [200] * (SUBSCRIBE_BURST - 1)
    assert surfaces.ws(connection, {"cmd": "push_get_vapid"})["cmd"] == "push_vapid"
    assert surfaces.ws(connection, {"cmd": "push_get_vapid"})["val"] == "Rate limited"
    event = ws_event("ws-connect.json", "Cx-limits-extra", query={"key": tenant.public_key, "token": tenant.session("bob")})
    assert surfaces.invoke("ws_connect", event)["statusCode"] == 200  # opening a socket is never refused by the limit
