"""The hostile endpoint corpus (hostile_endpoints.json) against every surface, and at send time.

At subscribe time every form is refused by every surface that stores an endpoint, with that
surface's documented error, and nothing is stored; the surfaces that only look an endpoint up
answer without a 5xx. At send time, each form written straight into the table as an ACTIVE web
subscription (as a row older than the policy, or written around it, would be) goes through
POST /push, fan-out and the Web Push sender as deployed, and no connection, not even a name
lookup, is attempted. All of it with PUSHGATE_EXTRA_PUSH_HOSTS empty, the production setting."""

from __future__ import annotations

import os
from typing import Any

import pytest

from pushgate.identifiers import token_hash
from pushgate.models import Device, DeviceType, SubscriptionStatus, WebPushKeys
from tests.keys import browser_keys
from tests.pipeline.conftest import drain, receive, sqs_event
from tests.security.corpus import hostile_endpoints
from tests.security.endpoint_surfaces import CONTROL_ENDPOINT, SUBSCRIBE_SURFACES, USER, lookup_surfaces
from tests.security.figures import record
from tests.security.route_events import api_event, response_of

HOSTILE = hostile_endpoints()


def test_the_corpus_covers_what_it_must() -> None:
    endpoints = [entry.endpoint for entry in HOSTILE]
    assert len(endpoints) >= 60 and len(set(endpoints)) == len(endpoints)
    assert os.environ["PUSHGATE_EXTRA_PUSH_HOSTS"] == ""  # production: no extra push host allowed
    for must in ("169.254.169.254", "fd00:ec2::254", "metadata.google.internal", "::ffff:127.0.0.1", "::ffff:7f00:1",
                 "0177.0.0.1", "0x7f.0.0.1", "2130706433", "https://127.1/", "https://0/", "https://0.0.0.0/",
                 "fcm.googleapis.com@evil.example", "#@fcm.googleapis.com", "\\@fcm.googleapis.com", "fcm.googleapis.com.evil.example",
                 "fcm-googleapis.com", "https://xn--", "\uff0e", "https://fcm.googleapis.com./", "%66", ":444/", ":80/", ":0/", "http://",
                 "ws://", "file:", "javascript:", "\r\n", "\u0000", "\t", "//fcm.googleapis.com/", "https:/fcm", "https:fcm"):
        assert any(must in endpoint for endpoint in endpoints), must
    assert any(len(endpoint) > 1024 for endpoint in endpoints)


@pytest.mark.parametrize("surface", list(SUBSCRIBE_SURFACES))
def test_every_hostile_endpoint_is_refused_and_nothing_is_stored(surface, surfaces, tenant, outbound) -> None:  # noqa: ANN001
    attempt, repository = SUBSCRIBE_SURFACES[surface], tenant.services.repository
    # A genuine endpoint goes through the same request, so what is refused below is refused for its endpoint.
    refused, answer = attempt(surfaces, tenant, CONTROL_ENDPOINT, browser_keys())
    assert not refused and repository.get_device(tenant.app_id, token_hash(CONTROL_ENDPOINT)) is not None, answer
    accepted = []
    for entry in HOSTILE:
        refused, answer = attempt(surfaces, tenant, entry.endpoint, browser_keys())
        stored = repository.get_device(tenant.app_id, token_hash(entry.endpoint)) is not None
        if not refused or stored:
            accepted.append((entry.tries, stored, repr(answer)[:200]))
    record("hostile endpoints at subscribe time (accepted / tried must be 0)", surface=surface,
           tried=len(HOSTILE), accepted=len(accepted), outbound_attempts=len(outbound))
    assert accepted == []
    assert [device.token for device in repository.user_devices(tenant.app_id, USER)] == [CONTROL_ENDPOINT]
    assert outbound.attempts == []


def test_lookups_of_hostile_endpoints_never_fail_nor_fetch(surfaces, tenant, queues, outbound) -> None:  # noqa: ANN001
    for surface, attempt in lookup_surfaces(surfaces, tenant).items():
        unexpected = []
        for entry in HOSTILE:
            documented, answer = attempt(entry.endpoint)
            if not documented:
                unexpected.append((entry.tries, repr(answer)[:200]))
        record("hostile endpoints looked up (unexpected answers and outbound attempts must be 0)", surface=surface,
               tried=len(HOSTILE), unexpected=len(unexpected), outbound_attempts=len(outbound))
        assert unexpected == [], surface
    assert outbound.attempts == []
    assert tenant.services.repository.user_devices(tenant.app_id, USER) == []


def plant(repository: Any, app: Any, user: str, endpoint: str) -> Device:
    """An ACTIVE web subscription written through the repository, around every validation."""
    p256dh, auth = browser_keys()
    device = Device(app_id=app.app_id, token_hash=token_hash(endpoint), token=endpoint, type=DeviceType.WEB, user_id=user,
                    status=SubscriptionStatus.ACTIVE, subscription_id=repository.next_subscription_id(app.app_id),
                    keys=WebPushKeys(p256dh=p256dh, auth=auth), channel_id=app.webpush_channel_id, created_at=1, updated_at=1)
    repository.save_device(device, expected_version=None)
    return device


def push_to_user(surfaces, tenant, aws, queues, user: str) -> dict[str, Any]:  # noqa: ANN001
    """POST /push to the user's devices, then fan-out and the Web Push sender as deployed, until
    every queue is empty; the push's state as GET /pushes/{id} tells it."""
    status, body = response_of(surfaces.invoke("send_push", api_event(
        "POST /push", query={"api_key": tenant.secret_key}, body={"to": f"/users/{user}", "notification": {"title": "hi", "body": "there"}})))
    assert status == 200, body
    for queue, function in (("FanoutQueue", "fanout"), ("DeliveryQueue", "webpush_sender")):
        while messages := receive(aws["sqs"], queues[queue]):
            assert surfaces.invoke(function, sqs_event(messages)) == {"batchItemFailures": []}
            for message in messages:
                aws["sqs"].delete_message(QueueUrl=queues[queue], ReceiptHandle=message["ReceiptHandle"])
    event = api_event("GET /pushes/{push_id}", path_parameters={"push_id": body["id"]}, query={"api_key": tenant.secret_key})
    status, state = response_of(surfaces.invoke("get_push", event))
    assert status == 200, state
    return state["push"]


def test_no_hostile_endpoint_in_the_table_is_ever_connected_to(surfaces, tenant, aws, queues, outbound, monkeypatch) -> None:  # noqa: ANN001
    # moto is not thread-safe: two of the sender's side-by-side writes to one item (the failure
    # stamp and the prune) can break its in-memory item. One bookkeeping thread here; real
    # DynamoDB takes them side by side.
    from concurrent.futures import ThreadPoolExecutor

    from pushgate.services import delivery

    monkeypatch.setattr(delivery, "ThreadPoolExecutor", lambda max_workers, **options: ThreadPoolExecutor(max_workers=1, **options))
    repository = tenant.services.repository
    planted = [plant(repository, tenant.app, USER, entry.endpoint) for entry in HOSTILE]
    state = push_to_user(surfaces, tenant, aws, queues, USER)
    record("hostile endpoints at send time (sent / tried must be 0)", stage="POST /push -> fan-out -> Web Push sender",
           tried=len(planted), sent=state["counts"]["sent"], outbound_attempts=len(outbound),
           failed=state["counts"]["failed"], failed_reasons=state["failed_reasons"])
    assert outbound.attempts == []
    assert state["counts"]["targeted"] == len(planted) and state["counts"]["sent"] == 0
    assert state["counts"]["failed"] == len(planted) and state["failed_reasons"] == {"blocked": len(planted)}
    # A row that can never be delivered to is pruned: no later push tries it again.
    statuses = {repository.get_device(tenant.app_id, device.token_hash).status for device in planted}
    assert statuses == {SubscriptionStatus.EXPIRED}
    assert drain(aws["sqs"], queues["DeliveryDeadLetterQueue"]) == []

    # The guard is not blind: a genuine endpoint is tried (and, the network being refused, retried later).
    plant(repository, tenant.app, "control-user", CONTROL_ENDPOINT)
    push_to_user(surfaces, tenant, aws, queues, "control-user")
    assert ("resolve", "fcm.googleapis.com", 443) in outbound.attempts
