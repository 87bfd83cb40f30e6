"""How the fan-out cuts a topic of a million subscribers: into parts that are taken up side by
side, a few rounds deep, each then read in one page (docs/api.md §7: page by page, never a Scan)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pushgate import keyspace
from pushgate.pushes import FanoutMessage, Push, Target, TargetKind
from pushgate.services.fanout import FanoutService

PUSH = Push(push_id="p1", app_id="app_1", created_at=0, time_to_live=60, urgency="normal", payload="{}", fanout_pending=1)


class MillionTopic:
    """A topic whose count says a million; what a part reads is recorded, not served."""

    def __init__(self) -> None:
        self.reads: list[tuple[str, str] | None] = []
        self.counts: Counter[str] = Counter()

    def get_push(self, push_id: str) -> Push:
        return PUSH

    def topic_subscriber_count(self, app_id: str, topic: str) -> int:
        return 1_000_000

    def topic_page(self, app_id: str, topic: str, limit: int, start: Any, between: tuple[str, str] | None = None) -> tuple[list, None]:
        self.reads.append(between)
        return [], None

    def add_push_counts(self, push_id: str, deltas: dict[str, int]) -> None:
        self.counts.update(deltas)


class Recorded:
    def __init__(self) -> None:
        self.sent: list[Any] = []

    def send(self, messages: list[Any], delay_seconds: int = 0) -> None:
        self.sent.extend(messages)


def test_a_million_subscribers_are_three_rounds_of_small_messages() -> None:
    repository, deliveries, fanout_queue = MillionTopic(), Recorded(), Recorded()
    fanout = FanoutService(repository, deliveries, fanout_queue)  # type: ignore[arg-type]
    round_, rounds, messages = [FanoutMessage(push_id="p1", app_id="app_1", target=Target(kind=TargetKind.TOPIC, topic="big"))], 0, 0
    while round_:
        rounds, messages = rounds + 1, messages + len(round_)
        for message in round_:
            fanout.expand(message)
        round_, fanout_queue.sent = fanout_queue.sent, []
    assert (rounds, messages) == (3, 1 + 100 + 1300)
    assert len(repository.reads) == 1300 and None not in repository.reads  # every part read by its key range
    assert PUSH.fanout_pending + repository.counts["fanout_pending"] == 0  # the push knows its fan-out is over
    assert max(Counter(tuple(read) for read in repository.reads).values()) == 1


def test_the_parts_a_topic_is_cut_into_cover_every_key_once() -> None:
    repository, fanout_queue = MillionTopic(), Recorded()
    fanout = FanoutService(repository, Recorded(), fanout_queue)  # type: ignore[arg-type]
    fanout.expand(FanoutMessage(push_id="p1", app_id="app_1", target=Target(kind=TargetKind.TOPIC, topic="big", earlier_topics=("news",))))
    parts = [message.target for message in fanout_queue.sent]
    assert len(parts) == 100 and all(part.earlier_topics == ("news",) and part.cursor is None for part in parts)
    ranges = [part.key_range for part in parts]
    assert ranges[0][0] == 0 and ranges[-1][1] == keyspace.SPACE
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))


def test_a_fan_out_retried_after_its_page_changed_loses_no_device() -> None:
    """The first try queues its page's batch, then fails to queue the next page; before SQS hands
    the message back, a device of that page unsubscribes. The retry reads a page that reaches one
    device further: that device must not be taken for sent with the first try's batch."""
    from tests.fakes import InMemoryRepository
    from tests.unit.test_repository_contract import device

    class Pushes(InMemoryRepository):
        def get_push(self, push_id: str) -> Push:
            return PUSH

        def add_push_counts(self, push_id: str, deltas: dict[str, int]) -> None:
            pass

    class FailsOnce(Recorded):
        failed = False

        def send(self, messages: list[Any], delay_seconds: int = 0) -> None:
            if not self.failed:
                self.failed = True
                raise ConnectionError("SQS unreachable")
            super().send(messages, delay_seconds)

    repository = Pushes()
    hashes = sorted(f"{i:02d}" + "A" * 30 for i in range(60))
    for th in hashes:
        subscribed = device(token_hash=th, token=f"https://fcm.googleapis.com/wp/{th}")
        repository.save_device(subscribed, expected_version=None)
        repository.add_topic(subscribed, "big", 1.0)
    deliveries, continuations = Recorded(), FailsOnce()
    fanout = FanoutService(repository, deliveries, continuations, page_size=30)  # type: ignore[arg-type]
    first = FanoutMessage(push_id="p1", app_id="app_1", target=Target(kind=TargetKind.TOPIC, topic="big"))
    try:
        fanout.expand(first)
    except ConnectionError:
        pass
    repository.remove_topic("app_1", hashes[4], "big")
    pending = [first]  # SQS hands the message back
    while pending:
        fanout.expand(pending.pop())
        pending, continuations.sent = continuations.sent, []
    sent: dict[str, list[str]] = {}
    for batch in deliveries.sent:  # what the sender's idempotency lets through: the first of each batch id
        sent.setdefault(batch.batch_id, [target.token_hash for target in batch.devices])
    delivered = {th for devices in sent.values() for th in devices}
    assert set(hashes) - {hashes[4]} <= delivered
