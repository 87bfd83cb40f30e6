"""The per-app token bucket (repository/limits.py, services/limits.py) on moto, with a fake clock,
and the 429 each surface's envelope makes of RateLimited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pushgate import errors
from pushgate.http import envelopes
from pushgate.services.limits import SEND, SUBSCRIBE, Rate, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def limiter(pushgate, clock: FakeClock) -> RateLimiter:  # noqa: ANN001
    return RateLimiter(pushgate.repository, {SEND: Rate(10, 5), SUBSCRIBE: Rate(2, 2)}, clock)


def allowed(limiter: RateLimiter, app_id: str, group: str) -> bool:
    try:
        limiter.take(app_id, group)
    except errors.RateLimited:
        return False
    return True


def test_a_burst_is_allowed_then_refused(limiter: RateLimiter) -> None:
    assert [allowed(limiter, "app1", SEND) for _ in range(7)] == [True] * 5 + [False] * 2


def test_tokens_come_back_at_the_rate(limiter: RateLimiter, clock: FakeClock) -> None:
    for _ in range(5):
        limiter.take("app1", SEND)
    assert not allowed(limiter, "app1", SEND)
    clock.now += 0.1  # one interval at 10/s: exactly one token
    assert allowed(limiter, "app1", SEND)
    assert not allowed(limiter, "app1", SEND)
    clock.now += 10  # long idle: full again, never more than the burst
    assert [allowed(limiter, "app1", SEND) for _ in range(6)] == [True] * 5 + [False]


def test_retry_after_is_the_wait_for_one_token_in_whole_seconds(limiter: RateLimiter, clock: FakeClock) -> None:
    limiter.take("app1", SUBSCRIBE)
    limiter.take("app1", SUBSCRIBE)
    with pytest.raises(errors.RateLimited) as refused:
        limiter.take("app1", SUBSCRIBE)
    assert refused.value.retry_after == 1  # 500 ms at 2/s, rounded up
    assert refused.value.group == SUBSCRIBE
    clock.now += 0.5
    assert allowed(limiter, "app1", SUBSCRIBE)


def test_buckets_are_per_app_and_per_group(limiter: RateLimiter) -> None:
    for _ in range(5):
        limiter.take("app1", SEND)
    assert not allowed(limiter, "app1", SEND)
    assert allowed(limiter, "app2", SEND)
    assert allowed(limiter, "app1", SUBSCRIBE)


def test_an_override_replaces_the_default_rate(limiter: RateLimiter) -> None:
    results = [_allowed_with(limiter, Rate(1, 1)) for _ in range(2)]
    assert results == [True, False]


def _allowed_with(limiter: RateLimiter, rate: Rate) -> bool:
    try:
        limiter.take("app1", SEND, override=rate)
    except errors.RateLimited:
        return False
    return True


def test_the_limiter_fails_open_when_dynamodb_fails(pushgate, clock: FakeClock) -> None:  # noqa: ANN001
    class BrokenRepository:
        def take_token(self, *args: Any) -> None:
            raise ClientError({"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "x"}}, "UpdateItem")

    limiter = RateLimiter(BrokenRepository(), {SEND: Rate(1, 1)}, clock)  # type: ignore[arg-type]
    for _ in range(3):
        limiter.take("app1", SEND)  # no RateLimited, no exception


EVENT = {"headers": {"x-request-id": "req-1"}, "requestContext": {"requestId": "abc"}}
LIMITED = errors.RateLimited(SEND, 3)


def _body(response) -> dict[str, Any]:  # noqa: ANN001
    return json.loads(response.body)


def test_pushy_envelope() -> None:
    response = envelopes.pushy_errors(LIMITED, EVENT)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    assert _body(response)["code"] == "RATE_LIMITED" and _body(response)["error"]


def test_account_envelope() -> None:
    response = envelopes.account_subscribe_errors(LIMITED, EVENT)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    assert _body(response) == {"error_no": 429, "error_message": "Too Many Requests"}


def test_device_envelope() -> None:
    response = envelopes.imkit_errors(LIMITED, EVENT)
    assert (response.status_code, response.headers["Retry-After"]) == (429, "3")
    body = _body(response)
    assert (body["RC"], body["RM"], body["error"]["code"]) == (429, "Too Many Requests", "RATE_LIMITED")


def test_channel_envelope() -> None:
    response = envelopes.notiflows_errors(LIMITED, EVENT)
    assert (response.status_code, response.headers["Retry-After"], response.headers["x-request-id"]) == (429, "3", "req-1")
    error = _body(response)["error"]
    assert (error["code"], error["status"], error["request_id"]) == ("rate_limited", 429, "req-1")
    assert error["details"] == {"retry_after": 3, "window": "1s"}


def test_websocket_reason() -> None:
    for command in ("push_subscribe", "push_unsubscribe", "push_get_vapid"):
        assert envelopes.websocket_error(command, envelopes.websocket_error_reason(command, LIMITED)) == {"cmd": "error", "src": command, "val": "Rate limited"}
