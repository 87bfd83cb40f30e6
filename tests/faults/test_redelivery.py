"""Fault 1: SQS delivers every message twice (at-least-once): the fan-out messages, the sender's, or
both; the two copies in one invocation's batch, or the copy in a later invocation. Each copy is a
message of its own in the queue (its own id and receipt), as SQS makes it. Target: no device gets
the push twice, none is lost, the counts are exact."""

from __future__ import annotations

from typing import Any

import pytest

from pushgate.queues import Queue
from tests.faults.figures import record
from tests.faults.web_world import WebWorld

STAGE_QUEUES = {"fanout": ("FanoutQueue",), "sender": ("DeliveryQueue",), "both": ("FanoutQueue", "DeliveryQueue")}


class Doubling:
    """Queue.send that puts every message on the doubled queues twice: at once, or (`later`) the
    copies once the pipeline has gone quiet."""

    def __init__(self, world: WebWorld, queue_names: tuple[str, ...], later: bool) -> None:
        self.urls = {world.queues[name] for name in queue_names}
        self.later = later
        self.held: list[tuple[Queue, list[Any]]] = []
        self.copies = 0  # messages put on a queue a second time
        self.original = Queue.send

    def send(self, queue: Queue, messages: list[Any], delay_seconds: int = 0) -> None:
        if queue.url not in self.urls:
            return self.original(queue, messages, delay_seconds)
        self.copies += len(messages)
        if self.later:
            self.held.append((queue, list(messages)))
            return self.original(queue, messages, delay_seconds)
        return self.original(queue, [copy for message in messages for copy in (message, message)], delay_seconds)

    def release(self) -> bool:
        held, self.held = self.held, []
        for queue, messages in held:
            self.original(queue, messages, 0)
        return bool(held)


@pytest.mark.parametrize("later", [False, True], ids=["copies-in-one-batch", "copies-in-a-later-invocation"])
@pytest.mark.parametrize("stage", list(STAGE_QUEUES))
def test_every_message_delivered_twice_sends_each_device_the_push_once(web_world: WebWorld, monkeypatch: pytest.MonkeyPatch, stage: str, later: bool) -> None:
    doubling = Doubling(web_world, STAGE_QUEUES[stage], later)
    monkeypatch.setattr(Queue, "send", lambda queue, messages, delay_seconds=0: doubling.send(queue, messages, delay_seconds))
    push_id = web_world.post_push()
    web_world.settle()
    while doubling.release():
        web_world.settle()

    assert doubling.copies >= len(STAGE_QUEUES[stage])  # each doubled queue had its messages twice
    mode = "a later invocation" if later else "one batch"
    figures = record(web_world.figures(f"redelivery: {stage} messages twice, copy in {mode}", push_id))
    assert (figures.lost, figures.duplicated, figures.wrongly_pruned, figures.counts_off) == (0, 0, 0, 0), figures
    assert figures.delivered == figures.targeted == web_world.devices
