"""The sender's transport end to end below the network: the channel's VAPID key read from SSM,
real encryption and signing, a recording session standing in for the push service."""

from __future__ import annotations

import json

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from pushgate.delivery.outcomes import OutcomeKind
from pushgate.pushes import DeliveryTarget, Push
from pushgate.delivery.webpush.transport import ChannelTransport, ChannelNotFound
from pushgate.validation import EndpointPolicy
from tests.delivery.push_fakes import Browser, FakeSession, browser_decrypt, split_vapid, verify_es256


@pytest.fixture
def transport_for(pushgate, demo_app):  # noqa: ANN001, ANN201
    parameters.clear_caches()
    ssm = boto3.client("ssm")

    def build(session: FakeSession) -> ChannelTransport:
        return ChannelTransport(
            pushgate.repository,
            read_secret=lambda name: ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"],
            subject="mailto:ops@example.com",
            policy=EndpointPolicy(),
            session=session,
            concurrency=4,
        )

    return build


def push(demo_app, payload: str = '{"id":"p1","data":{"hello":"world"}}', **fields: object) -> Push:  # noqa: ANN001
    return Push(push_id="p1", app_id=demo_app.app.app_id, created_at=0, time_to_live=600, urgency="high", payload=payload, **fields)


def target(browser: Browser, endpoint: str, channel_id: str) -> DeliveryTarget:
    return DeliveryTarget(token_hash="th", token=endpoint, type="web", p256dh=browser.p256dh, auth=browser.auth_b64, channel_id=channel_id)


def test_a_push_without_a_collapse_key_has_a_topic_of_its_own_so_a_copy_sent_again_replaces_the_first(transport_for, demo_app) -> None:  # noqa: ANN001
    # The sender is at-least-once; the push service keeps one undelivered copy per Topic.
    from pushgate.delivery.webpush.push_headers import collapse_topic, push_topic

    session, browser = FakeSession(201), Browser()
    channel = demo_app.channels[0]
    devices = [target(browser, f"https://fcm.googleapis.com/wp/{i}", channel.channel_id) for i in range(2)]
    transport = transport_for(session)
    transport.send(push(demo_app), devices, ttl=60)
    transport.send(push(demo_app), devices[:1], ttl=60)  # the same push sent again, as a retry does
    topics = [post.headers["Topic"] for post in session.posts]
    assert topics == [push_topic("p1")] * 3 and len(topics[0]) <= 32
    assert push_topic("p1") != push_topic("p2") and push_topic("p1") != collapse_topic("p1")


def test_a_delivery_decrypts_in_the_browser_and_carries_the_channels_vapid(transport_for, demo_app) -> None:  # noqa: ANN001
    session, browser = FakeSession(201), Browser()
    channel = demo_app.channels[0]
    outcomes = transport_for(session).send(push(demo_app, collapse_key="chat-42"), [target(browser, "https://fcm.googleapis.com/wp/x", channel.channel_id)], ttl=540)
    assert [o.kind for o in outcomes] == [OutcomeKind.SENT]
    (post,) = session.posts
    plaintext, _ = browser_decrypt(post.data, browser)
    assert json.loads(plaintext) == {"id": "p1", "data": {"hello": "world"}}
    assert (post.headers["TTL"], post.headers["Urgency"], post.headers["Content-Encoding"]) == ("540", "high", "aes128gcm")
    assert len(post.headers["Topic"]) <= 32 and "chat" not in post.headers["Topic"]
    token, key = split_vapid(post.headers["Authorization"])
    assert key == channel.vapid_public_key
    claims = verify_es256(token, key)
    assert claims["aud"] == "https://fcm.googleapis.com" and claims["sub"] == "mailto:ops@example.com"
    assert post.allow_redirects is False and post.timeout is not None


def test_a_row_pointing_at_a_private_address_makes_no_request(transport_for, demo_app) -> None:  # noqa: ANN001
    session = FakeSession(201)
    targets = [target(Browser(), "https://169.254.169.254/latest/meta-data", demo_app.channels[0].channel_id)]
    assert [o.kind for o in transport_for(session).send(push(demo_app), targets, ttl=60)] == [OutcomeKind.BLOCKED]
    assert session.posts == []


def test_unusable_keys_and_oversized_payloads_make_no_request(transport_for, demo_app) -> None:  # noqa: ANN001
    session, channel_id = FakeSession(201), demo_app.channels[0].channel_id
    bad_keys = DeliveryTarget(token_hash="t", token="https://fcm.googleapis.com/wp/y", type="web", p256dh="AAAA", auth="AAAA", channel_id=channel_id)
    missing = DeliveryTarget(token_hash="t", token="https://fcm.googleapis.com/wp/z", type="web", channel_id=channel_id)
    assert [o.kind for o in transport_for(session).send(push(demo_app), [bad_keys, missing], ttl=60)] == [OutcomeKind.INVALID_SUBSCRIPTION] * 2
    huge = push(demo_app, payload="x" * 3994)
    assert [o.kind for o in transport_for(session).send(huge, [target(Browser(), "https://fcm.googleapis.com/wp/q", channel_id)], ttl=60)] == [OutcomeKind.TOO_LARGE]
    assert session.posts == []


def test_outcomes_keep_the_order_of_the_targets(transport_for, demo_app) -> None:  # noqa: ANN001
    from tests.delivery.push_fakes import canned_response

    answers = {"https://fcm.googleapis.com/wp/a": 201, "https://fcm.googleapis.com/wp/b": 410, "https://fcm.googleapis.com/wp/c": 403}
    session = FakeSession(lambda url: canned_response(answers[url]))
    channel_id = demo_app.channels[0].channel_id
    outcomes = transport_for(session).send(push(demo_app), [target(Browser(), url, channel_id) for url in answers], ttl=60)
    assert [o.kind for o in outcomes] == [OutcomeKind.SENT, OutcomeKind.GONE, OutcomeKind.REJECTED]


def test_an_unknown_channel_fails_the_batch_so_sqs_retries_it(transport_for, demo_app) -> None:  # noqa: ANN001
    with pytest.raises(ChannelNotFound):
        transport_for(FakeSession(201)).send(push(demo_app), [target(Browser(), "https://fcm.googleapis.com/wp/a", "no-such-channel")], ttl=60)


def test_a_batch_that_fails_for_its_channel_has_sent_nothing_of_another_channel(transport_for, demo_app) -> None:  # noqa: ANN001
    session = FakeSession(201)
    targets = [target(Browser(), "https://fcm.googleapis.com/wp/a", demo_app.channels[0].channel_id),
               target(Browser(), "https://fcm.googleapis.com/wp/b", "no-such-channel")]
    with pytest.raises(ChannelNotFound):
        transport_for(session).send(push(demo_app), targets, ttl=60)
    assert session.posts == []  # or SQS's retry of the batch would send the first one again


def test_the_channel_is_read_once_per_container_not_per_batch(transport_for, pushgate, demo_app, monkeypatch) -> None:  # noqa: ANN001
    reads = []
    original = pushgate.repository.get_channel
    monkeypatch.setattr(pushgate.repository, "get_channel", lambda *args: reads.append(args) or original(*args))
    transport = transport_for(FakeSession(201))
    channel_id = demo_app.channels[0].channel_id
    for batch in range(3):
        transport.send(push(demo_app), [target(Browser(), f"https://fcm.googleapis.com/wp/{batch}", channel_id)], ttl=60)
    assert len(reads) == 1
