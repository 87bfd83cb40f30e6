"""The FCM and APNs sender functions end to end under moto (docs/api.md §4, §7): POST /push to a user,
the fan-out handler, then each sender's real handler module with the SQS event of its own queue,
delivering over TLS and HTTP/2 to fakes that verify the OAuth and provider tokens, topics, push
types and message schemas. What each fake accepted, what the senders put back on SQS, and what
GET /pushes/{id} and GET /devices/{token} answer afterwards are the evidence."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from pushgate import wiring
from pushgate.models import ChannelType
from pushgate.services.delivery import BACKOFF_BASE_SECONDS
from pushgate_local.fakes import server as fake_server
from tests.pipeline.conftest import sqs_event
from tests.pipeline.native_world import (
    ANDROID_TOKEN,
    BUNDLE_ID,
    FCM_TOKEN,
    IOS_TOKEN,
    KEY_ID,
    PROJECT_ID,
    SENDERS,
    TEAM_ID,
    VOIP_TOKEN,
    NativeWorld,
    Trouble,
    devices_of,
    elapsed,
)

PROVIDERS = [ChannelType.FCM, ChannelType.APNS]
OTHER = {ChannelType.FCM: ChannelType.APNS, ChannelType.APNS: ChannelType.FCM}
NOTHING_PENDING = {"targeted": 4, "sent": 4, "failed": 0, "pruned": 0, "pending": 0, "cancelled": 0}


@pytest.fixture(scope="session")
def ca() -> fake_server.TestCertificateAuthority:
    return fake_server.TestCertificateAuthority()


@pytest.fixture
def native(aws, queues, pushgate, demo_app, import_handler, monkeypatch, ca, lambda_context) -> Iterator[NativeWorld]:  # noqa: ANN001
    world = NativeWorld(aws, queues, pushgate, demo_app, import_handler, monkeypatch, ca, lambda_context)
    try:
        yield world.start()
    finally:
        world.stop()


def test_a_push_to_bob_reaches_each_native_device_once_in_its_providers_shape(native) -> None:  # noqa: ANN001
    push_id = native.push_to_bob(data={"room": 7}, time_to_live=3600)
    native.fan_out()
    native.deliver_all()

    created_at = native.push(push_id)["date"]
    notifications = {notification.token: notification for notification in native.apns.received()}
    assert sorted(notifications) == [IOS_TOKEN, VOIP_TOKEN]
    alert, voip = notifications[IOS_TOKEN], notifications[VOIP_TOKEN]
    assert (alert.topic, alert.push_type, alert.priority) == (BUNDLE_ID, "alert", 10)
    assert alert.payload == {"aps": {"alert": {"title": "Hi", "body": "bob"}, "sound": "default"}, "id": push_id, "data": {"room": 7}}
    assert (voip.topic, voip.push_type, voip.priority) == (f"{BUNDLE_ID}.voip", "voip", 10)
    assert voip.payload == {"aps": {}, "id": push_id, "notification": {"title": "Hi", "body": "bob"}, "data": {"room": 7}}
    for notification in (alert, voip):
        assert (notification.team_id, notification.key_id) == (TEAM_ID, KEY_ID)  # signed with the channel's key
        assert created_at + 3599 <= notification.expiration <= created_at + 3601

    messages = sorted((record["message"] for record in native.fcm.received()), key=lambda message: message["token"])
    assert [message["token"] for message in messages] == sorted([ANDROID_TOKEN, FCM_TOKEN])
    assert {record["project"] for record in native.fcm.received()} == {PROJECT_ID}
    for message in messages:
        assert message["data"] == {"id": push_id, "room": "7"}  # FCM data values are strings
        assert message["notification"] == {"title": "Hi", "body": "bob"}
        assert re.fullmatch(r"35[89]\d|3600", message["android"]["ttl"].removesuffix("s"))

    push = native.push(push_id)
    assert push["status"] == "done" and push["counts"] == NOTHING_PENDING and push["failed_reasons"] == {}
    assert native.queued(ChannelType.FCM) == [] and native.queued(ChannelType.APNS) == []
    assert native.dead_letters(ChannelType.FCM) == [] and native.dead_letters(ChannelType.APNS) == []


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_sqs_message_delivered_twice_is_sent_once(native, provider) -> None:  # noqa: ANN001
    tokens = sorted(SENDERS[provider].tokens)
    # The same event handed to the function twice (SQS delivers at least once)
    first = native.push_to_bob()
    native.fan_out()
    event = sqs_event(native.queued(provider))
    assert native.run_sender(provider, event) == {"batchItemFailures": []}
    assert native.run_sender(provider, event) == {"batchItemFailures": []}
    assert native.received_tokens(provider, first) == tokens

    # The same message twice in one event: processed side by side, the copy meets the first's
    # claim (back to SQS) or its result (done); either way nothing is sent twice.
    second = native.push_to_bob()
    native.fan_out()
    event = sqs_event(native.queued(provider))
    assert len(event["Records"]) == 1
    event["Records"].append({**event["Records"][0], "messageId": "copy-of-the-same-message"})
    failures = native.run_sender(provider, event)["batchItemFailures"]
    assert len(failures) <= 1
    returned = {failure["itemIdentifier"] for failure in failures}
    redelivered = {**event, "Records": [record for record in event["Records"] if record["messageId"] in returned]}
    if redelivered["Records"]:
        assert native.run_sender(provider, redelivered) == {"batchItemFailures": []}
    assert native.received_tokens(provider, second) == tokens

    native.deliver(OTHER[provider])
    for push_id in (first, second):
        assert native.push(push_id)["counts"] == NOTHING_PENDING  # counted once, too


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_token_the_provider_calls_dead_is_pruned(native, provider) -> None:  # noqa: ANN001
    dead, alive = SENDERS[provider].tokens
    native.misbehave(provider, dead, Trouble.UNREGISTERED)
    push_id = native.push_to_bob()
    native.fan_out()
    native.deliver_all()

    assert native.device_status(dead) == "EXPIRED"
    assert native.device_status(alive) == "ACTIVE"
    push = native.push(push_id)
    assert push["counts"] == {"targeted": 4, "sent": 3, "failed": 0, "pruned": 1, "pending": 0, "cancelled": 0}
    assert push["status"] == "done" and push["failed_reasons"] == {}
    assert native.dead_letters(provider) == []

    # The next push to bob no longer reaches the pruned device.
    later = native.push_to_bob()
    native.fan_out()
    native.deliver_all()
    assert native.push(later)["counts"]["targeted"] == 3
    assert native.received_tokens(provider, later) == [alive]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_403_on_every_request_prunes_nothing_and_dead_letters_the_batch(native, provider) -> None:  # noqa: ANN001
    # FCM: SENDER_ID_MISMATCH, APNs: InvalidProviderToken; either is our configuration, not the devices
    tokens = SENDERS[provider].tokens
    for token in tokens:
        native.misbehave(provider, token, Trouble.FORBIDDEN)
    push_id = native.push_to_bob()
    native.fan_out()
    native.deliver_all()

    assert [native.device_status(token) for token in tokens] == ["ACTIVE", "ACTIVE"]
    (dead,) = native.dead_letters(provider)
    assert dead["push_id"] == push_id and dead["dead_letter_reason"] == "rejected"
    assert devices_of([dead]) == sorted(tokens)
    assert native.queued(provider) == [] and native.delayed(provider) == 0  # not retried
    push = native.push(push_id)
    assert push["counts"] == {"targeted": 4, "sent": 2, "failed": 2, "pruned": 0, "pending": 0, "cancelled": 0}
    assert push["failed_reasons"] == {"rejected": 2}
    assert native.received_tokens(provider) == []
    assert native.received_tokens(OTHER[provider], push_id) == sorted(SENDERS[OTHER[provider]].tokens)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_429_is_retried_no_sooner_than_its_retry_after(native, provider) -> None:  # noqa: ANN001
    """Retry-After counts from the provider's answer, and a provider that rate-limits is usually
    slow to answer too: this one takes over a second, so a retry timed from before the request
    would come back early."""
    retry_after = 40
    throttled, fine = SENDERS[provider].tokens
    native.misbehave(provider, throttled, Trouble.RATE_LIMITED, retry_after=retry_after)
    native.slow[provider].seconds = 1.2
    push_id = native.push_to_bob()
    native.fan_out()
    sent_at = time.time()
    native.deliver_all()
    requeue_seen_at = time.time()

    (delay, retry), = native.requeued(provider)
    assert devices_of([retry]) == [throttled] and retry["attempt"] == 1
    answered_no_sooner_than = sent_at + native.slow[provider].seconds
    assert retry["not_before"] >= answered_no_sooner_than + retry_after, "the retry is due before Retry-After has passed since the answer"
    # The delay is what is left of the wait when the message goes back: on a loaded machine the
    # bookkeeping after the answers takes a moment, so it may be under Retry-After, never under what is left.
    assert delay >= retry["not_before"] - requeue_seen_at, f"re-queued with DelaySeconds {delay}, {retry['not_before'] - requeue_seen_at:.1f} s were left"
    assert native.queued(provider) == [] and native.delayed(provider) == 1  # SQS holds it back
    push = native.push(push_id)
    assert push["counts"] == {"targeted": 4, "sent": 3, "failed": 0, "pruned": 0, "pending": 1, "cancelled": 0}
    assert push["status"] == "sending" and push["failed_reasons"] == {}
    assert native.dead_letters(provider) == [] and native.device_status(throttled) == "ACTIVE"
    assert native.received_tokens(provider) == [fine]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_stalled_provider_holds_the_batch_no_longer_than_the_deadline(native, monkeypatch, provider) -> None:  # noqa: ANN001
    # The transport's read timeout (10 s) is far longer: only the batch deadline ends this sooner.
    # 3 s leaves the healthy request time for a first connection and key signing on a loaded
    # machine (a CI run under load once saw both requests miss a 1.5 s deadline).
    deadline = 3.0
    monkeypatch.setattr(wiring, "NATIVE_SEND_DEADLINE_SECONDS", deadline)
    stalled, fine = SENDERS[provider].tokens
    native.misbehave(provider, stalled, Trouble.STALL)
    push_id = native.push_to_bob()
    native.fan_out()
    native.sender(provider)  # imported (the container started) before the clock runs

    result, seconds = elapsed(lambda: native.deliver(provider))
    assert result == {"batchItemFailures": []}
    assert deadline <= seconds < deadline + 4.0, f"the invocation took {seconds:.1f} s"
    (delay, retry), = native.requeued(provider)
    assert devices_of([retry]) == [stalled] and retry["attempt"] == 1 and delay >= BACKOFF_BASE_SECONDS
    assert native.received_tokens(provider) == [fine]
    native.deliver(OTHER[provider])
    push = native.push(push_id)
    assert push["counts"] == {"targeted": 4, "sent": 3, "failed": 0, "pruned": 0, "pending": 1, "cancelled": 0}
    assert native.device_status(stalled) == "ACTIVE"


def test_the_access_token_and_the_provider_token_are_made_once_per_container(native) -> None:  # noqa: ANN001
    pushes = []
    for _ in range(3):
        pushes.append(native.push_to_bob())
        native.fan_out()
        native.deliver_all()  # one invocation of each sender per push

    for push_id in pushes:
        assert native.received_tokens(ChannelType.FCM, push_id) == sorted([ANDROID_TOKEN, FCM_TOKEN])
        assert native.received_tokens(ChannelType.APNS, push_id) == [IOS_TOKEN, VOIP_TOKEN]
        assert native.push(push_id)["counts"] == NOTHING_PENDING
    assert native.fcm.tokens_issued == 1  # one OAuth exchange for the service account
    assert native.apns.provider_tokens_seen == 1 and native.apns.token_updates == 0  # one JWT, reused
