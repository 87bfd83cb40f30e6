"""Per-app metrics (pushgate.observability.AppMetrics, docs/operating.md "Metrics"): only the apps
the deployment lists get an `app` dimension value of their own, every other app is counted under
app=other, counts are summed per invocation and written as one EMF line per dimension set when it
ends, after the aggregate line Powertools writes."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from pushgate.config import Settings
from pushgate.observability import APP_DIMENSION, OTHER_APPS, AppMetrics, FunctionMetrics, app_metrics, metrics
from tests.conftest import LambdaContext

TRACKED = "app_00000000000000aa"
UNTRACKED = "app_00000000000000bb"


def emf_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]


def identity(document: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """The dimension names and values of an EMF document's one directive."""
    (directive,) = document["_aws"]["CloudWatchMetrics"]
    (names,) = directive["Dimensions"]
    return tuple(sorted((name, document[name]) for name in names))


@pytest.fixture
def per_app() -> AppMetrics:
    return AppMetrics([TRACKED])


def test_a_listed_app_has_its_own_value_and_every_other_app_shares_one(per_app: AppMetrics) -> None:
    assert per_app.bucket(TRACKED) == TRACKED
    assert per_app.bucket(UNTRACKED) == OTHER_APPS
    assert per_app.bucket(f"app_{'c' * 16}") == OTHER_APPS
    per_app.track([UNTRACKED])
    assert (per_app.bucket(TRACKED), per_app.bucket(UNTRACKED)) == (OTHER_APPS, UNTRACKED)


def test_counts_are_summed_per_dimension_set_and_written_once_when_the_invocation_ends(per_app: AppMetrics, capsys: pytest.CaptureFixture[str]) -> None:
    with per_app.invocation():
        for _ in range(3):
            per_app.add(TRACKED, "SubscriptionsCreated")
        per_app.add(UNTRACKED, "SubscriptionsCreated")
        per_app.add(f"app_{'c' * 16}", "SubscriptionsCreated", 2)
        per_app.add(TRACKED, "DeliveriesSent", 5, provider="webpush")
        per_app.add(TRACKED, "DeliveriesFailed", 0, provider="webpush")  # a zero adds nothing
        assert emf_lines(capsys.readouterr().out) == []  # nothing before the end
    documents = {identity(document): document for document in emf_lines(capsys.readouterr().out)}
    assert set(documents) == {
        (("app", TRACKED), ("service", "pushgate")),
        (("app", OTHER_APPS), ("service", "pushgate")),
        (("app", TRACKED), ("provider", "webpush"), ("service", "pushgate")),
    }
    assert documents[(("app", TRACKED), ("service", "pushgate"))]["SubscriptionsCreated"] == [3.0]
    assert documents[(("app", OTHER_APPS), ("service", "pushgate"))]["SubscriptionsCreated"] == [3.0]
    sent = documents[(("app", TRACKED), ("provider", "webpush"), ("service", "pushgate"))]
    assert sent["DeliveriesSent"] == [5.0] and "DeliveriesFailed" not in sent
    for document in documents.values():
        (directive,) = document["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "pushgate"
        assert all(metric["Unit"] == "Count" for metric in directive["Metrics"])
    assert per_app.pending() == {}


def test_counts_made_outside_an_invocation_are_not_kept(per_app: AppMetrics, capsys: pytest.CaptureFixture[str]) -> None:
    """The CLI and a test's setup use the same services; nothing would ever write their counts."""
    per_app.add(TRACKED, "SubscriptionsCreated")
    assert per_app.pending() == {}
    with per_app.invocation():
        per_app.add(TRACKED, "PushesCreated")
    assert [document.get("SubscriptionsCreated") for document in emf_lines(capsys.readouterr().out)] == [None]


def test_threads_of_one_invocation_add_up(per_app: AppMetrics, capsys: pytest.CaptureFixture[str]) -> None:
    """The sender processes an invocation's messages on threads of their own."""
    def count() -> None:
        for _ in range(500):
            per_app.add(TRACKED, "DeliveriesSent", provider="fcm")
            per_app.add(UNTRACKED, "DeliveriesSent", provider="fcm")

    with per_app.invocation():
        threads = [threading.Thread(target=count) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    documents = emf_lines(capsys.readouterr().out)
    assert sorted((document[APP_DIMENSION], document["DeliveriesSent"]) for document in documents) == [(TRACKED, [4000.0]), (OTHER_APPS, [4000.0])]


def handler_adding(per_app: AppMetrics, function_metrics: FunctionMetrics, fail: bool = False):  # noqa: ANN201
    @function_metrics.log_metrics
    def handler(event: dict[str, Any], context: Any) -> str:
        function_metrics.add_metric(name="WebPush_sent", unit="Count", value=event["sent"])
        for app_id in event["apps"]:
            per_app.add(app_id, "DeliveriesSent", 1, provider="webpush")
        if fail:
            raise RuntimeError("the handler failed")
        return "done"

    return handler


def test_the_function_decorator_writes_the_aggregate_line_then_one_line_per_app_bucket(capsys: pytest.CaptureFixture[str]) -> None:
    handler = handler_adding(app_metrics, metrics)
    app_metrics.track([TRACKED])
    try:
        assert handler({"sent": 4, "apps": [TRACKED, UNTRACKED, TRACKED, f"app_{'d' * 16}"]}, LambdaContext()) == "done"
    finally:
        app_metrics.track([])
    aggregate, *per_app_lines = emf_lines(capsys.readouterr().out)
    # The aggregate line is as it always was (existing alarms read it): no app dimension.
    assert aggregate["WebPush_sent"] == [4.0] and APP_DIMENSION not in aggregate
    assert aggregate["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["service"]]
    assert sorted((document[APP_DIMENSION], document["DeliveriesSent"]) for document in per_app_lines) == [(TRACKED, [2.0]), (OTHER_APPS, [2.0])]
    assert all(document["provider"] == "webpush" for document in per_app_lines)


def test_a_failing_handler_still_writes_what_it_counted(capsys: pytest.CaptureFixture[str]) -> None:
    handler = handler_adding(app_metrics, metrics, fail=True)
    with pytest.raises(RuntimeError):
        handler({"sent": 1, "apps": [UNTRACKED]}, LambdaContext())
    assert [document.get(APP_DIMENSION) for document in emf_lines(capsys.readouterr().out)] == [None, OTHER_APPS]
    assert app_metrics.pending() == {}


def test_the_decorator_with_options_counts_too(capsys: pytest.CaptureFixture[str]) -> None:
    @metrics.log_metrics(raise_on_empty_metrics=False)
    def handler(event: dict[str, Any], context: Any) -> None:
        app_metrics.add(UNTRACKED, "PushesCreated")

    handler({}, LambdaContext())
    assert [document.get("PushesCreated") for document in emf_lines(capsys.readouterr().out)] == [[1.0]]


def test_metrics_disabled_writes_no_per_app_line(per_app: AppMetrics, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "true")
    with per_app.invocation():
        per_app.add(TRACKED, "PushesCreated")
    assert emf_lines(capsys.readouterr().out) == []


def test_the_deployment_lists_the_tracked_apps_in_one_variable() -> None:
    settings = Settings.from_env({"TABLE_NAME": "t", "PUSHGATE_METRICS_APPS": f" {TRACKED},{UNTRACKED} ,,{TRACKED}"})
    assert settings.metrics_apps == (TRACKED, UNTRACKED)
    assert Settings.from_env({"TABLE_NAME": "t", "PUSHGATE_METRICS_APPS": ""}).metrics_apps == ()
    assert Settings.from_env({"TABLE_NAME": "t"}).metrics_apps == ()


def test_building_the_services_tracks_the_deployments_apps() -> None:
    from pushgate.wiring import build_services

    try:
        build_services(Settings(table_name="t", metrics_apps=(TRACKED,)), dynamodb_client=object())
        assert app_metrics.tracked == frozenset({TRACKED})
        build_services(Settings(table_name="t"), dynamodb_client=object())
        assert app_metrics.tracked == frozenset()
    finally:
        app_metrics.track([])
