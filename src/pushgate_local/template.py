"""Reads `template.yaml`: the single source of the table, the routes, the functions and their
environment, for the local stack and for the tests alike (so neither can drift from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from cfnlint.decode import decode

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = REPO_ROOT / "template.yaml"


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> dict[str, Any]:
    template, matches = decode(str(path))
    if matches or template is None:
        raise ValueError(f"cannot read {path}: {matches}")
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
