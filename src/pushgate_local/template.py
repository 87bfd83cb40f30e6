"""Reads `template.yaml`: the single source of the table, the routes, the functions and their
environment, for the local stack and for the tests alike (so neither can drift from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"

# Short-form tags that keep their name in the long form; every other !X becomes Fn::X.
_UNPREFIXED_TAGS = ("Ref", "Condition")


class _TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """Safe YAML plus CloudFormation's short-form intrinsics (!Ref, !GetAtt, !Sub...), read into
    their long form exactly as cfn-lint's decoder reads them (tests/local/test_template.py checks
    it). Not cfn-lint itself: importing it takes seconds (sympy), paid on every `make run`; the
    template is still linted by cfn-lint in `make test`."""


def _long_form(loader: yaml.SafeLoader, tag: str, node: yaml.Node) -> dict[str, Any]:
    name = tag if tag in _UNPREFIXED_TAGS else f"Fn::{tag}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if name == "Fn::GetAtt":
            value = value.split(".", 1)  # !GetAtt Resource.Attribute
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    return {name: value}


_TemplateLoader.add_multi_constructor("!", _long_form)


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as file:
        template = yaml.load(file, Loader=_TemplateLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(template, dict) or not isinstance(template.get("Resources"), dict):
        raise ValueError(f"cannot read {path}: not a CloudFormation template")
    return template


def resources(template: dict[str, Any] | None = None, kind: str | None = None) -> dict[str, dict[str, Any]]:
    template = template or load_template()
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if kind is None or resource.get("Type") == kind
    }


def table_definition(logical_id: str = "Table", table_name: str = "pushgate", template: dict[str, Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for DynamoDB CreateTable, taken from the template's table resource."""
    props = resources(template)[logical_id]["Properties"]
    definition: dict[str, Any] = {
        "TableName": table_name,
        "KeySchema": props["KeySchema"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        definition["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    return definition


def ttl_attribute(logical_id: str = "Table", template: dict[str, Any] | None = None) -> str | None:
    spec = resources(template)[logical_id]["Properties"].get("TimeToLiveSpecification") or {}
    return spec.get("AttributeName") if spec.get("Enabled") else None


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # API Gateway form, e.g. /{account_id}/push_subscribe
    function: str  # logical id

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str
    timeout: int
    memory: int
    environment: dict[str, Any] = field(default_factory=dict)  # unresolved template values
    layers: tuple[str, ...] = ()
    events: dict[str, dict[str, Any]] = field(default_factory=dict)


def functions(template: dict[str, Any] | None = None) -> dict[str, FunctionSpec]:
    template = template or load_template()
    globals_ = template.get("Globals", {}).get("Function", {})
    specs = {}
    for name, resource in resources(template, "AWS::Serverless::Function").items():
        props = {**globals_, **resource["Properties"]}
        env = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **resource["Properties"].get("Environment", {}).get("Variables", {}),
        }
        layers = tuple(layer["Ref"] for layer in props.get("Layers", []) if isinstance(layer, dict) and "Ref" in layer)
        specs[name] = FunctionSpec(
            logical_id=name,
            code_uri=REPO_ROOT / props["CodeUri"],
            handler=props["Handler"],
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            environment=env,
            layers=layers,
            events=dict(props.get("Events", {})),
        )
    return specs


def http_routes(template: dict[str, Any] | None = None) -> list[Route]:
    routes = []
    for spec in functions(template).values():
        for event in spec.events.values():
            if event.get("Type") == "HttpApi":
                props = event["Properties"]
                routes.append(Route(props["Method"].upper(), props["Path"], spec.logical_id))
    return routes


def layer_python_dir(logical_id: str, template: dict[str, Any] | None = None) -> Path:
    """Where a layer's importable code lives in the source tree (what its Makefile copies)."""
    content = REPO_ROOT / resources(template)[logical_id]["Properties"]["ContentUri"]
    return content / "python"


def parameter_definitions(template: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    template = template or load_template()
    return dict(template.get("Parameters", {}))


def globals_environment(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The environment every function gets from Globals (unresolved template values)."""
    template = template or load_template()
    return dict(template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))


@dataclass(frozen=True)
class SqsEventSource:
    """An event source mapping: a template event of Type SQS on a function."""

    function: str  # logical id
    name: str  # the event's name under Events
    queue: Any  # unresolved, usually !GetAtt SomeQueue.Arn
    batch_size: int = 10
    batching_window_seconds: int = 0
    report_batch_item_failures: bool = False
    enabled: bool = True
    maximum_concurrency: int | None = None


def sqs_event_sources(template: dict[str, Any] | None = None) -> list[SqsEventSource]:
    sources = []
    for spec in functions(template).values():
        for name, event in spec.events.items():
            if event.get("Type") != "SQS":
                continue
            props = event["Properties"]
            scaling = props.get("ScalingConfig") or {}
            sources.append(
                SqsEventSource(
                    function=spec.logical_id,
                    name=name,
                    queue=props["Queue"],
                    batch_size=int(props.get("BatchSize", 10)),
                    batching_window_seconds=int(props.get("MaximumBatchingWindowInSeconds", 0)),
                    report_batch_item_failures="ReportBatchItemFailures" in (props.get("FunctionResponseTypes") or []),
                    enabled=bool(props.get("Enabled", True)),
                    maximum_concurrency=int(scaling["MaximumConcurrency"]) if "MaximumConcurrency" in scaling else None,
                )
            )
    return sources


def http_api_cors(template: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The CorsConfiguration of the template's HTTP API, if it has one (one HTTP API per stack)."""
    for resource in resources(template, "AWS::Serverless::HttpApi").values():
        cors = resource.get("Properties", {}).get("CorsConfiguration")
        if cors:
            return dict(cors)
    return None
