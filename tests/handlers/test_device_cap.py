"""The per-user device cap through the deployed handlers under moto (docs/limits.md "Devices per
user"): whichever surface registers a user's device one over the cap (WebSocket §1, account API
§2, device API §3, channel API §5), the least recently registered is removed with its topics, and
the eviction is put on the event bus as pushgate.device.evicted."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import jsonschema
import pytest

from pushgate import config, events, wiring
from pushgate.identifiers import token_hash
from tests.keys import browser_keys
from tests.surfaces import Surfaces, Tenant

CAP = 2
BUS = "pushgate-test-events"
SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "events" / f"{events.DEVICE_EVICTED}.json").read_text())


def endpoint(name: str) -> str:
    return f"https://fcm.googleapis.com/fcm/send/cap-{name}"


@pytest.fixture(autouse=True)
def small_cap(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment's MaxDevicesPerUser, before any handler builds its services."""
    monkeypatch.setenv("PUSHGATE_MAX_DEVICES_PER_USER", str(CAP))
    config.settings.cache_clear()
    wiring.services.cache_clear()


@pytest.fixture
def evicted_events(aws: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """The bus, with a rule sending its events to a queue; what reached that queue."""
    bus = boto3.client("events")
    bus.create_event_bus(Name=BUS)
    queue_url = aws["sqs"].create_queue(QueueName="test-evicted-events")["QueueUrl"]
    queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus.put_rule(Name="record", EventBusName=BUS, EventPattern=json.dumps({"source": ["pushgate"]}))
    bus.put_targets(Rule="record", EventBusName=BUS, Targets=[{"Id": "queue", "Arn": queue_arn}])
    monkeypatch.setenv(events.EVENT_BUS_ENV, BUS)
    events._publisher_for.cache_clear()  # a client of this moto account
    seen: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        while messages := aws["sqs"].receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                seen.append(json.loads(message["Body"]))
                aws["sqs"].delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return list(seen)

    yield read
    events._publisher_for.cache_clear()


def device_status(surfaces: Surfaces, tenant: Tenant, token: str) -> str:
    status, body = surfaces.get_device(tenant, token)
    assert status == 200, body
    return body["device"]["status"]


def my_devices(tenant: Tenant, user: str) -> set[str]:
    return {d.token for d in tenant.services.repository.user_devices(tenant.app_id, user) if d.active}


def test_every_surface_registers_into_one_count_and_the_oldest_goes(surfaces, tenant, evicted_events) -> None:  # noqa: ANN001
    connection = surfaces.ws_open(tenant, "alice")
    assert surfaces.ws_subscribe(connection, endpoint("ws"), browser_keys()) == {"cmd": "push_subscribed", "success": True}
    assert surfaces.topics_subscribe(tenant, endpoint("ws"), ["news"])[0] == 200
    assert surfaces.account_subscribe(tenant, "alice", endpoint("account"), browser_keys())[0] == 200
    assert my_devices(tenant, "alice") == {endpoint("ws"), endpoint("account")}

    status, _ = surfaces.channel_upsert(tenant, "alice", endpoint("channel"), browser_keys())
    assert status == 201
    assert my_devices(tenant, "alice") == {endpoint("account"), endpoint("channel")}
    assert device_status(surfaces, tenant, endpoint("ws")) == "REMOVED"
    assert surfaces.list_topics(tenant).get("news", 0) == 0

    assert surfaces.device_subscribe(tenant, "alice", {"type": "android", "deviceId": "pixel", "token": "fcm-token-" + "0" * 32})[0] == 200
    assert my_devices(tenant, "alice") == {endpoint("channel"), "fcm-token-" + "0" * 32}

    published = evicted_events()
    assert [e["detail"]["token_hash"] for e in published] == [token_hash(endpoint("ws")), token_hash(endpoint("account"))]
    for event in published:
        jsonschema.validate(event, SCHEMA)
        assert (event["detail-type"], event["detail"]["user_id"], event["detail"]["max_devices_per_user"]) == (events.DEVICE_EVICTED, "alice", CAP)
        assert "fcm.googleapis.com" not in json.dumps(event)  # a hash, never the endpoint


def test_registering_a_held_device_again_through_another_surface_evicts_nothing(surfaces, tenant, evicted_events) -> None:  # noqa: ANN001
    keys = [browser_keys(), browser_keys()]
    assert surfaces.account_subscribe(tenant, "alice", endpoint("a"), keys[0])[0] == 200
    assert surfaces.channel_upsert(tenant, "alice", endpoint("b"), keys[1])[0] == 201
    connection = surfaces.ws_open(tenant, "alice")
    assert surfaces.ws_subscribe(connection, endpoint("a"), keys[0]) == {"cmd": "push_subscribed", "success": True}
    assert surfaces.device_subscribe_web(tenant, "alice", "laptop", endpoint("b"), keys[1])[0] == 200
    assert my_devices(tenant, "alice") == {endpoint("a"), endpoint("b")}
    assert evicted_events() == []


def test_a_device_api_token_refresh_replaces_without_evicting(surfaces, tenant) -> None:  # noqa: ANN001
    assert surfaces.account_subscribe(tenant, "alice", endpoint("browser"), browser_keys())[0] == 200
    for token in ("apns-token-" + "1" * 32, "apns-token-" + "2" * 32):
        assert surfaces.device_subscribe(tenant, "alice", {"type": "ios", "deviceId": "iphone", "token": token})[0] == 200
    assert my_devices(tenant, "alice") == {endpoint("browser"), "apns-token-" + "2" * 32}


def test_the_apps_own_cap_applies_to_it_alone(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    assert tenant.services.repository.set_device_cap(tenant.app_id, CAP + 1) is True
    for target in (tenant, other_tenant):
        for i in range(CAP + 2):
            assert surfaces.account_subscribe(target, "alice", endpoint(f"{target.app_id}-{i}"), browser_keys())[0] == 200
    assert len(my_devices(tenant, "alice")) == CAP + 1
    assert my_devices(other_tenant, "alice") == {endpoint(f"{other_tenant.app_id}-{i}") for i in (CAP, CAP + 1)}


def test_other_users_of_the_app_are_counted_apart(surfaces, tenant) -> None:  # noqa: ANN001
    for user in ("alice", "bob"):
        for i in range(CAP):
            assert surfaces.account_subscribe(tenant, user, endpoint(f"{user}-{i}"), browser_keys())[0] == 200
    assert surfaces.account_subscribe(tenant, "bob", endpoint("bob-extra"), browser_keys())[0] == 200
    assert my_devices(tenant, "alice") == {endpoint(f"alice-{i}") for i in range(CAP)}
    assert my_devices(tenant, "bob") == {endpoint("bob-1"), endpoint("bob-extra")}
