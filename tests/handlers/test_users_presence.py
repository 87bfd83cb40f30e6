"""`POST /push` with `skip_online` (docs/api.md §4) through the handlers under moto: send_push, the
fan-out consumer fed real SQS batch events, GET /pushes/{id}; presence comes from WebSocket
connections opened and authenticated through the ws_connect and ws_auth handlers."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.events import http_request
from tests.keys import browser_keys
from tests.pipeline.conftest import bodies, drain, queues, receive, sqs_event  # noqa: F401 - queues is a fixture
from tests.surfaces import Surfaces, Tenant

ENDPOINTS = {"alice": "https://fcm.googleapis.com/fcm/send/alice-laptop", "bob": "https://fcm.googleapis.com/fcm/send/bob-laptop"}


@pytest.fixture
def subscribed(surfaces, tenant, queues) -> dict[str, Any]:  # noqa: ANN001, F811
    """alice's and bob's browsers, both in the topic `news`."""
    for user, endpoint in ENDPOINTS.items():
        assert surfaces.account_subscribe(tenant, user, endpoint, browser_keys())[0] == 200
        assert surfaces.topics_subscribe(tenant, endpoint, ["news"])[0] == 200
    return queues


def push(surfaces: Surfaces, tenant: Tenant, body: dict[str, Any]) -> str:
    status, answer = surfaces.http("send_push", http_request("http-send-push.json", query={"api_key": tenant.secret_key}, body=body))
    assert status == 200, answer
    return answer["id"]


def fan_out(surfaces: Surfaces, aws: dict[str, Any], queues: dict[str, str]) -> set[str]:  # noqa: F811
    """Run the fan-out consumer until its queue is empty; the endpoints it queued deliveries for."""
    while messages := receive(aws["sqs"], queues["FanoutQueue"]):
        assert surfaces.invoke("fanout", sqs_event(messages)) == {"batchItemFailures": []}
        for message in messages:
            aws["sqs"].delete_message(QueueUrl=queues["FanoutQueue"], ReceiptHandle=message["ReceiptHandle"])
    return {device["token"] for batch in bodies(drain(aws["sqs"], queues["DeliveryQueue"])) for device in batch["devices"]}


def counts(surfaces: Surfaces, tenant: Tenant, push_id: str) -> dict[str, int]:
    event = http_request("http-get-push.json", path_parameters={"push_id": push_id}, query={"api_key": tenant.secret_key})
    status, answer = surfaces.http("get_push", event)
    assert status == 200, answer
    return answer["push"]["counts"]


@pytest.mark.parametrize("to", ["/topics/news", list(ENDPOINTS.values())])
def test_the_devices_of_a_user_online_are_skipped_until_the_socket_closes(surfaces, tenant, subscribed, aws, to) -> None:  # noqa: ANN001
    socket = surfaces.ws_open(tenant, None)
    assert surfaces.ws(socket, {"cmd": "auth", "token": tenant.session("alice")})["success"] is True
    surfaces.ws_open(tenant, None)  # bob's page is open but not signed in: he is not "online"

    skipping = push(surfaces, tenant, {"to": to, "data": {"n": 1}, "skip_online": True})
    assert fan_out(surfaces, aws, subscribed) == {ENDPOINTS["bob"]}
    assert counts(surfaces, tenant, skipping) == {"targeted": 1, "sent": 0, "failed": 0, "pruned": 0, "pending": 1, "cancelled": 0, "skipped_online": 1}

    # Without skip_online, alice's browser is reached as before, and the counts keep their shape.
    plain = push(surfaces, tenant, {"to": to, "data": {"n": 2}})
    assert fan_out(surfaces, aws, subscribed) == set(ENDPOINTS.values())
    assert "skipped_online" not in counts(surfaces, tenant, plain)

    assert surfaces.ws_disconnect(socket) == 200
    push(surfaces, tenant, {"to": to, "data": {"n": 3}, "skip_online": True})
    assert fan_out(surfaces, aws, subscribed) == set(ENDPOINTS.values())


def test_skip_online_must_be_a_boolean(surfaces, tenant, subscribed) -> None:  # noqa: ANN001
    event = http_request("http-send-push.json", query={"api_key": tenant.secret_key}, body={"to": "/topics/news", "skip_online": "yes"})
    status, answer = surfaces.http("send_push", event)
    assert (status, answer["code"]) == (400, "INVALID_PARAM") and "skip_online" in answer["error"]
    assert json.dumps(answer).count("yes") == 0  # the value is not echoed
