"""template.yaml's CloudWatch dashboard and MetricsApps parameter (docs/operating.md "Metrics"):
the body is JSON once substituted, everything it names exists in the template, and it graphs every
queue, every sender and every provider's four outcomes. That each metric it graphs in pushgate's
namespace is one the code writes is held in tests/pipeline/test_app_metrics.py, which runs the code."""

from __future__ import annotations

import re

from pushgate.delivery.outcomes import Provider
from pushgate.identifiers import new_app_id
from pushgate.services.delivery import APP_DELIVERY_METRICS
from pushgate_local.template import globals_environment, load_template, parameter_definitions, resources
from tests.conftest import REPO
from tests.docs.dashboard_body import SUBSTITUTION, body, body_source, dashboard, graphed, substitutions

PSEUDO_PARAMETERS = {"AWS::Region", "AWS::AccountId", "AWS::StackName", "AWS::Partition"}


def test_the_body_is_json_and_every_substitution_is_a_resource_of_the_stack() -> None:
    template = load_template()
    document = body(template)
    assert document["widgets"]
    stack = resources(template)
    for name in substitutions(template) - PSEUDO_PARAMETERS:
        logical_id, _, attribute = name.partition(".")
        assert logical_id in stack or logical_id in parameter_definitions(template), f"the dashboard names ${{{name}}}, which the template lacks"
        if attribute:
            assert attribute == "QueueName" and stack[logical_id]["Type"] == "AWS::SQS::Queue", name
    # Each substitution is a whole JSON string (a name, a region): the deployed body stays JSON.
    for value in SUBSTITUTION.finditer(source := body_source(template)):
        assert source[value.start() - 1] == '"' and source[value.end()] == '"', value[0]


def test_the_dashboard_is_named_for_the_stage() -> None:
    _, properties = dashboard()
    assert properties["DashboardName"] == {"Fn::Sub": "pushgate-${Stage}"}


def test_every_queue_and_dead_letter_queue_is_graphed_by_depth() -> None:
    queues = set(resources(kind="AWS::SQS::Queue"))
    depth = {dict(metric.values)["QueueName"] for metric in graphed(body())
             if (metric.namespace, metric.name) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")}
    assert depth == {f"${{{queue}.QueueName}}" for queue in queues}
    assert any(queue.endswith("DeadLetterQueue") for queue in queues)


def test_every_sender_and_the_fanout_are_graphed_for_errors_and_duration() -> None:
    consumers = {name for name in resources(kind="AWS::Serverless::Function") if name.endswith("SenderFunction")} | {"FanoutFunction"}
    assert len(consumers) == 4
    for metric_name in ("Errors", "Duration"):
        functions = {dict(metric.values)["FunctionName"] for metric in graphed(body()) if (metric.namespace, metric.name) == ("AWS/Lambda", metric_name)}
        assert functions == {f"${{{name}}}" for name in consumers}, metric_name


def test_pushgate_metrics_are_read_in_the_namespace_and_service_the_functions_write() -> None:
    environment = globals_environment()
    ours = [metric for metric in graphed(body()) if not metric.namespace.startswith("AWS/")]
    assert ours
    for metric in ours:
        assert metric.namespace == environment["POWERTOOLS_METRICS_NAMESPACE"], metric
        assert "service" in metric.dimensions, metric  # Powertools adds it to every metric
        assert dict(metric.values).get("service", environment["POWERTOOLS_SERVICE_NAME"]) == environment["POWERTOOLS_SERVICE_NAME"]


def test_each_provider_has_its_four_outcomes_graphed_and_per_app_ones_are_searched() -> None:
    searched = [metric for metric in graphed(body()) if metric.search]
    for provider in Provider:
        names = {metric.name for metric in searched if dict(metric.values).get("provider") == provider.value}
        assert names == set(APP_DELIVERY_METRICS.values()), provider
    # Per-app metrics are read with SEARCH: an app added to MetricsApps needs no dashboard edit.
    plain = [metric for metric in graphed(body()) if not metric.search and "app" in metric.dimensions]
    assert plain == []


def test_expression_ids_are_unique_in_each_widget() -> None:
    for widget in body()["widgets"]:
        ids = [entry[-1]["id"] for entry in widget["properties"].get("metrics", []) if isinstance(entry[-1], dict) and "id" in entry[-1]]
        assert len(ids) == len(set(ids)), widget["properties"]["title"]
        assert all(re.fullmatch(r"[a-z]\w*", identifier) for identifier in ids), ids


def test_metrics_apps_takes_up_to_twenty_app_ids_and_reaches_every_function() -> None:
    parameter = parameter_definitions()["MetricsApps"]
    pattern = parameter["AllowedPattern"]
    apps = [new_app_id() for _ in range(21)]
    assert parameter["Default"] == "" and re.fullmatch(pattern, "")
    assert re.fullmatch(pattern, apps[0]) and re.fullmatch(pattern, ",".join(apps[:20]))
    assert not re.fullmatch(pattern, ",".join(apps))  # a 21st app: the bound is the point
    for wrong in ("other", f"{apps[0]}, {apps[1]}", f"{apps[0]},", "app_XYZ"):
        assert not re.fullmatch(pattern, wrong), wrong
    assert globals_environment()["PUSHGATE_METRICS_APPS"] == {"Ref": "MetricsApps"}


def test_the_operating_guide_lists_the_per_app_metrics_and_what_one_app_value_costs() -> None:
    section = (REPO / "docs" / "operating.md").read_text().split("### Metrics", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    listed = {name for first, _ in rows for name in re.findall(r"`(\w+)`", first)}
    per_app = [metric for metric in graphed(body()) if "app" in metric.dimensions]
    assert listed == {metric.name for metric in per_app}
    # The cost note counts the custom metrics one `app` value carries: one per provider where
    # `provider` is a dimension too.
    per_value = sum(len(Provider) if "provider" in metric.dimensions else 1
                    for metric in {metric.name: metric for metric in per_app}.values())
    assert f"up to {per_value} metrics" in section
    for first, dimensions in rows:
        names = {metric.dimensions for metric in per_app if metric.name in re.findall(r"`(\w+)`", first)}
        assert names == {frozenset(re.findall(r"`(\w+)`", dimensions))}, first
