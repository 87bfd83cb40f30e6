"""template.yaml's CloudWatch dashboard read back as the metrics it graphs, and EMF lines read as
the metrics they create, so that tests can hold one against the other (tests/docs/test_dashboard.py
for the template's side, tests/pipeline/test_app_metrics.py for what the code writes)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from pushgate_local.template import load_template, resources

DASHBOARD_TYPE = "AWS::CloudWatch::Dashboard"
SUBSTITUTION = re.compile(r"\$\{([^}]+)\}")
# SEARCH('{Namespace,DimensionName,...} term term', 'Stat', Period): the schema's metrics have
# exactly those dimensions; each name="value" term narrows them down.
SEARCH = re.compile(r"SEARCH\('\{(?P<schema>[^}]*)\}(?P<terms>[^']*)',\s*'(?P<stat>[\w.]+)',\s*(?P<period>\d+)\)")
TERM = re.compile(r'(?P<name>\w+)\s*=\s*"(?P<value>[^"]*)"')


@dataclass(frozen=True)
class Graphed:
    """One metric (or SEARCH) of a widget: its namespace, name, the dimension names it needs, and
    the dimension values it fixes (values of substitutions read "${Name}")."""

    widget: str
    namespace: str
    name: str
    dimensions: frozenset[str]
    values: tuple[tuple[str, str], ...]
    search: bool


@dataclass(frozen=True)
class Emitted:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]

    def matches(self, graphed: Graphed) -> bool:
        return (
            (self.namespace, self.name) == (graphed.namespace, graphed.name)
            and frozenset(name for name, _ in self.dimensions) == graphed.dimensions
            and set(graphed.values) <= set(self.dimensions)
        )


def dashboard(template: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """The template's one dashboard: its logical id and properties."""
    (found,) = resources(template or load_template(), kind=DASHBOARD_TYPE).items()
    return found[0], found[1]["Properties"]


def body_source(template: dict[str, Any] | None = None) -> str:
    """The DashboardBody's !Sub string, substitutions unresolved."""
    body = dashboard(template)[1]["DashboardBody"]
    assert isinstance(body, dict) and isinstance(body.get("Fn::Sub"), str), "DashboardBody is a !Sub of one string"
    return body["Fn::Sub"]


def body(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The body as JSON, every ${X} left as the text "${X}" (it is inside JSON strings)."""
    return json.loads(body_source(template))


def substitutions(template: dict[str, Any] | None = None) -> set[str]:
    return set(SUBSTITUTION.findall(body_source(template)))


def graphed(document: dict[str, Any]) -> list[Graphed]:
    found: list[Graphed] = []
    for widget in document["widgets"]:
        properties = widget.get("properties", {})
        title = properties.get("title", "")
        for entry in properties.get("metrics", []):
            options = entry[-1] if entry and isinstance(entry[-1], dict) else {}
            if "expression" in options:
                found.extend(_searched(title, options["expression"]))
                continue
            plain = [part for part in entry if not isinstance(part, dict)]
            assert "." not in plain[:1] and ".." not in plain, f"{title}: spell every metric out, no shorthand"
            namespace, name, pairs = plain[0], plain[1], plain[2:]
            values = tuple(zip(pairs[::2], pairs[1::2], strict=True))
            found.append(Graphed(title, namespace, name, frozenset(n for n, _ in values), values, search=False))
    return found


def _searched(title: str, expression: str) -> list[Graphed]:
    searches = list(SEARCH.finditer(expression))
    assert searches, f"{title}: an expression with no SEARCH this test can read: {expression}"
    found = []
    for search in searches:
        namespace, *dimensions = [part.strip() for part in search["schema"].split(",")]
        terms = {term["name"]: term["value"] for term in TERM.finditer(search["terms"])}
        name = terms.pop("MetricName")
        assert set(terms) <= set(dimensions), f"{title}: {expression} filters on a dimension outside its schema"
        found.append(Graphed(title, namespace, name, frozenset(dimensions), tuple(sorted(terms.items())), search=True))
    return found


def emitted(emf_documents: list[dict[str, Any]]) -> set[Emitted]:
    """Every metric the EMF documents create: one per metric, directive and dimension set."""
    created = set()
    for document in emf_documents:
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for dimension_set in directive["Dimensions"]:
                dimensions = tuple(sorted((name, str(document[name])) for name in dimension_set))
                for metric in directive["Metrics"]:
                    created.add(Emitted(directive["Namespace"], metric["Name"], dimensions))
    return created


def emf_documents(out: str) -> list[dict[str, Any]]:
    """The EMF lines among a function's log lines (Powertools prints each as one JSON line)."""
    return [json.loads(line) for line in out.splitlines() if line.startswith('{"_aws"')]
