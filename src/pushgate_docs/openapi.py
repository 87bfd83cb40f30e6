"""Builds the OpenAPI 3.1 document of the HTTP API from template.yaml's routes, the operation table
and the pydantic models. Deterministic: the same code gives the same document, byte for byte."""

from __future__ import annotations

import json
import tomllib
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaMode, models_json_schema

from pushgate_docs.catalog import ACCOUNT, CHANNEL, DEVICE, SERVER, ErrorCode
from pushgate_docs.operations import BY_ROUTE, OPERATIONS, TAGS, Operation
from pushgate_local.template import REPO_ROOT, Route, http_routes

OPENAPI_VERSION = "3.1.0"
REF_TEMPLATE = "#/components/schemas/{model}"
JSON = "application/json"
OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.json"
REQUEST_ID_HEADER = {"$ref": "#/components/headers/XRequestId"}
RETRY_AFTER_HEADER = {"$ref": "#/components/headers/RetryAfter"}


class UndocumentedRoutesError(RuntimeError):
    """template.yaml and pushgate_docs.operations disagree about the HTTP routes."""


def operation_id(route: Route) -> str:
    """The function's logical id and the method, e.g. `AccountPushSubscribeFunctionGet`."""
    return f"{route.function}{route.method.capitalize()}"


class _SchemaGenerator(GenerateJsonSchema):
    """pydantic's JSON Schema without a generated title on every field (models keep theirs)."""

    def field_title_should_be_set(self, schema: Any) -> bool:  # noqa: ANN401 - pydantic's own signature
        return False


def _version() -> str:
    with open(REPO_ROOT / "pyproject.toml", "rb") as file:
        return tomllib.load(file)["project"]["version"]


# -- checking the routes --------------------------------------------------------------------------


def check_routes(routes: list[Route]) -> None:
    in_template = {(r.method, r.path): r for r in routes}
    undocumented = sorted(f"{m} {p} ({in_template[m, p].function})" for m, p in in_template.keys() - BY_ROUTE.keys())
    stale = sorted(f"{m} {p}" for m, p in BY_ROUTE.keys() - in_template.keys())
    problems = []
    if undocumented:
        problems.append(
            "HttpApi routes in template.yaml without documentation; describe them in src/pushgate_docs/operations.py "
            "(and their models in the models package, their errors in catalog.py):\n  " + "\n  ".join(undocumented)
        )
    if stale:
        problems.append("documented in src/pushgate_docs/operations.py but not routed in template.yaml:\n  " + "\n  ".join(stale))
    if len(in_template) != len(routes):
        problems.append("template.yaml routes the same method and path twice")
    if problems:
        raise UndocumentedRoutesError("\n".join(problems))


# -- schemas ------------------------------------------------------------------------------------


def _models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    """Every model that is a component: request bodies (validation) and responses (serialization)."""
    wanted: dict[type[BaseModel], JsonSchemaMode] = {}
    for op in OPERATIONS:
        if op.body is not None:
            wanted[op.body] = "validation"
        for success in op.successes:
            if success.model is not None:
                wanted[success.model] = "serialization"
        wanted[op.surface.envelope] = "serialization"
    return sorted(wanted.items(), key=lambda item: item[0].__name__)


def component_schemas() -> tuple[dict[type[BaseModel], dict[str, str]], dict[str, Any]]:
    """({model: {"$ref": ...}}, {name: schema}) for every component model, from one pydantic pass so
    shared sub-models are defined once."""
    refs, top = models_json_schema(_models(), ref_template=REF_TEMPLATE, schema_generator=_SchemaGenerator)
    return {model: ref for (model, _mode), ref in refs.items()}, top.get("$defs", {})


def parameters(model: type[BaseModel] | None, location: str, required: bool | None = None, note: str = "") -> list[dict[str, Any]]:
    """OpenAPI parameter objects from a flat model: one per field, in field order."""
    if model is None:
        return []
    schema = model.model_json_schema(ref_template=REF_TEMPLATE, schema_generator=_SchemaGenerator)
    if "$defs" in schema:
        raise ValueError(f"{model.__name__}: parameters must be flat (no nested models)")
    needed = set(schema.get("required", ()))
    result = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = " ".join(part for part in (prop.pop("description", ""), note) if part)
        examples = prop.pop("examples", None)
        param: dict[str, Any] = {
            "name": name,
            "in": location,
            "required": location == "path" or (name in needed if required is None else required and name in needed),
            "schema": prop,
        }
        if description:
            param["description"] = description
        if examples:
            param["example"] = examples[0]
        result.append(param)
    return result


# -- error responses ----------------------------------------------------------------------------


def _const(value: Any) -> dict[str, Any]:  # noqa: ANN401 - any JSON value
    return {"const": value}


def _texts(entry: ErrorCode) -> dict[str, Any] | None:
    texts = entry.texts
    if not texts:
        return None
    return {"const": texts[0]} if len(texts) == 1 else {"enum": list(texts)}


def error_variant(entry: ErrorCode) -> dict[str, Any]:
    """What distinguishes one catalog entry inside its surface's envelope (its code, status and,
    where fixed, its text)."""
    text = _texts(entry)
    if entry.surface is ACCOUNT:
        props: dict[str, Any] = {"error_no": _const(entry.code)}
        if text:
            props["error_message"] = text
    elif entry.surface is SERVER:
        props = {"code": _const(entry.code)}
        if text:
            props["error"] = text
    elif entry.surface is DEVICE:
        detail: dict[str, Any] = {"code": _const(entry.code)}
        if text:
            detail["message"] = text
        props = {"RC": _const(entry.status), "RM": _const(entry.reason_phrase), "error": {"properties": detail}}
    elif entry.surface is CHANNEL:
        body: dict[str, Any] = {
            "type": _const(f"/docs/errors#{entry.code}-{entry.status}"),
            "code": _const(entry.code),
            "status": _const(entry.status),
        }
        if text:
            body["message"] = text
        props = {"error": {"properties": body}}
    else:  # pragma: no cover - a new surface must say how its codes look
        raise ValueError(f"no error variant for surface {entry.surface.key}")
    return {"title": f"{entry.code}", "properties": props}


def error_schema(envelope_ref: dict[str, str], entries: list[ErrorCode]) -> dict[str, Any]:
    """An inline schema of the surface's envelope narrowed to these entries."""
    variants = [error_variant(e) for e in entries]
    if len(variants) == 1:
        return {"allOf": [envelope_ref, variants[0]]}
    return {"allOf": [envelope_ref, {"oneOf": variants}]}


def error_component_name(entry: ErrorCode) -> str:
    """e.g. AccountError_8501_200, PushyError_INVALID_PARAM_400, NotiflowsError_not_found_404."""
    return f"{entry.surface.envelope.__name__}_{entry.code}_{entry.status}"


def error_components(refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any]:
    """One named schema per error an operation documents: the envelope narrowed to that code."""
    components = {}
    for op in OPERATIONS:
        for entry in op.errors:
            schema = error_schema(refs[entry.surface.envelope], [entry])
            schema["description"] = entry.meaning
            components[error_component_name(entry)] = schema
    return components


def _error_ref(entry: ErrorCode) -> dict[str, str]:
    return {"$ref": REF_TEMPLATE.format(model=error_component_name(entry))}


def _one_of(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    return schemas[0] if len(schemas) == 1 else {"oneOf": schemas}


def _code(entry: ErrorCode) -> str:
    return f"`{entry.code}`"


def errors_table(op: Operation) -> str:
    field = op.surface.code_field
    lines = [f"| HTTP | `{field}` | message | meaning |", "|---|---|---|---|"]
    for entry in op.errors:
        message = entry.shown_message.replace("|", "\\|")
        lines.append(f"| {entry.status} | {_code(entry)} | {message} | {entry.meaning.replace('|', '\\|')} |")
    return "\n".join(lines)


# -- operations ---------------------------------------------------------------------------------


def _body(op: Operation, refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any] | None:
    if op.body is None:
        return None
    body: dict[str, Any] = {
        "required": op.body_required,
        "content": {media: {"schema": refs[op.body]} for media in op.body_media_types},
    }
    description = op.body_description or (op.body.__doc__ or "").strip()
    if description:
        body["description"] = " ".join(description.split())
    return body


def _responses(op: Operation, refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any]:
    headers = {"x-request-id": REQUEST_ID_HEADER} if op.surface is CHANNEL else None
    by_status: dict[int, list[ErrorCode]] = {}
    for entry in op.errors:
        by_status.setdefault(entry.status, []).append(entry)
    responses: dict[str, Any] = {}
    for success in op.successes:
        response: dict[str, Any] = {"description": success.description}
        if success.model is not None:
            schema: dict[str, Any] = refs[success.model]
            field_errors = by_status.pop(success.status, [])
            if field_errors:  # the account API's field errors share HTTP 200 with success
                schema = _one_of([schema, *(_error_ref(e) for e in field_errors)])
                codes = ", ".join(_code(e) for e in field_errors)
                response["description"] += f" Or a field error, with the same HTTP status: `{op.surface.code_field}` {codes}."
            response["content"] = {JSON: {"schema": schema}}
        if headers:
            response["headers"] = dict(headers)
        responses[str(success.status)] = response
    for status, entries in sorted(by_status.items()):
        response = {
            "description": "Error " + ", ".join(_code(e) for e in entries) + " (see the table above and docs/errors.md).",
            "content": {JSON: {"schema": _one_of([_error_ref(e) for e in entries])}},
        }
        if headers or status == 429:
            response["headers"] = {**(headers or {}), **({"Retry-After": RETRY_AFTER_HEADER} if status == 429 else {})}
        responses[str(status)] = response
    return responses


def operation_object(route: Route, op: Operation, refs: dict[type[BaseModel], dict[str, str]]) -> dict[str, Any]:
    params = (
        parameters(op.path_params, "path")
        + parameters(op.query, "query", op.query_required, op.query_note)
        + parameters(op.headers, "header")
    )
    result: dict[str, Any] = {
        "operationId": operation_id(route),
        "summary": op.summary,
        "description": f"{op.description}\n\nErrors (docs/errors.md lists every code):\n\n{errors_table(op)}",
        "tags": [op.tag.name],
        "responses": _responses(op, refs),
        "x-pushgate-function": route.function,
    }
    if params:
        result["parameters"] = params
    body = _body(op, refs)
    if body:
        result["requestBody"] = body
    if op.security:
        result["security"] = [dict(requirement) for requirement in op.security]
    return result


# -- the document -------------------------------------------------------------------------------

INFO_DESCRIPTION = """\
The HTTP API of pushgate (docs/api.md §0, §2-§5), generated from `template.yaml` (routes), \
`src/pushgate_docs` (models and errors) by `python -m pushgate_docs`. The WebSocket API (§1) is not HTTP \
and is not described here.

Each surface keeps the wire format of the product it serves, so each has its own authentication and \
its own error envelope:

| surface | authentication | error body |
|---|---|---|
| Sessions (§0) | `?api_key=` secret key | `{"code", "error"}` |
| Account API (§2) | `session_id` parameter (session id or user JWT) | `{"error_no", "error_message"}`, field errors with HTTP 200 |
| Device API (§3) | `IM-CLIENT-KEY` + `IM-Authorization`, or `IM-API-KEY` + `clientId` | `{"RC", "RM", "error": {"code", "message"}}` |
| Topics and sending API (§4) | `?api_key=` secret key | `{"code", "error"}` |
| Channel subscriptions API (§5) | `x-notiflows-api-key` + `x-notiflows-user-key` | `{"error": {"type", "code", "message", "status", "request_id", "details"}}` |

Every code is listed in docs/errors.md. Unknown request fields are ignored; a body over 64 KiB is \
refused with the surface's error. Each app has request rates (docs/limits.md): past them a function \
answers `429` in the surface's error envelope with a `Retry-After` header. API Gateway itself answers unknown \
routes (`404 {"message": "Not Found"}`), its own stage throttling (`429 {"message": "Too Many Requests"}`) and \
CORS preflight requests, before any function runs.
"""

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "SecretApiKey": {
        "type": "apiKey",
        "in": "query",
        "name": "api_key",
        "description": "The app's secret key (`sk_...`). Server-side only: never ship it in client code.",
    },
    "ImClientKey": {
        "type": "apiKey",
        "in": "header",
        "name": "IM-CLIENT-KEY",
        "description": "The app's public key (`pk_...`); with `IM-Authorization`.",
    },
    "ImAuthorization": {
        "type": "apiKey",
        "in": "header",
        "name": "IM-Authorization",
        "description": "The user's session id or RS256 user JWT (a `Bearer ` prefix is accepted); with `IM-CLIENT-KEY`.",
    },
    "ImApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "IM-API-KEY",
        "description": "The app's secret key (`sk_...`), server-side, acting for the user named by `clientId` in the body.",
    },
    "NotiflowsApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-notiflows-api-key",
        "description": "The app's public key (`pk_...`).",
    },
    "NotiflowsUserKey": {
        "type": "apiKey",
        "in": "header",
        "name": "x-notiflows-user-key",
        "description": (
            "An RS256 user JWT signed with one of the app's user-token keys: `sub` (the user id) and `exp` required, "
            "`iat`/`nbf` honoured, 60 s leeway."
        ),
    },
    "NotiflowsUserId": {
        "type": "apiKey",
        "in": "header",
        "name": "x-notiflows-user-id",
        "description": (
            "Insecure, testing only: the user id itself. Honoured only when the deployment enables development mode "
            "(template parameter `DevelopmentMode=true`); off by default."
        ),
    },
}

HEADERS = {
    "RetryAfter": {
        "description": "Whole seconds until the app's bucket for this API holds a request again (RFC 9110 §10.2.3; docs/limits.md).",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    },
    "XRequestId": {
        "description": "The request's id: the client's `x-request-id` when it matches `^[A-Za-z0-9._:-]{1,128}$`, "
        "else one made by the server. Error bodies repeat it as `error.request_id`.",
        "required": True,
        "schema": {"type": "string"},
    }
}

SERVERS = [
    {
        "url": "http://127.0.0.1:{port}",
        "description": "The local stack (`make run`; port from PUSHGATE_HTTP_PORT).",
        "variables": {"port": {"default": "3000"}},
    },
    {
        "url": "https://{apiId}.execute-api.{region}.amazonaws.com",
        "description": "A deployed stack (the HttpApi's default endpoint).",
        "variables": {"apiId": {"default": "abc123"}, "region": {"default": "us-east-1"}},
    },
]


def build_openapi(template: dict[str, Any] | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every HttpApi route of the template (default: template.yaml).
    Raises UndocumentedRoutesError when the template and the documentation disagree."""
    routes = http_routes(template)
    check_routes(routes)
    refs, schemas = component_schemas()
    schemas = {**schemas, **error_components(refs)}
    paths: dict[str, dict[str, Any]] = {}
    for route in sorted(routes, key=lambda r: (r.path, r.method)):
        paths.setdefault(route.path, {})[route.method.lower()] = operation_object(route, BY_ROUTE[route.method, route.path], refs)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "pushgate HTTP API",
            "version": _version(),
            "description": INFO_DESCRIPTION,
        },
        "servers": SERVERS,
        "tags": [{"name": tag.name, "description": tag.description} for tag in TAGS],
        "paths": paths,
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES, "headers": HEADERS},
    }


def dumps(document: dict[str, Any]) -> str:
    """The committed form: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
