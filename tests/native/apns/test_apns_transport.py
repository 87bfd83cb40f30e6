"""ApnsTransport against the fake APNs over real TLS and HTTP/2: what is sent, on how many
connections, with how many provider tokens, and what each answer becomes."""

from __future__ import annotations

import time

import jwt
import pytest

from pushgate.delivery.apns.payload import apns_id
from pushgate.delivery.apns.provider_token import REFRESH_SECONDS
from pushgate.delivery.outcomes import OutcomeKind
from pushgate.identifiers import log_id
from pushgate.models import ApnsEnvironment, ChannelType
from pushgate_local.fakes.apns import Behaviour
from tests.native.apns.conftest import BUNDLE_ID, CHANNEL_ID, KEY_ID, PUSH_ID, TEAM_ID, Apns, new_device_token

NOTIFICATION = {"title": "Order shipped", "body": "Arrives Tuesday", "url": "https://shop.example/o/1"}


def test_each_device_of_a_batch_gets_its_own_apns_id_and_the_shared_payload(apns: Apns) -> None:
    # The payload and headers are built once per device type in a batch; apns-id is per device.
    targets = [apns.target() for _ in range(3)]

    outcomes = apns.send(apns.push(notification=NOTIFICATION), targets, ttl=600)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 3
    by_token = {received.token: received for received in apns.fake.received()}
    assert {token: received.apns_id for token, received in by_token.items()} == {
        target.token: apns_id(PUSH_ID, target.token_hash) for target in targets
    }
    assert len({received.apns_id for received in by_token.values()}) == 3
    assert len({str(received.payload) for received in by_token.values()}) == 1


def test_an_alert_reaches_apns_as_built_and_is_sent(apns: Apns) -> None:
    target = apns.target()

    [outcome] = apns.send(apns.push(notification=NOTIFICATION, data={"order": 7}), [target], ttl=600)

    assert outcome.kind is OutcomeKind.SENT and outcome.endpoint_id == log_id(target.token)
    [received] = apns.fake.received()
    assert received.token == target.token
    assert (received.topic, received.push_type, received.priority) == (BUNDLE_ID, "alert", 10)
    assert received.expiration == int(apns.clock()) + 600
    assert received.apns_id == apns_id(PUSH_ID, target.token_hash)
    assert (received.team_id, received.key_id) == (TEAM_ID, KEY_ID)
    assert received.payload == {
        "aps": {"alert": {"title": "Order shipped", "body": "Arrives Tuesday"}, "sound": "default"},
        "id": PUSH_ID,
        "data": {"order": 7},
        "url": "https://shop.example/o/1",
    }


def test_background_voip_low_urgency_and_collapsed_pushes_are_all_accepted(apns: Apns) -> None:
    ios, voip = apns.target(), apns.target(device_type="ios-voip")
    data_only = apns.push(data={"sync": 1}, collapse_key="k" * 200)
    low = apns.push(notification=NOTIFICATION, urgency="very-low", push_id="q" * 26)

    outcomes = apns.send(data_only, [ios, voip], ttl=0) + apns.send(low, [ios], ttl=60)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 3
    background, voip_push, alert = apns.fake.received()
    assert (background.push_type, background.priority, background.expiration) == ("background", 5, 0)
    assert background.payload["aps"] == {"content-available": 1}
    assert background.collapse_id is not None and len(background.collapse_id) <= 64
    assert (voip_push.topic, voip_push.push_type, voip_push.priority) == (f"{BUNDLE_ID}.voip", "voip", 10)
    assert (alert.push_type, alert.priority) == ("alert", 5)


def test_a_retry_is_the_same_notification_to_apns(apns: Apns) -> None:
    push, target, other = apns.push(notification=NOTIFICATION), apns.target(), apns.target()

    apns.send(push, [target, other])
    apns.send(push, [target])

    first, second, again = apns.fake.received()
    assert again.apns_id == first.apns_id
    assert second.apns_id != first.apns_id


def test_an_upper_case_token_is_sent_in_lower_case(apns: Apns) -> None:
    token = new_device_token()

    [outcome] = apns.send(apns.push(notification=NOTIFICATION), [apns.target(token.upper())])

    assert outcome.kind is OutcomeKind.SENT
    assert [received.token for received in apns.fake.received()] == [token]


@pytest.mark.parametrize("token", ["xyz" * 22, "ab" * 31, "a" * 65, "ab" * 101, "ab" * 32 + " ", "ab" * 16 + "-" + "ab" * 16, ""])
def test_a_token_that_is_not_64_to_200_hex_characters_is_never_sent(apns: Apns, token: str) -> None:
    outcomes = apns.send(apns.push(notification=NOTIFICATION), [apns.target(token or "-"), apns.target()])

    assert outcomes[0].kind is OutcomeKind.INVALID_SUBSCRIPTION and outcomes[0].detail == "BadDeviceToken"
    assert outcomes[1].kind is OutcomeKind.SENT
    assert apns.fake.requests == 1


def test_a_target_whose_channel_is_gone_is_rejected_without_a_request(apns: Apns) -> None:
    outcomes = apns.send(apns.push(notification=NOTIFICATION), [apns.target(channel_id="deleted"), apns.target(channel_id=None), apns.target()])

    assert [(outcome.kind, outcome.detail) for outcome in outcomes[:2]] == [(OutcomeKind.REJECTED, "no_channel")] * 2
    assert outcomes[2].kind is OutcomeKind.SENT and apns.fake.requests == 1


def test_a_channel_that_cannot_sign_fails_its_own_targets_only(apns: Apns) -> None:
    apns.add_channel("no-key", private_key_parameter="/pushgate/test/apns/broken")
    apns.secrets["/pushgate/test/apns/broken"] = "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"
    apns.add_channel("webpush", type=ChannelType.WEBPUSH)

    outcomes = apns.send(apns.push(notification=NOTIFICATION), [apns.target(channel_id="no-key"), apns.target(channel_id="webpush"), apns.target()])

    assert [(outcome.kind, outcome.detail) for outcome in outcomes] == [
        (OutcomeKind.REJECTED, "bad_provider_key"),
        (OutcomeKind.REJECTED, "not_apns_channel"),
        (OutcomeKind.SENT, "HTTP 200"),
    ]
    assert apns.fake.requests == 1


def test_a_payload_over_the_limit_is_too_large_without_a_request(apns: Apns) -> None:
    [outcome] = apns.send(apns.push(notification=NOTIFICATION, data="x" * 4096), [apns.target()])

    assert (outcome.kind, outcome.detail) == (OutcomeKind.TOO_LARGE, "PayloadTooLarge")
    assert apns.fake.requests == 0


def test_a_web_device_is_not_sent_through_apns(apns: Apns) -> None:
    [outcome] = apns.send(apns.push(notification=NOTIFICATION), [apns.target(device_type="web")])

    assert (outcome.kind, outcome.detail) == (OutcomeKind.REJECTED, "not_apns_device") and apns.fake.requests == 0


def test_the_channel_is_read_once_for_many_batches(apns: Apns) -> None:
    for _ in range(5):
        apns.send(apns.push(notification=NOTIFICATION), [apns.target()])

    assert apns.channels.reads == 1


def test_a_sandbox_channel_is_sent_to_the_sandbox_host(apns: Apns) -> None:
    sandbox = apns.sandbox
    apns.add_channel("sandbox", environment=ApnsEnvironment.SANDBOX)
    transport = apns.make_transport()

    outcomes = transport.send(apns.push(notification=NOTIFICATION), [apns.target(channel_id="sandbox"), apns.target()], 60)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 2
    assert sandbox.requests == 1 and apns.fake.requests == 1


@pytest.mark.parametrize(
    ("behaviour", "status", "kind", "detail"),
    [
        (Behaviour.UNREGISTERED, 410, OutcomeKind.GONE, "Unregistered"),
        (Behaviour.BAD_DEVICE_TOKEN, 400, OutcomeKind.GONE, "BadDeviceToken"),
        (Behaviour.NOT_FOR_TOPIC, 400, OutcomeKind.REJECTED, "DeviceTokenNotForTopic"),
        (Behaviour.TOO_MANY_REQUESTS, 429, OutcomeKind.RATE_LIMITED, "TooManyRequests"),
        (Behaviour.INTERNAL, 500, OutcomeKind.RETRY, "InternalServerError"),
        (Behaviour.UNAVAILABLE, 503, OutcomeKind.RETRY, "ServiceUnavailable"),
        (Behaviour.FORBIDDEN, 403, OutcomeKind.REJECTED, "InvalidProviderToken"),
    ],
)
def test_each_answer_of_apns_becomes_its_outcome(apns: Apns, behaviour: Behaviour, status: int, kind: OutcomeKind, detail: str) -> None:
    before, target, after = apns.target(), apns.target(), apns.target()
    apns.fake.set_behaviour(target.token, behaviour)

    outcomes = apns.send(apns.push(notification=NOTIFICATION), [before, target, after])

    assert outcomes[1].kind is kind and outcomes[1].status_code == status and outcomes[1].detail == detail
    assert outcomes[1].endpoint_id == log_id(target.token)
    assert outcomes[0].kind is outcomes[2].kind is OutcomeKind.SENT


def test_retry_after_is_kept_when_apns_sends_one(apns: Apns) -> None:
    target = apns.target()
    apns.fake.set_behaviour(target.token, Behaviour.TOO_MANY_REQUESTS, retry_after=120)

    [outcome] = apns.send(apns.push(notification=NOTIFICATION), [target])

    assert outcome.kind is OutcomeKind.RATE_LIMITED and outcome.retry_after == 120.0


def test_behaviours_can_be_set_over_http(apns: Apns) -> None:
    target = apns.target()

    answer = apns.raw("POST", f"/_fake/tokens/{target.token}", {}, {"behaviour": "unregistered"})
    [outcome] = apns.send(apns.push(notification=NOTIFICATION), [target])

    assert answer.status_code == 204
    assert (outcome.kind, outcome.detail) == (OutcomeKind.GONE, "Unregistered")


def test_two_hundred_requests_are_in_flight_at_once_on_one_connection(apns: Apns) -> None:
    # The fake holds accepted requests until two hundred are waiting at once: only concurrent
    # streams meet. APNs allows a client about 1,000 streams on a connection (the fake 1,000 too).
    apns.fake.hold_until_in_flight(200, timeout=10.0)
    targets = [apns.target() for _ in range(200)]

    outcomes = apns.send(apns.push(notification=NOTIFICATION), targets)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 200
    assert apns.fake.meetings == 1 and apns.fake.most_in_flight == 200
    assert apns.fake.connections == 1


def test_ten_thousand_deliveries_sign_one_provider_token(apns: Apns) -> None:
    push = apns.push(notification=NOTIFICATION)

    kinds = set()
    for _ in range(20):
        apns.clock.advance(60)  # twenty minutes of traffic, well inside the refresh period
        kinds.update(outcome.kind for outcome in apns.send(push, [apns.target() for _ in range(500)]))

    assert kinds == {OutcomeKind.SENT}
    assert apns.fake.received_count == 10_000
    assert apns.transport.provider_tokens.signings == 1
    assert apns.fake.provider_tokens_seen == 1 and apns.fake.signature_checks == 1
    assert apns.fake.refusals["TooManyProviderTokenUpdates"] == 0
    assert apns.fake.connections == 1


def test_past_the_refresh_period_the_token_is_re_signed_once(apns: Apns) -> None:
    push = apns.push(notification=NOTIFICATION)
    apns.send(push, [apns.target() for _ in range(20)])

    apns.clock.advance(REFRESH_SECONDS)
    outcomes = apns.send(push, [apns.target() for _ in range(20)])
    apns.clock.advance(REFRESH_SECONDS / 2)
    outcomes += apns.send(push, [apns.target() for _ in range(20)])

    assert {outcome.kind for outcome in outcomes} == {OutcomeKind.SENT}
    assert apns.transport.provider_tokens.signings == 2
    assert apns.fake.provider_tokens_seen == 2 and apns.fake.token_updates == 1
    assert not apns.fake.refusals


def test_expired_provider_token_is_re_signed_once_and_the_refused_requests_sent_again(apns: Apns) -> None:
    push = apns.push(notification=NOTIFICATION)
    apns.send(push, [apns.target()])
    # 35 minutes on by our clock, 65 by Apple's: our token is fresh to us and stale to APNs.
    apns.clock.advance(35 * 60)
    apns.clock.ahead = 30 * 60
    targets = [apns.target() for _ in range(50)]

    outcomes = apns.send(push, targets)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 50
    assert apns.fake.refusals == {"ExpiredProviderToken": 50}
    assert apns.transport.provider_tokens.signings == 2  # not 51
    assert apns.fake.requests == 1 + 50 + 50
    assert {received.token for received in apns.fake.received()[1:]} == {target.token for target in targets}


def test_a_token_still_expired_after_the_one_resend_is_rejected(apns: Apns) -> None:
    apns.clock.ahead = 2 * 3600  # Apple's clock two hours ahead: every token we sign is stale to it

    outcomes = apns.send(apns.push(notification=NOTIFICATION), [apns.target() for _ in range(10)])

    assert [(outcome.kind, outcome.detail) for outcome in outcomes] == [(OutcomeKind.REJECTED, "ExpiredProviderToken")] * 10
    assert apns.fake.requests == 20
    assert apns.transport.provider_tokens.signings == 2


def test_a_stalled_token_is_retried_within_the_deadline_while_the_rest_are_sent(apns: Apns) -> None:
    transport = apns.make_transport(deadline_seconds=1.0)
    targets = [apns.target() for _ in range(5)]
    apns.fake.set_behaviour(targets[2].token, Behaviour.STALL)

    started = time.monotonic()
    outcomes = transport.send(apns.push(notification=NOTIFICATION), targets, 60)
    elapsed = time.monotonic() - started

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 2 + [OutcomeKind.RETRY] + [OutcomeKind.SENT] * 2
    assert outcomes[2].detail == "DeadlineExceeded"
    assert 1.0 <= elapsed < 3.0
    assert apns.fake.received_count == 4


def test_the_provider_token_on_the_wire_is_the_one_signed(apns: Apns) -> None:
    apns.send(apns.push(notification=NOTIFICATION), [apns.target()])

    token = apns.transport.provider_tokens.token_for(TEAM_ID, KEY_ID, apns.key.private_pem)
    claims = jwt.decode(token, apns.key.public_pem, algorithms=["ES256"], options={"verify_iat": False})
    assert claims == {"iss": TEAM_ID, "iat": int(apns.clock())}
    assert apns.fake.signature_checks == 1 and apns.fake.provider_tokens_seen == 1


def test_a_batch_of_several_channels_goes_out_in_one_exchange(apns: Apns) -> None:
    apns.add_channel("second")
    apns.fake.hold_until_in_flight(4, timeout=10.0)

    outcomes = apns.send(apns.push(notification=NOTIFICATION), [apns.target(), apns.target(channel_id="second")] * 2)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 4
    assert apns.fake.meetings == 1


def test_outcomes_name_devices_only_by_their_log_id(apns: Apns) -> None:
    target = apns.target()
    apns.fake.set_behaviour(target.token, Behaviour.UNREGISTERED)

    [outcome] = apns.send(apns.push(notification=NOTIFICATION), [target])

    assert target.token not in repr(outcome) and CHANNEL_ID not in repr(outcome)
