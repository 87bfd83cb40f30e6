"""FcmTransport against the fake over real TLS and HTTP/2: what reaches FCM, how a batch travels
(one connection, concurrent streams), how tokens are minted and refreshed, and which outcome
each FCM answer becomes."""

from __future__ import annotations

import json
import time

import pytest

from pushgate.delivery.fcm.transport import FcmTransport, fcm_reason
from pushgate.delivery.outcomes import OutcomeKind
from pushgate.delivery.transport.h2_transport import H2Transport
from pushgate.identifiers import log_id
from pushgate.models import ChannelType
from pushgate_local.fakes.fcm import FakeFcm
from tests.native.fcm.conftest import Channels, Project, Secrets, make_push, target

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
BAD_REQUEST = "type.googleapis.com/google.rpc.BadRequest"


def test_a_push_reaches_fcm_as_the_message_it_maps_to(make_transport, project: Project, fake: FakeFcm) -> None:
    push = make_push({"notification": {"title": "Hi", "body": "There", "url": "https://example.com"}, "data": {"n": 1}},
                     urgency="high", collapse_key="score")

    outcomes = make_transport(project).send(push, [target("device-a", project.channel_id)], ttl=120)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT]
    assert outcomes[0].endpoint_id == log_id("device-a") and outcomes[0].status_code == 200
    (received,) = fake.received()
    assert received["project"] == project.project_id
    assert received["message"] == {
        "token": "device-a",
        "notification": {"title": "Hi", "body": "There"},
        "data": {"n": "1", "id": push.push_id},
        "android": {"ttl": "120s", "priority": "HIGH", "collapse_key": "score",
                    "notification": {"click_action": "https://example.com"}},
    }


def test_a_batch_of_100_goes_as_concurrent_streams_of_one_connection(make_transport, project: Project, fake: FakeFcm) -> None:
    # The fake answers nothing until all 100 are in flight: a client sending one after the other,
    # or fewer at once, would wait out the hold and fail the time check.
    fake.hold_until_in_flight(100, timeout=8.0)
    tokens = [f"device-{i:03d}" for i in range(100)]
    transport = make_transport(project, deadline_seconds=20.0)

    started = time.monotonic()
    outcomes = transport.send(make_push(), [target(token, project.channel_id) for token in tokens], ttl=60)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 100
    assert time.monotonic() - started < 8.0, "the hold timed out: the requests were not all in flight together"
    assert fake.max_in_flight == 100 and fake.connections_seen == 1
    assert sorted(entry["message"]["token"] for entry in fake.received()) == tokens
    assert transport.tokens.minted == 1


def test_a_batch_of_200_is_in_flight_at_once_on_one_connection(make_transport, project: Project, fake: FakeFcm) -> None:
    # The fake answers nothing until 200 requests are open at once: one after the other, or a
    # client that caps its streams below that, would never get an answer in time.
    fake.hold_until_in_flight(200, timeout=8.0)
    tokens = [f"device-{i:03d}" for i in range(200)]

    transport = make_transport(project, deadline_seconds=20.0)

    outcomes = transport.send(make_push(), [target(t, project.channel_id) for t in tokens], ttl=60)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 200
    assert fake.max_in_flight == 200 and fake.connections_seen == 1
    assert len(fake.received()) == 200


def test_outcomes_are_in_the_order_of_the_targets(make_transport, project: Project, fake: FakeFcm) -> None:
    fake.set_token_behaviour("dead", "unregistered")
    tokens = ["ok-1", "dead", "ok-2"]

    outcomes = make_transport(project).send(make_push(), [target(token, project.channel_id) for token in tokens], ttl=60)

    assert [(o.endpoint_id, o.kind) for o in outcomes] == [
        (log_id("ok-1"), OutcomeKind.SENT), (log_id("dead"), OutcomeKind.GONE), (log_id("ok-2"), OutcomeKind.SENT)]


def test_the_token_and_the_channel_are_had_once_per_container(make_transport, project: Project, fake: FakeFcm) -> None:
    channels = Channels(project)
    transport = make_transport(project, channels=channels)

    for batch in range(3):
        transport.send(make_push(), [target(f"d{batch}-{i}", project.channel_id) for i in range(20)], ttl=60)

    assert transport.tokens.minted == 1 and fake.tokens_issued == 1
    assert channels.reads == 1
    assert len(fake.received()) == 60


def test_an_expired_token_is_refreshed_exactly_once_for_the_whole_batch(make_transport, project: Project, fake: FakeFcm) -> None:
    transport = make_transport(project)
    transport.send(make_push(), [target("warm-up", project.channel_id)], ttl=60)
    fake.expire_all_tokens()
    fake.clear_received()

    outcomes = transport.send(make_push(), [target(f"d{i}", project.channel_id) for i in range(50)], ttl=60)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 50
    assert transport.tokens.minted == 2 and fake.tokens_issued == 2
    assert fake.requests_seen == 1 + 50 + 50  # the warm-up, the refused round, the resent round
    assert len(fake.received()) == 50


def test_a_short_lived_token_is_replaced_before_fcm_refuses_it(make_transport, project: Project, fake: FakeFcm) -> None:
    fake.token_lifetime = 1  # kept for half its life, then minted again before it can expire
    transport = make_transport(project)
    transport.send(make_push(), [target("first", project.channel_id)], ttl=60)
    time.sleep(0.6)

    (outcome,) = transport.send(make_push(), [target("second", project.channel_id)], ttl=60)

    assert outcome.kind is OutcomeKind.SENT
    assert transport.tokens.minted == 2 and fake.requests_seen == 2  # no request was refused with a 401


def test_a_second_401_is_rejected_after_one_refresh(make_transport, project: Project, fake: FakeFcm) -> None:
    fake.set_project_behaviour(project.project_id, "auth_error")
    transport = make_transport(project)

    outcomes = transport.send(make_push(), [target(f"d{i}", project.channel_id) for i in range(5)], ttl=60)

    assert {(o.kind, o.status_code, o.detail) for o in outcomes} == {(OutcomeKind.REJECTED, 401, "UNAUTHENTICATED")}
    assert all(outcome.alarm and not outcome.prune for outcome in outcomes)
    assert transport.tokens.minted == 2 and fake.requests_seen == 10


@pytest.mark.parametrize(("behaviour", "kind", "status", "detail"), [
    ("unregistered", OutcomeKind.GONE, 404, "UNREGISTERED"),
    ("invalid", OutcomeKind.INVALID_REQUEST, 400, "INVALID_ARGUMENT"),
    ("sender_id_mismatch", OutcomeKind.REJECTED, 403, "SENDER_ID_MISMATCH"),
    ("quota", OutcomeKind.RATE_LIMITED, 429, "QUOTA_EXCEEDED"),
    ("unavailable", OutcomeKind.RETRY, 503, "UNAVAILABLE"),
    ("internal", OutcomeKind.RETRY, 500, "INTERNAL"),
    ("third_party_auth_error", OutcomeKind.REJECTED, 401, "THIRD_PARTY_AUTH_ERROR"),
])
def test_each_fcm_error_becomes_its_outcome(make_transport, project: Project, fake: FakeFcm,
                                            behaviour: str, kind: OutcomeKind, status: int, detail: str) -> None:
    fake.set_token_behaviour("bad", behaviour)

    targets = [target("bad", project.channel_id), target("good", project.channel_id)]

    bad, good = make_transport(project).send(make_push(), targets, ttl=60)

    assert (bad.kind, bad.status_code, bad.detail) == (kind, status, detail)
    assert bad.prune is (behaviour == "unregistered")
    assert bad.retry_after == (30.0 if behaviour == "quota" else None)
    assert good.kind is OutcomeKind.SENT
    assert fake.requests_seen == 2  # no second round: only a 401 about our own token is refreshed and resent


def test_a_stalled_request_is_retried_later_and_the_rest_of_the_batch_is_sent(make_transport, project: Project, fake: FakeFcm) -> None:
    fake.set_token_behaviour("stuck", "stall")
    transport = make_transport(project, deadline_seconds=1.5)

    started = time.monotonic()
    outcomes = transport.send(make_push(), [target(t, project.channel_id) for t in ("a", "stuck", "b")], ttl=60)
    elapsed = time.monotonic() - started

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT, OutcomeKind.RETRY, OutcomeKind.SENT]
    assert outcomes[1].detail == "DeadlineExceeded" and outcomes[1].retryable
    assert 1.4 <= elapsed < 3.0
    assert sorted(entry["message"]["token"] for entry in fake.received()) == ["a", "b"]


def test_targets_of_a_removed_or_missing_channel_are_rejected_without_a_request(make_transport, project: Project,
                                                                              fake: FakeFcm) -> None:
    targets = [target("x", "channel-removed"), target("y", None), target("z", project.channel_id)]

    outcomes = make_transport(project).send(make_push(), targets, ttl=60)

    assert [(o.kind, o.detail) for o in outcomes[:2]] == [(OutcomeKind.REJECTED, "no_channel")] * 2
    assert outcomes[2].kind is OutcomeKind.SENT
    assert fake.requests_seen == 1


def test_a_channel_of_another_provider_is_not_sent_through_fcm(make_transport, project: Project, fake: FakeFcm) -> None:
    channels = Channels(project)
    channels.channels[project.channel_id] = project.channel().model_copy(update={"type": ChannelType.APNS})

    (outcome,) = make_transport(project, channels=channels).send(make_push(), [target("x", project.channel_id)], ttl=60)

    assert (outcome.kind, outcome.detail) == (OutcomeKind.REJECTED, "channel_not_fcm") and fake.requests_seen == 0


def test_each_channel_sends_to_its_own_project_with_its_own_token(make_transport, project: Project, other_project: Project,
                                                                 fake: FakeFcm) -> None:
    transport = make_transport(project, other_project)
    targets = [target("p1", project.channel_id), target("o1", other_project.channel_id), target("p2", project.channel_id)]

    outcomes = transport.send(make_push(), targets, ttl=60)

    assert [outcome.kind for outcome in outcomes] == [OutcomeKind.SENT] * 3
    assert sorted((entry["project"], entry["message"]["token"]) for entry in fake.received()) == [
        ("other-project", "o1"), ("pushgate-test", "p1"), ("pushgate-test", "p2")]
    assert transport.tokens.minted == 2


def test_a_revoked_key_fails_its_channels_targets_with_an_alarm(make_transport, project: Project, other_project: Project,
                                                               fake: FakeFcm) -> None:
    fake.register_service_account(project.project_id, project.client_email, other_project.keys.public_pem, project.private_key_id)

    outcomes = make_transport(project, other_project).send(
        make_push(), [target("p1", project.channel_id), target("o1", other_project.channel_id)], ttl=60)

    assert (outcomes[0].kind, outcomes[0].detail, outcomes[0].status_code) == (OutcomeKind.REJECTED, "oauth:invalid_grant", 400)
    assert outcomes[1].kind is OutcomeKind.SENT


def test_an_unreachable_fcm_is_a_transient_failure(project: Project, ca, urls: dict[str, str]) -> None:
    http = H2Transport(ca_file=str(ca.ca_file), connect_timeout=1.0, read_timeout=1.0)
    try:
        transport = FcmTransport(Channels(project), Secrets(project), http, {**urls, "fcm": "https://127.0.0.1:9"})
        (outcome,) = transport.send(make_push(), [target("x", project.channel_id)], ttl=60)
    finally:
        http.close()
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail == "ConnectError"


def test_the_fake_ca_is_trusted_only_through_ca_file(project: Project, urls: dict[str, str], fake: FakeFcm) -> None:
    http = H2Transport(connect_timeout=1.0, read_timeout=1.0)  # the public CAs only
    try:
        transport = FcmTransport(Channels(project), Secrets(project), http, urls)
        (outcome,) = transport.send(make_push(), [target("x", project.channel_id)], ttl=60)
    finally:
        http.close()
    assert outcome.kind is OutcomeKind.RETRY and outcome.detail == "oauth:token_endpoint_unreachable:ConnectError"
    assert fake.tokens_issued == 0 and fake.requests_seen == 0


def test_a_push_made_before_the_size_check_fails_here_without_a_request(make_transport, project: Project, fake: FakeFcm) -> None:
    oversize = make_push({"data": {"k": "x" * 4100}})
    reserved = make_push({"data": {"google.sent_time": "1"}})
    transport = make_transport(project)

    (too_large,) = transport.send(oversize, [target("x", project.channel_id)], ttl=60)
    (refused,) = transport.send(reserved, [target("x", project.channel_id)], ttl=60)

    assert too_large.kind is OutcomeKind.TOO_LARGE and refused.kind is OutcomeKind.INVALID_REQUEST
    assert fake.requests_seen == 0


def test_no_outcome_carries_a_device_token(make_transport, project: Project, fake: FakeFcm) -> None:
    token = "secret-device-token-0123456789"
    for behaviour in ("invalid", "quota", "stall"):
        fake.set_token_behaviour(token, behaviour)
        (outcome,) = make_transport(project, deadline_seconds=0.5).send(make_push(), [target(token, project.channel_id)], ttl=60)
        assert token not in repr(outcome)


@pytest.mark.parametrize(("body", "reason"), [
    ({"error": {"status": "NOT_FOUND", "details": [{"@type": FCM_ERROR, "errorCode": "UNREGISTERED"}]}}, "UNREGISTERED"),
    ({"error": {"status": "INVALID_ARGUMENT", "details": [{"@type": BAD_REQUEST, "fieldViolations": []}]}}, "INVALID_ARGUMENT"),
    ({"error": {"status": "UNAUTHENTICATED"}}, "UNAUTHENTICATED"),
    ({"error": {"status": "a token: ya29.secret"}}, None),
    ({"name": "projects/p/messages/1"}, None),
])
def test_the_reason_is_fcms_error_code_else_the_rpc_status(body: dict, reason: str | None) -> None:
    assert fcm_reason(json.dumps(body).encode()) == reason
    assert fcm_reason(b"<html>502</html>") is None
