"""Per-app metrics through the deployed handlers under moto (docs/operating.md "Metrics"): with one
app listed in PUSHGATE_METRICS_APPS (template.yaml's MetricsApps) and one not, subscriptions,
pushes and deliveries are counted under the listed app's own `app` value or under app=other, per
outcome and provider; a sender invocation whose batches belong to two apps writes one line per app
bucket besides its aggregate line; and every metric the dashboard graphs in pushgate's namespace
is one these invocations wrote."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from pushgate import config, wiring
from pushgate.delivery.outcomes import OutcomeKind
from pushgate.models import ChannelType
from pushgate.observability import APP_DIMENSION, OTHER_APPS, app_metrics
from pushgate.pushes import DeliveryMessage
from pushgate.queues import Queue
from pushgate.services.delivery import DeliveryService
from pushgate.sqs import idempotency_store, sqs_entry
from pushgate.wiring import NATIVE_METRIC_PREFIX, SENDER_MESSAGE_SECONDS
from tests.conftest import TABLE_NAME
from tests.docs.dashboard_body import body, emf_documents, emitted, graphed
from tests.events import http_request
from tests.keys import browser_keys
from tests.pipeline.conftest import RecordingTransport, drain, sqs_event
from tests.surfaces import Surfaces, Tenant

METRIC_PREFIX = {"webpush": "WebPush", "fcm": NATIVE_METRIC_PREFIX[ChannelType.FCM], "apns": NATIVE_METRIC_PREFIX[ChannelType.APNS]}
# What the push service answers each app's four (listed) and three (other) subscribers.
LISTED_ANSWERS = [OutcomeKind.SENT, OutcomeKind.GONE, OutcomeKind.RETRY, OutcomeKind.REJECTED]
OTHER_ANSWERS = [OutcomeKind.SENT, OutcomeKind.SENT, OutcomeKind.REJECTED]


def endpoint(tenant: Tenant, i: int) -> str:
    return f"https://fcm.googleapis.com/wp/{tenant.app_id}-{i}"


@pytest.fixture
def tenants(queues: dict[str, str], pushgate: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Tenant, Tenant]]:
    """Two apps of one deployment, the first listed in PUSHGATE_METRICS_APPS; the services (and
    every handler imported after) built with that setting."""
    listed, unlisted = pushgate.apps().create_app("listed"), pushgate.apps().create_app("unlisted")
    monkeypatch.setenv("PUSHGATE_METRICS_APPS", listed.app.app_id)
    config.settings.cache_clear()
    for factory in (wiring.services, wiring.push_service, wiring.fanout_service):
        factory.cache_clear()
    services = wiring.services()
    yield Tenant(listed, services), Tenant(unlisted, services)
    app_metrics.track(())


@pytest.fixture
def surfaces(import_handler: Any, lambda_context: Any) -> Surfaces:
    return Surfaces(import_handler, lambda_context)


def per_app_counts(documents: list[dict[str, Any]]) -> Counter[tuple[str, ...]]:
    """(app, provider or "", metric) -> count, over the per-app documents."""
    counts: Counter[tuple[str, ...]] = Counter()
    for document in documents:
        if APP_DIMENSION not in document:
            continue
        for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            counts[(document[APP_DIMENSION], document.get("provider", ""), metric["Name"])] += sum(document[metric["Name"]])
    return counts


def invocation_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return emf_documents(capsys.readouterr().out)


def subscribe(surfaces: Surfaces, tenant: Tenant, count: int) -> None:
    for i in range(count):
        assert surfaces.account_subscribe(tenant, "alice", endpoint(tenant, i), browser_keys())[0] == 200
        assert surfaces.topics_subscribe(tenant, endpoint(tenant, i), ["news"])[0] == 200


def post_push(surfaces: Surfaces, tenant: Tenant) -> None:
    event = http_request("http-send-push.json", query={"api_key": tenant.secret_key}, body={"to": "/topics/news", "data": {}})
    status, answer = surfaces.http("send_push", event)
    assert status in (200, 201), answer


def sender(tenants: tuple[Tenant, Tenant], queues: dict[str, str], provider: str):  # noqa: ANN201 - the Lambda entry point
    """A sender's entry point as functions/*_sender wire it, with a transport that answers each
    endpoint as scripted and the metric prefix the wiring gives that provider."""
    listed, unlisted = tenants
    script = {endpoint(listed, i): kind for i, kind in enumerate(LISTED_ANSWERS)} | {endpoint(unlisted, i): kind for i, kind in enumerate(OTHER_ANSWERS)}
    sqs = boto3.client("sqs")
    service = DeliveryService(listed.services.repository, Queue(sqs, queues["DeliveryQueue"]), Queue(sqs, queues["DeliveryDeadLetterQueue"]),
                              RecordingTransport(script=script), metric_prefix=METRIC_PREFIX[provider])
    return sqs_entry(DeliveryMessage, service.process, "[push_id, batch_id]", idempotency_store(TABLE_NAME, f"test-{provider}-sender"),
                     SENDER_MESSAGE_SECONDS, side_by_side=True)


def push_to_both_and_deliver(surfaces: Surfaces, tenants: tuple[Tenant, Tenant], queues: dict[str, str], lambda_context: Any,
                             capsys: pytest.CaptureFixture[str], provider: str = "webpush", listed_pushes: int = 1) -> dict[str, list[dict[str, Any]]]:
    """Pushes of each app (`listed_pushes` of the listed one), fanned out in one invocation and
    sent in one sender invocation; the EMF lines each step wrote."""
    sqs = boto3.client("sqs")
    lines: dict[str, list[dict[str, Any]]] = {"send_push": []}
    for tenant in [tenants[0]] * listed_pushes + [tenants[1]]:
        post_push(surfaces, tenant)
        lines["send_push"].append(invocation_lines(capsys))
    surfaces.handler("fanout").lambda_handler(sqs_event(drain(sqs, queues["FanoutQueue"])), lambda_context)
    lines["fanout"] = invocation_lines(capsys)
    deliveries = drain(sqs, queues["DeliveryQueue"])
    assert len(deliveries) == listed_pushes + 1  # a batch a push, all in one sender invocation
    assert sender(tenants, queues, provider)(sqs_event(deliveries), lambda_context) == {"batchItemFailures": []}
    lines["sender"] = invocation_lines(capsys)
    drain(sqs, queues["DeliveryQueue"])  # the retry the sender queued: not part of what is measured
    return lines


def test_subscriptions_are_counted_under_the_listed_app_or_under_other(surfaces, tenants, capsys) -> None:  # noqa: ANN001
    listed, unlisted = tenants
    capsys.readouterr()
    lines = []
    for tenant, count in ((listed, 2), (unlisted, 1)):
        for i in range(count):
            assert surfaces.account_subscribe(tenant, "alice", endpoint(tenant, i), browser_keys())[0] == 200
            lines.append(invocation_lines(capsys))
    keys = browser_keys()
    assert surfaces.account_subscribe(listed, "bob", endpoint(listed, 9), keys)[0] == 200
    assert surfaces.account_subscribe(listed, "bob", endpoint(listed, 9), keys)[0] == 200  # held already: not created again
    assert surfaces.account_unsubscribe(listed, "alice", endpoint(listed, 0))[0] == 200
    assert surfaces.account_unsubscribe(listed, "alice", endpoint(listed, 0))[0] == 200  # nothing left to remove
    lines.append(invocation_lines(capsys))
    erase = http_request("http-delete-user.json", path_parameters={"user_id": "alice"}, query={"api_key": unlisted.secret_key})
    assert surfaces.http("delete_user", erase)[0] == 200
    out = capsys.readouterr().out
    lines.append(emf_documents(out))

    documents = [document for invocation in lines for document in invocation]
    assert per_app_counts(documents) == {
        (listed.app_id, "", "SubscriptionsCreated"): 3,
        (listed.app_id, "", "SubscriptionsRemoved"): 1,
        (OTHER_APPS, "", "SubscriptionsCreated"): 1,
        (OTHER_APPS, "", "SubscriptionsRemoved"): 1,
    }
    assert all(len([d for d in invocation if APP_DIMENSION in d]) <= 1 for invocation in lines[:3])  # one per-app line a request
    assert unlisted.app_id not in out  # the unlisted app is never a dimension value


def test_a_sender_invocation_of_two_apps_writes_its_aggregate_line_and_one_per_app_bucket(surfaces, tenants, queues, lambda_context, capsys) -> None:  # noqa: ANN001
    listed, unlisted = tenants
    subscribe(surfaces, listed, len(LISTED_ANSWERS))
    subscribe(surfaces, unlisted, len(OTHER_ANSWERS))
    capsys.readouterr()
    lines = push_to_both_and_deliver(surfaces, tenants, queues, lambda_context, capsys, listed_pushes=2)

    assert [per_app_counts(invocation) for invocation in lines["send_push"]] == [
        {(listed.app_id, "", "PushesCreated"): 1}, {(listed.app_id, "", "PushesCreated"): 1}, {(OTHER_APPS, "", "PushesCreated"): 1}
    ]
    assert all(len(invocation) == 1 for invocation in lines["send_push"])  # a request: its one per-app line
    aggregate, *per_app = lines["sender"]
    # Three batches (two of the listed app) and eleven deliveries: one line per app bucket.
    assert len(per_app) == 2
    assert APP_DIMENSION not in aggregate  # the aggregate line, as before: existing alarms read it
    assert (sum(aggregate["WebPush_sent"]), sum(aggregate["WebPush_rejected"]), sum(aggregate["WebPush_gone"])) == (4, 3, 2)
    # The second push's 410 finds the subscriber pruned by the first: failed, as on its push record.
    assert per_app_counts(per_app) == {
        (listed.app_id, "webpush", "DeliveriesSent"): 2,
        (listed.app_id, "webpush", "DeliveriesPruned"): 1,
        (listed.app_id, "webpush", "DeliveriesRetried"): 2,
        (listed.app_id, "webpush", "DeliveriesFailed"): 3,
        (OTHER_APPS, "webpush", "DeliveriesSent"): 2,
        (OTHER_APPS, "webpush", "DeliveriesFailed"): 1,
    }


@pytest.mark.parametrize("provider", ["fcm", "apns"])
def test_the_native_senders_count_under_their_own_provider(provider, surfaces, tenants, queues, lambda_context, capsys) -> None:  # noqa: ANN001
    listed, unlisted = tenants
    subscribe(surfaces, listed, len(LISTED_ANSWERS))
    subscribe(surfaces, unlisted, len(OTHER_ANSWERS))
    capsys.readouterr()
    lines = push_to_both_and_deliver(surfaces, tenants, queues, lambda_context, capsys, provider)
    counts = per_app_counts(lines["sender"])
    assert {key[1] for key in counts} == {provider}
    assert counts[(listed.app_id, provider, "DeliveriesSent")] == 1 and counts[(OTHER_APPS, provider, "DeliveriesSent")] == 2


def test_every_metric_the_dashboard_graphs_in_pushgates_namespace_is_one_the_code_writes(surfaces, tenants, queues, lambda_context, capsys) -> None:  # noqa: ANN001
    listed, unlisted = tenants
    subscribe(surfaces, unlisted, len(OTHER_ANSWERS))
    assert surfaces.account_unsubscribe(unlisted, "alice", endpoint(unlisted, 0))[0] == 200
    documents = invocation_lines(capsys)
    for provider in METRIC_PREFIX:
        subscribe(surfaces, listed, len(LISTED_ANSWERS))  # the subscriber the last run pruned, back
        documents += invocation_lines(capsys)
        lines = push_to_both_and_deliver(surfaces, tenants, queues, lambda_context, capsys, provider)
        documents += [document for invocation in [*lines["send_push"], lines["fanout"], lines["sender"]] for document in invocation]
    written = emitted(documents)

    ours = [metric for metric in graphed(body()) if metric.namespace == "pushgate"]
    assert ours
    missing = [metric for metric in ours if not any(metric_written.matches(metric) for metric_written in written)]
    assert missing == []
    # And the other way: every per-app metric written is on the dashboard.
    per_app_written = {metric.name for metric in written if APP_DIMENSION in dict(metric.dimensions)}
    assert per_app_written <= {metric.name for metric in ours}, sorted(per_app_written - {metric.name for metric in ours})
