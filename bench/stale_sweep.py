"""What one run of the stale-subscription sweep (docs/lifecycle.md) costs in DynamoDB, on a table
of 100,000 subscriptions, and a check that it issues no Scan.

Runs the real sweep (`pushgate.services.stale_sweep`) in one process against moto, with the
table built from template.yaml. The subscriptions are written straight into the table (set-up,
not measured), spread as a daily run finds them: most were seen within StaleAfterDays and sit
in recent weeks of the index; 1% were last seen 280 to 400 days ago (stale: each has a topic
subscription, which goes with it); and about 1/270 of them crossed the line since the last run
but were seen through a topic since (the sweep moves them to the week they were seen). Every
DynamoDB call is billed as on-demand DynamoDB bills it (bench/fanout_cost.py's Meter: reads by
the size of the items read, at least one unit a request; writes by item size, twice in a
transaction, plus the index entries they change). A Scan would be counted, and fails the run.

    .venv/bin/python bench/stale_sweep.py [--subscriptions 100000] [--stale-share 0.01]

Prices: on-demand list prices, us-east-1 (bench/fanout_cost.py's PRICES).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
from fanout_cost import PRICES, Meter  # noqa: E402 - sets up sys.path and the environment first

DAY = 86_400
STALE_AFTER_DAYS = 270


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscriptions", type=int, default=100_000)
    parser.add_argument("--stale-share", type=float, default=0.01)
    args = parser.parse_args()

    import boto3
    from moto import mock_aws

    with mock_aws():
        from pushgate.models import Device, DeviceType, SubscriptionStatus
        from pushgate.repository import Repository
        from pushgate.repository.base import _to_ddb
        from pushgate.services.stale_sweep import StaleSweepService
        from pushgate_local import moto_queries, moto_transactions
        from pushgate_local.template import table_definition

        # moto deep-copies the whole table before each transaction (an expired device's edge
        # removal is one) and sorts it for each Query: the local stack's fixes make both cost
        # what the items concerned cost, whatever the table's size (DynamoDB's own cost model).
        moto_transactions.install()
        moto_queries.install()

        definition = table_definition(table_name="bench")
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(**definition)
        repository = Repository(dynamodb, "bench")
        now = int(time.time())
        stale = int(args.subscriptions * args.stale_share)
        crossed = args.subscriptions // STALE_AFTER_DAYS  # one day's worth of devices reaching the line
        fresh = args.subscriptions - stale - crossed
        app_id = "app_bench"

        def device(i: int, registered: int) -> Device:
            return Device(
                app_id=app_id, token_hash=f"th{i:07d}", token=f"https://fcm.googleapis.com/wp/bench-{i:07d}", type=DeviceType.WEB,
                user_id=f"user-{i}", status=SubscriptionStatus.ACTIVE, subscription_id=i, created_at=registered, updated_at=registered,
            )

        def edge(i: int, stamp: int) -> dict[str, Any]:
            return {"PK": f"DEVICE#{app_id}#th{i:07d}", "SK": "TOPIC#news", "GSI1PK": f"TOPIC#{app_id}#news", "GSI1SK": f"DEVICE#th{i:07d}",
                    "entity": "TopicEdge", "topic": "news", "token": f"https://fcm.googleapis.com/wp/bench-{i:07d}", "type": "web",
                    "created_at": stamp, "subscribed_at_ms": stamp * 1000, "last_success_at": stamp}

        print(f"writing {args.subscriptions} subscriptions: {fresh} seen lately, {stale} stale, {crossed} seen through a topic "
              "after their index week went stale (set-up, not measured)...", flush=True)
        items: list[dict[str, Any]] = []
        for i in range(args.subscriptions):
            if i < stale:
                registered = now - (280 + i % 120) * DAY
                items += [repository._device_item(device(i, registered)), edge(i, registered)]  # noqa: SLF001 - the real item shape
            elif i < stale + crossed:
                registered = now - (STALE_AFTER_DAYS + 8 + i % 6) * DAY  # in a week wholly before the cut
                items += [repository._device_item(device(i, registered)), edge(i, now - (i % 30 + 1) * DAY)]  # noqa: SLF001
            else:
                items.append(repository._device_item(device(i, now - (i % STALE_AFTER_DAYS) * DAY)))  # noqa: SLF001
        items.append({"PK": f"APP#{app_id}", "SK": "TOPIC#news", "entity": "Topic", "name": "news", "subscribers": stale + crossed})
        # Straight into moto's table (the HTTP round trip of 4,000 BatchWriteItem calls is set-up time only).
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.dynamodb.models import dynamodb_backends

        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"]
        for item in items:
            backend.put_item("bench", _to_ddb(item))

        uncounted = boto3.client("dynamodb")
        meter = Meter(lambda table, key: uncounted.get_item(TableName=table, Key=key, ConsistentRead=True).get("Item"),
                      definition.get("GlobalSecondaryIndexes", []))
        dynamodb.meta.events.register("before-call.*.*", meter.before)
        dynamodb.meta.events.register("after-call.*.*", meter.after)

        def refuse_scan(**_: Any) -> None:
            raise AssertionError("the sweep issued a Scan")

        dynamodb.meta.events.register("before-call.dynamodb.Scan", refuse_scan)
        print("sweeping...", flush=True)
        started = time.perf_counter()
        report = StaleSweepService(repository, STALE_AFTER_DAYS).sweep()
        elapsed = time.perf_counter() - started

        assert report.complete and report.expired == stale and report.kept == crossed, report
        scans = meter.calls.get("dynamodb:Scan", 0)
        assert scans == 0
        write_units = meter.write_units + meter.index_write_units
        cost = meter.read_units * PRICES["dynamodb_read_unit"] + write_units * PRICES["dynamodb_write_unit"]
        print(f"\n{args.subscriptions} subscriptions, {stale} stale ({args.stale_share:.1%}), {crossed} seen since through a topic:")
        print(f"  expired {report.expired} (and their {report.edges_removed} topic subscriptions), kept {report.kept}, "
              f"reviewed {report.reviewed}; weeks queried {report.end_bucket - report.first_bucket}")
        print(f"  Scan requests: {scans} (checked: a Scan fails the run)")
        for name, count in sorted(meter.calls.items()):
            print(f"    {name:32s} {count:8d}")
        print(f"  read units {meter.read_units:.1f}, write units {meter.write_units} on the table + {meter.index_write_units} on the indexes")
        print(f"  DynamoDB cost per run: ${cost:.6f}  (${cost * 1e6 / args.subscriptions:.2f} per million subscriptions swept; "
              f"${cost / max(report.expired, 1) * 1e6:.2f} per million expired)")
        print(f"  (run took {elapsed:.1f} s in-process against moto: not a measure of DynamoDB's speed)")


if __name__ == "__main__":
    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    main()
