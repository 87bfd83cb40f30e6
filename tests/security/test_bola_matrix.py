"""BOLA matrix (docs/api.md §0, §6: nothing of one app is visible with another app's credentials,
and a user's credential never reaches another user's subscriptions).

Two apps, each with a victim (alice, holding a web, a native, a channel and a WebSocket
subscription, a topic membership and a push of her app) and an attacker (mallory); the other app
has its own alice. For every route of template.yaml, HTTP and WebSocket, in both directions (app
A attacked, app B attacked), every attack of bola_matrix.ROUTE_ATTACKS is made with real API
Gateway event shapes, and each must: get its documented answer, leave the victim's part of the
table exactly as it was, and not show the attacker any of the victim's secrets it did not send."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.pipeline.conftest import receive, sqs_event
from tests.security.bola_attacks import Attack, Sides
from tests.security.bola_matrix import ROUTE_ATTACKS
from tests.security.bola_world import VICTIM, Gateway, http_route_functions, make_victim, victim_items, websocket_route_functions
from tests.security.figures import record
from tests.surfaces import Tenant

TEMPLATE_ROUTES = sorted(http_route_functions()) + sorted(websocket_route_functions())
DELIVERY_QUEUES = ("DeliveryQueue", "FcmDeliveryQueue", "ApnsDeliveryQueue")


def test_every_route_of_the_template_has_attacks_defined() -> None:
    missing = sorted(set(TEMPLATE_ROUTES) - set(ROUTE_ATTACKS))
    stale = sorted(set(ROUTE_ATTACKS) - set(TEMPLATE_ROUTES))
    assert not missing, f"routes of template.yaml without BOLA attacks: add them to ROUTE_ATTACKS in tests/security/bola_matrix.py: {missing}"
    assert not stale, f"ROUTE_ATTACKS names routes template.yaml no longer has: {stale}"


def _drain(aws: dict[str, Any], url: str) -> list[dict[str, Any]]:
    messages = []
    while batch := receive(aws["sqs"], url):
        messages.extend(batch)
        for message in batch:
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return messages


DIRECTIONS = ("lower account id attacked", "higher account id attacked")


@pytest.fixture
def world(surfaces, pushgate, aws, queues) -> Callable[[str], Sides]:  # noqa: ANN001
    """Builds, for one direction, two fresh apps of the same table: the attacked one and the other.
    Each direction gets apps of its own, so an attack that legitimately changes the other app's
    alice (its own user) never leaves the next direction's victim already changed."""
    gateway = Gateway(surfaces)

    def fan_out() -> list[str]:
        """Run fan-out on what was queued; the tokens it queued for delivery."""
        for messages in iter(lambda: receive(aws["sqs"], queues["FanoutQueue"]), []):
            assert surfaces.invoke("fanout", sqs_event(messages)) == {"batchItemFailures": []}
            for message in messages:
                aws["sqs"].delete_message(QueueUrl=queues["FanoutQueue"], ReceiptHandle=message["ReceiptHandle"])
        return [device["token"] for queue in DELIVERY_QUEUES for message in _drain(aws, queues[queue])
                for device in json.loads(message["Body"])["devices"]]

    def build(direction: str) -> Sides:
        index = DIRECTIONS.index(direction)
        gateway.fan_out = None  # the victims' own pushes are not followed
        first, second = (Tenant(pushgate.apps().create_app(f"{direction} {n}"), pushgate) for n in (1, 2))
        apps = [make_victim(gateway, first, f"{index}first"), make_victim(gateway, second, f"{index}second")]
        victim, other = apps if index == 0 else apps[::-1]
        for queue in ("FanoutQueue", *DELIVERY_QUEUES):
            _drain(aws, queues[queue])  # the victims' own pushes: an attack's push is followed alone
        gateway.fan_out = fan_out
        for made in apps:  # the victim's part of the table is really there, or no change could be seen
            assert len(victim_items(aws["dynamodb"], made)) >= len(made.tokens) + 5
        return Sides(gateway, victim, other)

    return build


def judge(side: Sides, attack: Attack, dynamodb: Any) -> dict[str, Any] | None:
    """Make the attack; what went wrong, or None: a safe answer, the victim's items unchanged,
    none of her secrets shown that the attacker did not send itself."""
    before = victim_items(dynamodb, side.victim)
    side.gateway.sent.clear()
    answer = attack.send()
    after = victim_items(dynamodb, side.victim)
    shown, sent = json.dumps(answer, default=str), "".join(side.gateway.sent)
    revealed = [secret[:24] for secret in side.victim.secrets if secret in shown and secret not in sent]
    changed = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
    if attack.safe(answer) and not revealed and not changed:
        return None
    return {"attack": attack.name, "answer": shown[:300], "revealed": revealed, "changed": changed}


def test_the_judge_sees_a_change_and_a_wrong_answer(world, aws) -> None:  # noqa: ANN001
    """The victim removing her own subscription is a change of her items; a refusal expected where
    the route answers success is a wrong answer: the matrix can fail."""
    side = world(DIRECTIONS[0])
    victim = side.victim
    wrong = Attack("a success taken for a refusal", lambda: side.gateway.http("GET /topics", query={"api_key": victim.tenant.secret_key}),
                   lambda answer: answer[0] == 401)
    verdict = judge(side, wrong, aws["dynamodb"])
    assert verdict is not None and not verdict["changed"] and verdict["revealed"], verdict  # her topic's name is shown to her app
    own = Attack("the victim's own unsubscribe", lambda: side.gateway.http(
        "POST /me/unsubscribe", headers={"im-client-key": victim.tenant.public_key, "im-authorization": victim.tenant.session(VICTIM)},
        body={"type": "web", "deviceId": victim.web_device_id}), lambda answer: answer[0] == 200)
    verdict = judge(side, own, aws["dynamodb"])
    assert verdict is not None and verdict["changed"], verdict


@pytest.mark.parametrize("route", [route for route in TEMPLATE_ROUTES if route in ROUTE_ATTACKS])
def test_no_credential_reaches_another_users_or_another_apps_objects(route, world, aws) -> None:  # noqa: ANN001
    attempts, violations = 0, []
    for direction in DIRECTIONS:
        side = world(direction)
        for attack in ROUTE_ATTACKS[route](side):
            attempts += 1
            if verdict := judge(side, attack, aws["dynamodb"]):
                violations.append({"direction": direction, **verdict})
    record("BOLA matrix (violations / attempts must be 0)", route=route, attempts=attempts, violations=len(violations))
    assert attempts > 0
    assert violations == []
