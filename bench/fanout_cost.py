"""AWS requests per 1,000 deliveries for a topic push, and what they cost per million deliveries.

Runs the real pipeline code in one process against moto (no network, no push service: a
transport that answers 201 to everything): POST /push to a topic of N web subscriptions, every
fan-out message, every delivery batch, with the SQS requests Lambda's event source mapping makes
(one ReceiveMessage per batch and one DeleteMessageBatch per batch). Every AWS call is counted
through botocore's event hooks, and DynamoDB capacity units follow the sizes of the items each
call reads or writes, as on-demand billing does. Lambda duration is the CPU time of the handlers.

Runs reported (docs/lifecycle.md):

- "before": the first push of a stamp window under the previous stamp design, emulated here (the
  topic edges carried no stamp, and the sender stamped both the device row and the edge): two
  stamp writes per delivery;
- the first push after the devices subscribed (a registration stamps the device, and a topic edge
  starts with that stamp: no stamp write);
- the first push of a later stamp window (every stamp a window old: the one stamp write per
  device and window, on the edge fan-out read it from);
- a second push within the stamp window (no per-delivery write: the steady state), and a push to
  two topics that half of the devices are both in (each device still gets one delivery: the
  second topic's fan-out asks each of its devices whether it was reached through the first).

Writes are billed on the table and, as DynamoDB bills them, on each global secondary index whose
entry they change (an index key that moves is a delete and a put; projection ALL changes with any
attribute, KEYS_ONLY only with its keys); each run prints the cost both ways, the table-only
figure being comparable with earlier runs of this benchmark, which did not count index writes.

    .venv/bin/python bench/fanout_cost.py [--devices 500]

(Set-up through moto's in-process DynamoDB is the slow part: its transactions copy the table.)

Prices: public on-demand list prices, us-east-1, x86 Lambda (see PRICES below).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO), str(REPO / "src"), str(REPO / "layers" / "shared" / "python")]
os.environ.update(
    AWS_DEFAULT_REGION="us-east-1", AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", TABLE_NAME="bench",
    POWERTOOLS_SERVICE_NAME="pushgate", POWERTOOLS_METRICS_NAMESPACE="pushgate", POWERTOOLS_TRACE_DISABLED="1",
    POWERTOOLS_LOG_LEVEL="ERROR", POWERTOOLS_METRICS_DISABLED="true",
)
os.environ.pop("AWS_ENDPOINT_URL", None)

PRICES = {
    "dynamodb_read_unit": 0.125 / 1e6,  # on-demand read request unit
    "dynamodb_write_unit": 0.625 / 1e6,  # on-demand write request unit
    "sqs_request": 0.40 / 1e6,  # standard queue, per 64 KiB chunk of a request
    "lambda_request": 0.20 / 1e6,
    "lambda_gb_second": 0.0000166667,  # x86
}
SNS_MOBILE_PUSH_PER_MILLION = 0.50
SENDER_MEMORY_GB, FANOUT_MEMORY_GB, API_MEMORY_GB = 1.0, 0.5, 0.5
SQS_BATCH = 5  # BatchSize of both event source mappings in template.yaml
# CPU per delivery of the Web Push client (encrypt, sign from cache, HTTP/1.1 request and response),
# as bench/sender_cpu.py measures it on this kind of machine (highest median of three runs, 2026-11-23).
SENDER_CPU_PER_DELIVERY = 0.000418


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def _value_size(value: dict[str, Any]) -> int:
    """Bytes of one attribute value, by DynamoDB's item-size rules."""
    ((kind, inner),) = value.items()
    sizes = {
        "S": lambda: len(inner.encode()),
        "N": lambda: _number_size(inner),
        "B": lambda: len(base64.b64decode(inner)),
        "BOOL": lambda: 1,
        "NULL": lambda: 1,
        "SS": lambda: sum(len(v.encode()) for v in inner),
        "NS": lambda: sum(_number_size(v) for v in inner),
        "BS": lambda: sum(len(base64.b64decode(v)) for v in inner),
        "M": lambda: 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in inner.items()),
        "L": lambda: 3 + sum(_value_size(v) + 1 for v in inner),
    }
    return sizes[kind]()


def item_size(item: dict[str, Any] | None) -> int:
    """What DynamoDB bills an item as: attribute names plus values, in bytes."""
    return sum(len(name.encode()) + _value_size(value) for name, value in (item or {}).items())


def _units(size: int, unit: int) -> int:
    return max(1, math.ceil(size / unit))


INDEX_ENTRY_OVERHEAD = 100  # bytes DynamoDB adds to each index entry's size


def index_write_units(before: dict[str, Any] | None, after: dict[str, Any] | None, indexes: list[dict[str, Any]]) -> int:
    """Write units a change of one item costs on the table's global secondary indexes."""
    units = 0
    for index in indexes:
        key_names = [part["AttributeName"] for part in index["KeySchema"]]
        kind = index["Projection"]["ProjectionType"]

        def entry(item: dict[str, Any] | None) -> dict[str, Any] | None:
            if not item or any(name not in item for name in key_names):
                return None  # sparse: not in the index
            if kind == "ALL":
                return item
            kept = {"PK", "SK", *key_names, *(index["Projection"].get("NonKeyAttributes") or [])}
            return {name: value for name, value in item.items() if name in kept}

        old, new = entry(before), entry(after)
        sizes = [_units(item_size(e) + INDEX_ENTRY_OVERHEAD, 1024) for e in (old, new) if e is not None]
        if old is None or new is None:
            units += sum(sizes)  # a put or a delete
        elif any(old[name] != new[name] for name in key_names):
            units += sum(sizes)  # the entry moves: a delete and a put
        elif old != new:
            units += sizes[1]
    return units


class Meter:
    """Counts AWS calls and bills them as on-demand DynamoDB and SQS do: writes by the size of
    the item written (the larger of before and after, read from moto without being counted) and
    by the index entries they change, reads by the size of the items returned, SQS by 64 KiB
    chunk of each request."""

    def __init__(self, current_item: Any, indexes: list[dict[str, Any]] | None = None) -> None:
        self._current_item = current_item  # (table, key) -> the stored item, uncounted
        self._indexes = indexes or []
        self.calls: Counter[str] = Counter()
        self.read_units = 0.0
        self.write_units = 0.0
        self.index_write_units = 0
        self.sqs_units = 0
        # CPU from the start of a call to the end of its accounting: in-process moto doing the AWS
        # side's work (and this meter's own), which a Lambda function does not pay for. Subtracted
        # from handler CPU. Per thread: the fan-out makes calls from several threads at once.
        self.aws_side_cpu = 0.0
        self._call = threading.local()
        self._lock = threading.Lock()

    def reset(self) -> None:
        self.__init__(self._current_item, self._indexes)

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        self._call.started = time.thread_time()
        service, operation = model.service_model.service_name, model.name
        body = params.get("body") or b""
        request = json.loads(body) if service == "dynamodb" and body else {}
        self._call.request = request
        # Items a write changes, with their size and state before it (after it is read in `after`).
        self._call.written = []
        for table, key, put in _written_items(operation, request):
            stored = self._current_item(table, key)
            self._call.written.append((table, key, item_size(stored) if put is None else item_size(put), stored))
        with self._lock:
            self.calls[f"{service}:{operation}"] += 1
            if service == "sqs":
                self.sqs_units += _units(len(body), 65536)

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        operation = model.name
        request = self._call.request
        factor = 1.0 if request.get("ConsistentRead") else 0.5
        write_units = index_units = 0
        for table, key, before, stored_before in self._call.written:
            stored_after = self._current_item(table, key)
            factor = 2 if operation == "TransactWriteItems" else 1
            write_units += _units(max(before, item_size(stored_after)), 1024) * factor
            if stored_before != stored_after:  # a failed condition changes no index
                index_units += index_write_units(stored_before, stored_after, self._indexes) * factor
        read_units = 0.0
        if operation == "GetItem":
            read_units = _units(item_size(parsed.get("Item")), 4096) * factor
        elif operation == "Query":
            # Billed on the items read, not the projected attributes returned; a device's topic
            # edges (the projected Queries) stay under one 4 KB unit here, where both agree.
            read_units = _units(sum(item_size(item) for item in parsed.get("Items", [])), 4096) * factor
        elif operation == "BatchGetItem":
            found = [item for items in parsed.get("Responses", {}).values() for item in items]
            requested = sum(len(table["Keys"]) for table in request.get("RequestItems", {}).values())
            unprocessed = sum(len(table["Keys"]) for table in (parsed.get("UnprocessedKeys") or {}).values())
            read_units = sum(_units(item_size(item), 4096) * 0.5 for item in found) + 0.5 * (requested - len(found) - unprocessed)
        with self._lock:
            self.write_units += write_units
            self.index_write_units += index_units
            self.read_units += read_units
            self.aws_side_cpu += time.thread_time() - self._call.started


def _written_items(operation: str, request: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """(table, key, new item or None) for each item a DynamoDB write request changes."""
    if operation == "PutItem":
        return [(request["TableName"], _key_of(request["Item"]), request["Item"])]
    if operation in ("UpdateItem", "DeleteItem"):
        return [(request["TableName"], request["Key"], None)]
    if operation == "TransactWriteItems":
        written = []
        for entry in request["TransactItems"]:
            ((kind, item),) = entry.items()
            if kind == "Put":
                written.append((item["TableName"], _key_of(item["Item"]), item["Item"]))
            else:  # Update, Delete, ConditionCheck: billed on the stored item
                written.append((item["TableName"], item["Key"], None))
        return written
    return []


def _key_of(item: dict[str, Any]) -> dict[str, Any]:
    return {name: item[name] for name in ("PK", "SK") if name in item}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--devices", type=int, default=500)
    args = parser.parse_args()

    import boto3
    from moto import mock_aws

    from tests.keys import browser_keys

    with mock_aws():
        from pushgate import config, wiring
        from pushgate.delivery.outcomes import DeliveryOutcome, OutcomeKind
        from pushgate.models import Caller
        from pushgate.pushes import DeliveryMessage, FanoutMessage
        from pushgate.queues import Queue
        from pushgate.identifiers import token_hash
        from pushgate.repository import Repository
        from pushgate.services.delivery import SUCCESS_STAMP_WINDOW_SECONDS, DeliveryService
        from pushgate.services.subscriptions import WebSubscription
        from pushgate_local.template import resources, table_definition

        dynamodb, sqs = boto3.client("dynamodb"), boto3.client("sqs")
        dynamodb.create_table(**table_definition(table_name="bench"))
        urls = {name: sqs.create_queue(QueueName=name)["QueueUrl"] for name in resources(kind="AWS::SQS::Queue")}
        os.environ.update(FANOUT_QUEUE_URL=urls["FanoutQueue"], DELIVERY_QUEUE_URL=urls["DeliveryQueue"], DELIVERY_DLQ_URL=urls["DeliveryDeadLetterQueue"])
        config.settings.cache_clear()
        core = wiring.services()
        created = core.apps(boto3.client("ssm")).create_app("bench")
        p256dh, auth = browser_keys()
        print(f"subscribing {args.devices} browsers to the topic (set-up, not measured)...", flush=True)
        subscribed: list[tuple[str, list[str]]] = []  # (token hash, topics)
        for i in range(args.devices):
            endpoint = f"https://fcm.googleapis.com/wp/bench-{i:07d}"
            topics = ["everyone", "evens"] if i % 2 == 0 else ["everyone"]
            caller = Caller(app=created.app, user_id=f"bench-user-{i}")  # a browser each: no cap on devices per user reached
            core.subscriptions.subscribe_web(caller, WebSubscription.parse(core.subscriptions.policy, endpoint, p256dh, auth))
            core.topics.subscribe(created.app, endpoint, topics)
            subscribed.append((token_hash(endpoint), topics))

        class Accepting:
            def send(self, push, targets, ttl):  # noqa: ANN001, ANN201
                return [DeliveryOutcome(OutcomeKind.SENT, t.token_hash, 201) for t in targets]

        class PreviousStampDesign(Repository):
            """The design this benchmark's "before" run emulates: every stamp write went to the
            device row and to the topic edge the delivery came through."""

            def record_delivery_success(self, app_id: str, token_hash: str, now: int, topic: str | None) -> None:
                super().record_delivery_success(app_id, token_hash, now, None)
                if topic is not None:
                    super().record_delivery_success(app_id, token_hash, now, topic)

        pushes, fanout = wiring.push_service(), wiring.fanout_service()
        queues = (Queue(sqs, urls["DeliveryQueue"]), Queue(sqs, urls["DeliveryDeadLetterQueue"]))
        delivery = DeliveryService(core.repository, *queues, Accepting())
        previous = PreviousStampDesign(core.repository._client, "bench")  # noqa: SLF001 - the same (metered) client
        delivery_before = DeliveryService(previous, *queues, Accepting())

        uncounted = boto3.client("dynamodb")

        def current_item(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
            return uncounted.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")

        def set_stamps(edges: int | None, devices: int | None) -> None:
            """Put every edge's and device row's stamp at a time (None: no stamp), uncounted."""
            app_key = f"DEVICE#{created.app.app_id}#"
            for th, topics in subscribed:
                for sort_key, stamp in [("DEVICE", devices), *((f"TOPIC#{t}", edges) for t in topics)]:
                    update = {"UpdateExpression": "REMOVE last_success_at"} if stamp is None else {
                        "UpdateExpression": "SET last_success_at = :s", "ExpressionAttributeValues": {":s": {"N": str(stamp)}}}
                    uncounted.update_item(TableName="bench", Key={"PK": {"S": app_key + th}, "SK": {"S": sort_key}}, **update)

        meter = Meter(current_item, table_definition(table_name="bench").get("GlobalSecondaryIndexes", []))
        for client in (dynamodb, sqs, core.repository._client, wiring.sqs_client()):  # noqa: SLF001 - the same client the code uses
            client.meta.events.register("before-call.*.*", meter.before)
            client.meta.events.register("after-call.*.*", meter.after)

        def drain(url: str, handle, memory_gb: float) -> tuple[int, int, float]:  # noqa: ANN001
            """(invocations, messages, GB-s) of one consumer until its queue is empty."""
            invocations, messages, gb_seconds = 0, 0, 0.0
            while True:
                received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=SQS_BATCH).get("Messages", [])
                if not received:
                    return invocations, messages, gb_seconds
                messages += len(received)
                started, aws_before = time.process_time(), meter.aws_side_cpu
                for message in received:
                    handle(message["Body"])
                gb_seconds += (time.process_time() - started - (meter.aws_side_cpu - aws_before)) * memory_gb
                invocations += 1
                sqs.delete_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)])

        def one_push(label: str, to: str | list[str] = "/topics/everyone", sender: DeliveryService = delivery) -> tuple[float, float]:
            """(table-only, with index writes) cost per million deliveries of one push."""
            meter.reset()
            started = time.process_time()
            push_id = pushes.create(created.app, {"to": to, "notification": {"title": "Hello", "body": "World"}})
            api_gb_s = (time.process_time() - started - meter.aws_side_cpu) * API_MEMORY_GB
            fan_inv, fan_messages, fan_gb_s = drain(urls["FanoutQueue"], lambda body: fanout.expand(FanoutMessage.model_validate_json(body)), FANOUT_MEMORY_GB)
            # Idempotency records (two writes per batch, Powertools) are not exercised in-process here; add them.
            snd_inv, snd_messages, snd_gb_s = drain(urls["DeliveryQueue"], lambda body: sender.process(DeliveryMessage.model_validate_json(body)), SENDER_MEMORY_GB)
            idempotency_writes = 2 * (fan_messages + snd_messages)
            push = core.repository.get_push(push_id)
            assert push.sent == args.devices, (push.sent, args.devices)
            per = 1000 / args.devices
            dynamo_requests = sum(n for k, n in meter.calls.items() if k.startswith("dynamodb")) + idempotency_writes
            sqs_requests = sum(n for k, n in meter.calls.items() if k.startswith("sqs"))
            sender_gb_s = args.devices * SENDER_CPU_PER_DELIVERY * SENDER_MEMORY_GB
            snd_gb_s += sender_gb_s
            cost = (
                meter.read_units * PRICES["dynamodb_read_unit"]
                + (meter.write_units + idempotency_writes) * PRICES["dynamodb_write_unit"]
                + meter.sqs_units * PRICES["sqs_request"]
                + (1 + fan_inv + snd_inv) * PRICES["lambda_request"]
                + (api_gb_s + fan_gb_s + snd_gb_s) * PRICES["lambda_gb_second"]
            )
            per_million = cost * 1e6 / args.devices
            with_indexes = per_million + meter.index_write_units * PRICES["dynamodb_write_unit"] * 1e6 / args.devices
            print(f"\n{label}: {args.devices} deliveries through {fan_inv} fan-out and {snd_inv} sender invocations")
            print(f"  per 1,000 deliveries: {dynamo_requests * per:.1f} DynamoDB requests "
                  f"({meter.read_units * per:.1f} RRU, {(meter.write_units + idempotency_writes) * per:.1f} WRU), "
                  f"{sqs_requests * per:.1f} SQS requests ({meter.sqs_units * per:.1f} billed units), "
                  f"{(1 + fan_inv + snd_inv) * per:.2f} Lambda invocations, {(api_gb_s + fan_gb_s + snd_gb_s) * per:.3f} GB-s")
            print("  (Lambda GB-s: CPU of pushgate's code with a transport that encrypts nothing; the sender's own")
            print("   encryption and HTTP cost is measured by bench/sender_cpu.py and added below)")
            print(f"  cost per million deliveries: ${per_million:.4f}  (Amazon SNS mobile push: ${SNS_MOBILE_PUSH_PER_MILLION:.2f}; "
                  f"ratio {per_million / SNS_MOBILE_PUSH_PER_MILLION:.3f}; target < $0.10)")
            print(f"  with the index writes ({meter.index_write_units * per:.1f} WRU per 1,000 on GSI1/GSI2): ${with_indexes:.4f}")
            for name, count in sorted(meter.calls.items()):
                print(f"    {name:32s} {count * per:8.2f} per 1,000")
            return per_million, with_indexes

        window = SUCCESS_STAMP_WINDOW_SECONDS
        figures = {
            "first push after subscribing": one_push("first push after subscribing (edges carry the registration's stamp)"),
            "steady state": one_push("steady state (second push, stamps fresh)"),
            "steady state, two topics": one_push(
                "steady state, two topics (every device in one, half in both)", ["/topics/everyone", "/topics/evens"]),
        }
        set_stamps(edges=int(time.time()) - window - 60, devices=None)
        figures["first push of a later window"] = one_push("first push of a later stamp window (every edge stamp a window old)")
        set_stamps(edges=None, devices=None)
        figures["before: first push (two stamps)"] = one_push(
            "before (emulated previous design): first push, device row and edge both stamped", sender=delivery_before)
        print(f"\nsummary, $ per million deliveries (stamp window {window // 86_400} days): table writes only / with index writes")
        for label, (table_only, with_indexes) in figures.items():
            print(f"  {label:36s} ${table_only:.4f} / ${with_indexes:.4f}")


if __name__ == "__main__":
    main()
