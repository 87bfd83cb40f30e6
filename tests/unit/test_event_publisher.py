"""The event publisher (pushgate.events): PutEvents ten entries at a time, failures logged and
counted, never raised; the push-completion claim; and what is emitted against docs/events/*.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pushgate import events
from pushgate.events import EventBuffer, EventPublisher, PushCompletion, device_pruned, device_stale, push_completed
from pushgate.identifiers import token_hash
from pushgate.observability import metrics
from pushgate.pushes import Push

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "events"
TOKEN = "https://fcm.googleapis.com/wp/secret-device-endpoint"


class RecordingClient:
    """put_events as EventBridge answers it, failing the entries whose detail-type is in `refuse`."""

    def __init__(self, refuse: tuple[str, ...] = (), raise_error: Exception | None = None) -> None:
        self.calls: list[list[dict[str, Any]]] = []
        self._refuse = refuse
        self._raise = raise_error

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:  # noqa: N803 - boto3's name
        self.calls.append(Entries)
        if self._raise is not None:
            raise self._raise
        results = [{"ErrorCode": "InternalFailure"} if entry["DetailType"] in self._refuse else {"EventId": "id"} for entry in Entries]
        return {"FailedEntryCount": sum("ErrorCode" in r for r in results), "Entries": results}


def not_published_count() -> int:
    values = metrics.metric_set.get(events.NOT_PUBLISHED_METRIC, {}).get("Value", [])
    return sum(values) if isinstance(values, list) else int(values)


@pytest.fixture(autouse=True)
def clean_metrics():  # noqa: ANN201
    metrics.clear_metrics()
    yield
    metrics.clear_metrics()


def pruned(index: int) -> events.Event:
    return device_pruned("app1", "push1", "web", token_hash(f"{TOKEN}-{index}"), "alice", 1_700_000_000)


def test_publish_puts_ten_entries_a_call_on_the_bus():
    client = RecordingClient()
    accepted = EventPublisher(client, "pushgate-test-events").publish([pruned(i) for i in range(23)])
    assert accepted == 23
    assert [len(call) for call in client.calls] == [10, 10, 3]
    entry = client.calls[0][0]
    assert entry["Source"] == "pushgate" and entry["DetailType"] == "pushgate.device.pruned"
    assert entry["EventBusName"] == "pushgate-test-events"
    assert json.loads(entry["Detail"])["token_hash"] == token_hash(f"{TOKEN}-0")


def test_no_entry_carries_the_token_itself():
    client = RecordingClient()
    EventPublisher(client, "bus").publish([pruned(0)])
    assert "secret-device-endpoint" not in json.dumps(client.calls)


def test_refused_entries_are_counted_not_raised():
    client = RecordingClient(refuse=("pushgate.push.completed",))
    push = Push(push_id="p1", app_id="app1", created_at=1, time_to_live=60, urgency="normal", payload="{}", targeted=1, sent=1)
    accepted = EventPublisher(client, "bus").publish([pruned(0), push_completed(push, 2), pruned(1)])
    assert accepted == 2
    assert not_published_count() == 1


def test_a_failing_call_loses_its_chunk_only_and_never_raises():
    client = RecordingClient(raise_error=RuntimeError("endpoint unreachable"))
    assert EventPublisher(client, "bus").publish([pruned(i) for i in range(12)]) == 0
    assert len(client.calls) == 2  # the second chunk was still tried
    assert not_published_count() == 12


def test_buffer_puts_every_ten_and_the_rest_on_flush():
    client = RecordingClient()
    buffer = EventBuffer(EventPublisher(client, "bus"))
    for i in range(13):
        buffer.add(pruned(i))
    assert [len(call) for call in client.calls] == [10]
    buffer.flush()
    buffer.flush()  # nothing left: no empty call
    assert [len(call) for call in client.calls] == [10, 3]


def test_buffer_without_a_bus_publishes_nothing():
    buffer = EventBuffer(None)
    buffer.add(pruned(0))
    buffer.flush()  # no publisher: nothing to call, nothing raised


class CountingRepository:
    """add_push_counts as DynamoDB's ADD with ReturnValues=ALL_NEW, and the completion claim."""

    def __init__(self, push: Push) -> None:
        self.push = push
        self.completed_at: int | None = None
        self.claims = 0

    def add_push_counts(self, push_id: str, deltas: dict[str, int]) -> Push:
        self.push = self.push.model_copy(update={name: getattr(self.push, name) + delta for name, delta in deltas.items()})
        return self.push

    def claim_push_completion(self, push_id: str, now: int) -> bool:
        self.claims += 1
        if self.completed_at is not None:
            return False
        self.completed_at = now
        return True


def sending_push() -> Push:
    return Push(push_id="p1", app_id="app1", created_at=1, time_to_live=60, urgency="normal", payload="{}", fanout_pending=0, targeted=3)


def test_completion_is_announced_by_the_write_that_completes_the_push():
    client, repository = RecordingClient(), CountingRepository(sending_push())
    completion = PushCompletion(repository, EventPublisher(client, "bus"), clock=lambda: 50)
    completion.add_counts("p1", {"sent": 2})
    assert client.calls == [] and repository.claims == 0  # one still pending: no claim written
    completion.add_counts("p1", {"pruned": 1})
    detail = json.loads(client.calls[0][0]["Detail"])
    assert client.calls[0][0]["DetailType"] == "pushgate.push.completed"
    assert detail["counts"] == {"targeted": 3, "sent": 2, "failed": 0, "pruned": 1, "cancelled": 0}
    assert detail["completed_at"] == 50


def test_completion_seen_twice_is_announced_once():
    client, repository = RecordingClient(), CountingRepository(sending_push())
    completion = PushCompletion(repository, EventPublisher(client, "bus"), clock=lambda: 50)
    completion.add_counts("p1", {"sent": 3})
    completion.add_counts("p1", {"sent": 3})  # the same batch redelivered after its counts were written
    assert repository.claims == 2
    assert len(client.calls) == 1


def test_a_failing_claim_loses_the_event_not_the_counts():
    class BrokenClaim(CountingRepository):
        def claim_push_completion(self, push_id: str, now: int) -> bool:
            raise RuntimeError("throttled")

    client, repository = RecordingClient(), BrokenClaim(sending_push())
    PushCompletion(repository, EventPublisher(client, "bus")).add_counts("p1", {"sent": 3})
    assert repository.push.sent == 3
    assert client.calls == []
    assert not_published_count() == 1


def test_without_a_bus_no_claim_is_written():
    repository = CountingRepository(sending_push())
    PushCompletion(repository, None).add_counts("p1", {"sent": 3})
    assert repository.claims == 0


def envelope(event: events.Event) -> dict[str, Any]:
    """The event as a rule's target receives it (EventBridge adds the envelope's other fields)."""
    return {"version": "0", "id": "x", "source": events.SOURCE, "detail-type": event.detail_type, "account": "123456789012",
            "time": "2026-12-03T10:00:00Z", "region": "us-east-1", "resources": [], "detail": event.detail}


@pytest.mark.parametrize(
    "event",
    [
        device_pruned("app1", "push1", "android", token_hash(TOKEN), None, 5),
        device_stale("app1", "ios", token_hash(TOKEN), "bob", 3, 4, 5),
        push_completed(Push(push_id="p1", app_id="a", created_at=1, time_to_live=0, urgency="high", payload="{}", targeted=2, failed=2, failed_reason_rejected=2), 9),
    ],
    ids=lambda event: event.detail_type,
)
def test_each_detail_type_matches_its_documented_schema(event: events.Event):
    schema = json.loads((SCHEMAS / f"{event.detail_type}.json").read_text())
    jsonschema.validate(envelope(event), schema)


def test_every_detail_type_has_a_schema_and_the_schemas_reject_a_token():
    assert sorted(path.stem for path in SCHEMAS.glob("*.json")) == sorted(events.DETAIL_TYPES)
    schema = json.loads((SCHEMAS / "pushgate.device.pruned.json").read_text())
    leaked = envelope(device_pruned("app1", "push1", "web", token_hash(TOKEN), "alice", 5))
    leaked["detail"]["token"] = TOKEN
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(leaked, schema)
