"""The stale-sweep function (functions/stale_sweep) under moto, invoked with the scheduled event
EventBridge sends (events/schedule-stale-sweep.json): it expires the subscriptions not seen for
StaleAfterDays, of every surface, with their topic edges, keeps the others, never scans, and
publishes its counts as metrics."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pushgate.identifiers import token_hash
from pushgate.models import Caller, DeviceType, SubscriptionStatus
from pushgate.repository.stale import seen_bucket
from pushgate.services.stale_sweep import DAY_SECONDS
from pushgate.services.subscriptions import Registration, SubscriptionService, WebSubscription
from tests.conftest import TABLE_NAME, load_event
from tests.keys import browser_keys

STALE_DAYS = 270
OLD_WEB = "https://fcm.googleapis.com/fcm/send/stale-browser"
FRESH_WEB = "https://fcm.googleapis.com/fcm/send/fresh-browser"
OLD_IOS = "a1" * 32
VIA_TOPIC = "https://fcm.googleapis.com/fcm/send/seen-through-a-topic"


def test_the_sample_event_is_an_eventbridge_scheduled_event() -> None:
    event = load_event("schedule-stale-sweep.json")
    assert event["source"] == "aws.events" and event["detail-type"] == "Scheduled Event" and event["detail"] == {}
    assert event["resources"][0].startswith("arn:aws:events:")


@pytest.fixture
def sweep_handler(import_handler, monkeypatch):  # noqa: ANN001, ANN201
    monkeypatch.setenv("PUSHGATE_STALE_AFTER_DAYS", str(STALE_DAYS))
    return import_handler("stale_sweep").lambda_handler


def _days_ago(pushgate: Any, days: int) -> SubscriptionService:
    """The subscription service as it was `days` ago: what it registers was last seen then."""
    then = time.time() - days * DAY_SECONDS
    return SubscriptionService(pushgate.repository, pushgate.subscriptions.policy, clock=lambda: then)


def _subscribe_web(service: SubscriptionService, caller: Caller, endpoint: str) -> None:
    service.subscribe_web(caller, WebSubscription.parse(service.policy, endpoint, *browser_keys()))


def test_the_scheduled_sweep_expires_what_was_not_seen_and_keeps_the_rest(
    sweep_handler, pushgate, demo_app, aws, lambda_context, capsys  # noqa: ANN001
) -> None:
    app = demo_app.app
    caller = Caller(app=app, user_id="alice")
    long_ago = _days_ago(pushgate, STALE_DAYS + 20)
    for endpoint in (OLD_WEB, VIA_TOPIC):
        _subscribe_web(long_ago, caller, endpoint)
    long_ago.subscribe_device(caller, Registration(DeviceType.IOS, OLD_IOS, device_id="phone-1"))
    _subscribe_web(pushgate.subscriptions, caller, FRESH_WEB)
    # Edges copy the device's last-seen time when they are made: a topic subscription, which the
    # app's server makes with the token, is no sign of the device's life.
    pushgate.topics.subscribe(app, OLD_WEB, ["news", "sport"])
    pushgate.topics.subscribe(app, VIA_TOPIC, ["news"])
    # VIA_TOPIC's row is old, but a delivery through "news" stamped its edge yesterday.
    pushgate.repository.record_delivery_success(app.app_id, token_hash(VIA_TOPIC), int(time.time()) - DAY_SECONDS, "news")

    scans: list[str] = []
    pushgate.repository._client.meta.events.register("before-call.dynamodb.Scan", lambda **_: scans.append("Scan"))  # noqa: SLF001
    capsys.readouterr()
    result = sweep_handler(load_event("schedule-stale-sweep.json"), lambda_context)

    assert scans == []
    assert (result["expired"], result["kept"], result["edges_removed"], result["complete"]) == (2, 1, 2, True)
    status = {token: pushgate.repository.get_device(app.app_id, token_hash(token)).status for token in (OLD_WEB, OLD_IOS, FRESH_WEB, VIA_TOPIC)}
    assert status == {
        OLD_WEB: SubscriptionStatus.EXPIRED,
        OLD_IOS: SubscriptionStatus.EXPIRED,
        FRESH_WEB: SubscriptionStatus.ACTIVE,
        VIA_TOPIC: SubscriptionStatus.ACTIVE,
    }
    assert pushgate.repository.device_topics(app.app_id, token_hash(OLD_WEB)) == []
    assert dict(pushgate.repository.list_topics(app.app_id)) == {"news": 1, "sport": 0}
    # The expired rows left the index; the kept one moved to the week it was seen.
    indexed = aws["dynamodb"].query(
        TableName=TABLE_NAME, IndexName="GSI2", KeyConditionExpression="GSI2PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"SEEN#{seen_bucket(int(time.time()) - DAY_SECONDS)}"}},
    )["Items"]
    assert {item["PK"]["S"].rsplit("#", 1)[1] for item in indexed} >= {token_hash(VIA_TOPIC)}
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith('{"_aws"')]
    assert emf and emf[-1]["StaleSubscriptionsExpired"] == [2.0] and emf[-1]["StaleSubscriptionsKept"] == [1.0]

    again = sweep_handler(load_event("schedule-stale-sweep.json"), lambda_context)
    assert (again["reviewed"], again["expired"]) == (0, 0)  # nothing left in the old weeks


def test_re_subscribing_stamps_the_device_and_keeps_it(sweep_handler, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    caller = Caller(app=demo_app.app, user_id="alice")
    _subscribe_web(_days_ago(pushgate, STALE_DAYS + 20), caller, OLD_WEB)
    _subscribe_web(pushgate.subscriptions, caller, OLD_WEB)  # any surface's subscribe is a sign of life
    result = sweep_handler(load_event("schedule-stale-sweep.json"), lambda_context)
    assert result["expired"] == 0
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(OLD_WEB)).active


def test_a_run_near_its_timeout_stops_and_says_so(sweep_handler, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    _subscribe_web(_days_ago(pushgate, STALE_DAYS + 20), Caller(app=demo_app.app, user_id="alice"), OLD_WEB)
    lambda_context.remaining_ms = 1_000
    result = sweep_handler(load_event("schedule-stale-sweep.json"), lambda_context)
    assert (result["complete"], result["expired"]) == (False, 0)
    assert pushgate.repository.get_device(demo_app.app.app_id, token_hash(OLD_WEB)).active


# -- the stamps and the index the sweep reads, as the other functions leave them --------------------


def _indexed_week(aws: dict[str, Any], app_id: str, token: str) -> str | None:
    item = aws["dynamodb"].get_item(TableName=TABLE_NAME, Key={"PK": {"S": f"DEVICE#{app_id}#{token_hash(token)}"}, "SK": {"S": "DEVICE"}})["Item"]
    return item["GSI2PK"]["S"] if "GSI2PK" in item else None


def test_a_registration_indexes_the_device_in_its_week_and_an_unsubscribe_takes_it_out(pushgate, demo_app, aws) -> None:  # noqa: ANN001
    caller = Caller(app=demo_app.app, user_id="alice")
    _subscribe_web(_days_ago(pushgate, 30), caller, OLD_WEB)
    assert _indexed_week(aws, demo_app.app.app_id, OLD_WEB) == f"SEEN#{seen_bucket(int(time.time()) - 30 * DAY_SECONDS)}"
    _subscribe_web(pushgate.subscriptions, caller, OLD_WEB)
    assert _indexed_week(aws, demo_app.app.app_id, OLD_WEB) == f"SEEN#{seen_bucket(int(time.time()))}"
    assert pushgate.subscriptions.unsubscribe_web(caller, OLD_WEB)
    assert _indexed_week(aws, demo_app.app.app_id, OLD_WEB) is None


def test_a_delivery_stamps_only_the_row_fan_out_read_it_from(pushgate, demo_app) -> None:  # noqa: ANN001
    app_id, key = demo_app.app.app_id, token_hash(OLD_WEB)
    _subscribe_web(_days_ago(pushgate, 30), Caller(app=demo_app.app, user_id="alice"), OLD_WEB)
    pushgate.topics.subscribe(demo_app.app, OLD_WEB, ["news"])
    registered = pushgate.repository.get_device(app_id, key).updated_at
    _, (edge,) = pushgate.repository.device_with_edges(app_id, key)
    assert edge["last_success_at"] == registered  # an edge starts with the device's last-seen time

    now = int(time.time())
    pushgate.repository.record_delivery_success(app_id, key, now, "news")  # through the topic
    device, (edge,) = pushgate.repository.device_with_edges(app_id, key)
    assert (edge["last_success_at"], device.last_success_at) == (now, None)
    pushgate.repository.record_delivery_success(app_id, key, now + 1, None)  # by token or user
    device, (edge,) = pushgate.repository.device_with_edges(app_id, key)
    assert (edge["last_success_at"], device.last_success_at) == (now, now + 1)
