"""Fault 5, FCM and APNs: the provider resets the connection, answers the TLS handshake with
garbage or cuts it short (a relay in front of each fake breaks the senders' next connection, the
OAuth token fetch's included), or never answers a request (the fake stalls past the batch
deadline). Over HTTP/2 a connection carries the whole batch, so a broken connection fails every
device of it; all are retried. The world is tests/pipeline/native_world.py's: bob with an android,
an fcm, an ios and an ios-voip device, the real sender handlers. Target: nothing lost, duplicated
or wrongly pruned; the counts exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from pushgate import wiring
from pushgate.models import ChannelType
from pushgate_local.fakes import server as fake_server
from tests.conftest import TABLE_NAME
from tests.faults.figures import Figures, record
from tests.faults.relay import Breakage, FaultyRelay
from tests.faults.web_world import MAX_RECEIVES, invocation_deadlines_pass, retries_fall_due_at_once
from tests.pipeline.conftest import receive, sqs_event
from tests.pipeline.native_world import BOB, SENDERS, NativeWorld, Trouble

STALL_DEADLINE_SECONDS = 1.0  # the batch deadline here: a stalled request is given up after it


@dataclass
class RelayedNativeWorld(NativeWorld):
    """The native world with a FaultyRelay between each sender and its fake provider."""

    relays: dict[ChannelType, FaultyRelay] = field(default_factory=dict)
    parked: list[dict[str, Any]] = field(default_factory=list)

    def _serve(self, provider: ChannelType, fake: Any) -> str:
        url = super()._serve(provider, fake)
        self.relays[provider] = FaultyRelay(int(url.rsplit(":", 1)[1]))
        return f"https://127.0.0.1:{self.relays[provider].port}"

    def stop(self) -> None:
        super().stop()
        for relay in self.relays.values():
            relay.stop()

    def settle(self, provider: ChannelType) -> None:
        """The provider's sender, invoked as its event source mapping would, until its queue is
        empty: a failed message comes back, and goes to the dead-letter queue after MAX_RECEIVES."""
        sqs, url = self.aws["sqs"], self.queues[SENDERS[provider].queue]
        for _ in range(40):
            messages = receive(sqs, url, 5)
            if not messages:
                return
            try:
                failed = {f["itemIdentifier"] for f in self.run_sender(provider, sqs_event(messages))["batchItemFailures"]}
            except Exception:  # noqa: BLE001 - a function error keeps the whole batch
                failed = {m["MessageId"] for m in messages}
            for message in messages:
                if message["MessageId"] not in failed:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                elif int(message["Attributes"]["ApproximateReceiveCount"]) >= MAX_RECEIVES:
                    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
                    self.parked.append(message)
                else:
                    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            if failed:
                invocation_deadlines_pass(self.aws["dynamodb"], TABLE_NAME)
        raise AssertionError(f"the {provider.value} sender's queue did not empty")

    def figures(self, fault: str, push_id: str, note: str = "") -> Figures:
        tokens = list(BOB.values())
        received = {token: 0 for token in tokens}
        for provider in SENDERS:
            for token in self.received_tokens(provider, push_id):
                received[token] += 1
        counts = self.push(push_id)["counts"]
        undelivered = sum(1 for count in received.values() if count == 0)
        parked = sum(len(json.loads(m["Body"])["devices"]) for m in self.parked)
        return Figures(
            fault=fault,
            targeted=len(tokens),
            delivered=len(tokens) - undelivered,
            lost=max(0, undelivered - counts["failed"] - counts["pruned"] - parked),
            duplicated=sum(count - 1 for count in received.values() if count > 1),
            wrongly_pruned=sum(1 for token in tokens if self.device_status(token) == "EXPIRED"),  # no fake here says a token is dead
            counts_off=abs(len(tokens) - (counts["sent"] + counts["failed"] + counts["pruned"] + parked)),
            parked=parked,
            note=note,
        )


@pytest.fixture(scope="module")
def ca() -> fake_server.TestCertificateAuthority:
    return fake_server.TestCertificateAuthority()


@pytest.fixture
def native(aws, queues, pushgate, demo_app, import_handler, monkeypatch, ca, lambda_context) -> Iterator[RelayedNativeWorld]:  # noqa: ANN001
    retries_fall_due_at_once(monkeypatch)
    world = RelayedNativeWorld(aws, queues, pushgate, demo_app, import_handler, monkeypatch, ca, lambda_context)
    try:
        yield world.start()
    finally:
        world.stop()


@pytest.mark.parametrize("breakage", list(Breakage), ids=lambda breakage: breakage.name.lower())
def test_a_provider_connection_broken_once_delays_the_batch_and_loses_nothing(native: RelayedNativeWorld, breakage: Breakage) -> None:
    for relay in native.relays.values():
        relay.breakages = [breakage]
    push_id = native.push_to_bob()
    native.fan_out()
    for provider in SENDERS:
        native.settle(provider)

    figures = record(native.figures(f"fcm+apns (http/2): {breakage.value}, once", push_id))
    assert figures.clean and figures.delivered == len(BOB), figures
    assert all(not relay.breakages and relay.connections >= 2 for relay in native.relays.values())


def test_a_stalled_request_is_given_up_at_the_deadline_and_retried(native: RelayedNativeWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wiring, "NATIVE_SEND_DEADLINE_SECONDS", STALL_DEADLINE_SECONDS)
    stalled = {provider: wired.tokens[0] for provider, wired in SENDERS.items()}
    for provider, token in stalled.items():
        native.misbehave(provider, token, Trouble.STALL)
    push_id = native.push_to_bob()
    native.fan_out()
    for provider in SENDERS:
        assert native.deliver(provider) == {"batchItemFailures": []}  # the stalled device's retry is queued
    native.fcm.set_token_behaviour(stalled[ChannelType.FCM], None)  # the providers recover
    native.apns.clear_behaviour(stalled[ChannelType.APNS])
    for provider in SENDERS:
        native.settle(provider)

    figures = record(native.figures("fcm+apns (http/2): no answer past the deadline, once", push_id))
    assert figures.clean and figures.delivered == len(BOB), figures
