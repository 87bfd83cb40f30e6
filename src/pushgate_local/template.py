"""Reads `template.yaml`: the single source of the table, the routes, the functions and their
environment, for the local stack and for the tests alike (so neither can drift from it)."""

from __future__ import annotations

import re
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


# -- the WebSocket API (AWS::ApiGatewayV2 resources) ----------------------------------------------

_FUNCTION_TYPES = ("AWS::Serverless::Function", "AWS::Lambda::Function")


class UnsupportedTemplate(ValueError):
    """The template uses something the local stack does not emulate yet."""


@dataclass(frozen=True)
class WebSocketRoute:
    route_key: str
    function: str  # logical id of the function behind the route's AWS_PROXY integration
    two_way: bool  # a route response is configured: the function's result goes back to the caller


@dataclass(frozen=True)
class WebSocketApiSpec:
    logical_id: str
    route_selection_expression: str
    routes: dict[str, WebSocketRoute]  # by route key
    stage_name: Any = None  # unresolved (usually !Ref Stage); None when the template has no stage


def referenced_ids(value: Any) -> set[str]:
    """Logical ids (and parameter names) a template value refers to through Ref, Fn::GetAtt or
    Fn::Sub, at any depth."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= referenced_ids(item)
    elif isinstance(value, dict):
        if len(value) == 1:
            (key, argument), = value.items()
            if key == "Ref" and isinstance(argument, str):
                return {argument}
            if key == "Fn::GetAtt":
                name = argument.split(".", 1)[0] if isinstance(argument, str) else argument[0]
                return {name}
            if key == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
                names = {
                    match.split(".", 1)[0]
                    for match in re.findall(r"\$\{([^}!][^}]*)\}", text)
                    if not match.startswith("AWS::") and match not in variables
                }
                return names | referenced_ids(list(variables.values()))
        for item in value.values():
            found |= referenced_ids(item)
    return found


def _only_reference(value: Any, candidates: dict[str, Any], what: str) -> str:
    matches = sorted(referenced_ids(value) & set(candidates))
    if len(matches) != 1:
        raise UnsupportedTemplate(f"{what} must refer to exactly one resource, found {matches or 'none'}")
    return matches[0]


def websocket_apis(template: dict[str, Any] | None = None) -> list[WebSocketApiSpec]:
    """Every WEBSOCKET AWS::ApiGatewayV2::Api with its routes, each route's function (through
    Target -> Integration -> IntegrationUri) and whether it has a route response."""
    template = template or load_template()
    all_resources = resources(template)
    apis = {
        name: resource
        for name, resource in resources(template, "AWS::ApiGatewayV2::Api").items()
        if str(resource.get("Properties", {}).get("ProtocolType", "")).upper() == "WEBSOCKET"
    }
    integrations = resources(template, "AWS::ApiGatewayV2::Integration")
    function_ids = {name: r for name, r in all_resources.items() if r.get("Type") in _FUNCTION_TYPES}
    route_resources = resources(template, "AWS::ApiGatewayV2::Route")
    responded = {
        _only_reference(r.get("Properties", {}).get("RouteId"), route_resources, f"RouteResponse {name} RouteId")
        for name, r in resources(template, "AWS::ApiGatewayV2::RouteResponse").items()
    }
    specs = []
    for api_id, api in apis.items():
        props = api.get("Properties", {})
        expression = props.get("RouteSelectionExpression")
        if not isinstance(expression, str):
            raise UnsupportedTemplate(f"{api_id}: RouteSelectionExpression must be a plain string")
        routes: dict[str, WebSocketRoute] = {}
        for route_id, route in route_resources.items():
            route_props = route.get("Properties", {})
            if api_id not in referenced_ids(route_props.get("ApiId")):
                continue
            if route_props.get("AuthorizationType", "NONE") != "NONE":
                raise UnsupportedTemplate(f"{route_id}: route authorizers are not emulated locally")
            if "Target" not in route_props:
                raise UnsupportedTemplate(f"{route_id} has no Target integration")
            integration_id = _only_reference(route_props["Target"], integrations, f"{route_id} Target")
            integration = integrations[integration_id].get("Properties", {})
            if integration.get("IntegrationType") != "AWS_PROXY":
                raise UnsupportedTemplate(f"{integration_id}: only AWS_PROXY (Lambda proxy) integrations are emulated")
            function = _only_reference(integration.get("IntegrationUri"), function_ids, f"{integration_id} IntegrationUri")
            two_way = route_id in responded and bool(route_props.get("RouteResponseSelectionExpression"))
            key = route_props["RouteKey"]
            routes[key] = WebSocketRoute(key, function, two_way)
        stage_name = next(
            (
                stage.get("Properties", {}).get("StageName")
                for stage in resources(template, "AWS::ApiGatewayV2::Stage").values()
                if api_id in referenced_ids(stage.get("Properties", {}).get("ApiId"))
            ),
            None,
        )
        specs.append(WebSocketApiSpec(api_id, expression, routes, stage_name))
    return specs
