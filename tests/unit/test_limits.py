"""The per-app token bucket (repository/limits.py, services/limits.py) on moto, with a fake clock:
the bucket itself, what counts a request (a group set for the request, the app's own rate), the
app's own rates on its record, the deployment's from the environment, and the 429 each surface's
envelope makes of RateLimited."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from pushgate import errors
from pushgate.config import Settings
from pushgate.http import envelopes
from pushgate.models import App, RateLimits
from pushgate.services.limits import SEND, SUBSCRIBE, Rate, RateLimiter, counted_as
from tests.fakes import FakeClock


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


# -- counting a request: only inside a request of a group, at the app's own rate if it has one ------


def _app(app_id: str, **own: float) -> App:
    return App(app_id=app_id, name="x", account_id=1, secret_key_hash="s", public_key_hash="p", webpush_channel_id="c",
               created_at=0, rate_limits=RateLimits(**own))


def admitted(limiter: RateLimiter, app: App) -> bool:
    try:
        limiter.admit(app)
    except errors.RateLimited:
        return False
    return True


def test_outside_a_request_nothing_is_counted(limiter: RateLimiter) -> None:
    assert all(admitted(limiter, _app("app1")) for _ in range(20))


def test_inside_a_request_its_group_is_counted(limiter: RateLimiter) -> None:
    with counted_as(SUBSCRIBE):
        assert [admitted(limiter, _app("app1")) for _ in range(3)] == [True, True, False]
    with counted_as(SEND):
        assert admitted(limiter, _app("app1"))
    assert admitted(limiter, _app("app1"))  # the group is reset when the request ends


def test_an_apps_own_rate_wins_with_a_burst_of_two_seconds(limiter: RateLimiter) -> None:
    with counted_as(SUBSCRIBE):
        assert [admitted(limiter, _app("app1", subscribe=3)) for _ in range(7)] == [True] * 6 + [False]


def test_a_group_without_a_rate_is_not_limited(pushgate, clock: FakeClock) -> None:  # noqa: ANN001
    unlimited = RateLimiter(pushgate.repository, {SEND: None, SUBSCRIBE: Rate(1, 1)}, clock)
    with counted_as(SEND):
        assert all(admitted(unlimited, _app("app1")) for _ in range(5))
    with counted_as(SEND):  # ...unless the app has its own
        assert [admitted(unlimited, _app("app2", send=1)) for _ in range(3)] == [True, True, False]


@pytest.mark.parametrize(("per_second", "burst"), [(100, 200), (50, 100), (0.01, 1), (2.5, 5), (1000, 2000)])
def test_a_rate_holds_two_seconds_of_requests(per_second: float, burst: int) -> None:
    assert Rate.per_second_with_burst(per_second).burst == burst


@pytest.mark.parametrize("per_second", [0, -1, 1000.5])
def test_a_rate_is_more_than_zero_and_at_most_1000(per_second: float) -> None:
    with pytest.raises(ValueError):
        Rate.per_second_with_burst(per_second)


def test_own_rates_are_stored_on_the_app_record_and_read_with_it(pushgate, demo_app) -> None:  # noqa: ANN001
    app_id = demo_app.app.app_id
    assert pushgate.repository.get_app(app_id).rate_limits == RateLimits()
    assert pushgate.repository.set_rate_limits(app_id, RateLimits(send=2.5))
    assert pushgate.repository.get_app(app_id).rate_limits == RateLimits(send=2.5)
    assert pushgate.repository.set_rate_limits(app_id, RateLimits())
    assert pushgate.repository.get_app(app_id).rate_limits == RateLimits()
    assert not pushgate.repository.set_rate_limits("app_missing", RateLimits(send=1))
    assert pushgate.repository.get_app("app_missing") is None  # no app record made on the way


def test_the_deployments_rates_come_from_the_environment() -> None:
    unset = Settings.from_env({"TABLE_NAME": "t"})  # outside a deployment: template.yaml sets both
    assert (unset.send_rate_per_second, unset.subscribe_rate_per_second) == (0, 0)
    tuned = Settings.from_env({"TABLE_NAME": "t", "PUSHGATE_SEND_RATE_PER_SECOND": "0", "PUSHGATE_SUBSCRIBE_RATE_PER_SECOND": "7.5"})
    assert (tuned.send_rate_per_second, tuned.subscribe_rate_per_second) == (0, 7.5)
    with pytest.raises(ValueError):
        Settings.from_env({"TABLE_NAME": "t", "PUSHGATE_SEND_RATE_PER_SECOND": "5000"})
