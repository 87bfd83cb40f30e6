"""docs/openapi.json and docs/errors.md against the code.

(a) the committed files are what `python -m pushgate_docs` generates;
(b) every HttpApi route of template.yaml is documented, and nothing else;
(c) the document is valid OpenAPI 3.1 and its schemas valid JSON Schema;
(d) the real handlers, under moto, answer what the document says: for every operation and every
    documented status, a request is made and the response (status, headers, JSON body) is
    validated against the documented schema; the envelope mappers' every answer is in the catalog.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, get_args
from urllib.parse import urlencode

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate

from pushgate_docs import UndocumentedRoutesError, build_openapi, dumps, render_errors_markdown, render_html
from pushgate_docs.catalog import ACCOUNT, CHANNEL, DEVICE, ERRORS, SERVER, ErrorCode, Surface
from pushgate_docs.errors_md import ERRORS_MD_PATH
from pushgate_docs.openapi import OPENAPI_PATH, error_schema, operation_id
from pushgate_docs.operations import BY_ROUTE
from pushgate_local.template import REPO_ROOT, functions, http_routes, load_template
from scripts.make_events import http_event
from tests.keys import browser_keys, user_jwt

REGENERATE = "run `python -m pushgate_docs` and commit docs/"


@pytest.fixture(scope="module")
def openapi() -> dict[str, Any]:
    return build_openapi()


def operations_of(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """operationId -> (METHOD, path, operation object)."""
    found = {}
    for path, item in document["paths"].items():
        for method, op in item.items():
            assert op["operationId"] not in found, f"duplicate operationId {op['operationId']}"
            found[op["operationId"]] = (method.upper(), path, op)
    return found


def validator(document: dict[str, Any], schema: dict[str, Any]) -> Draft202012Validator:
    """A validator for one schema of the document, its `#/components/...` refs resolved in the document."""
    return Draft202012Validator({**schema, "components": document["components"]}, format_checker=Draft202012Validator.FORMAT_CHECKER)


# -- (a) the committed files are generated ----------------------------------------------------------


def test_committed_openapi_json_is_what_the_code_generates(openapi) -> None:  # noqa: ANN001
    assert OPENAPI_PATH.exists(), f"docs/openapi.json is missing: {REGENERATE}"
    committed = OPENAPI_PATH.read_text(encoding="utf-8")
    if json.loads(committed) != openapi:
        stale = sorted(
            f"{m.upper()} {p}" for p, item in openapi["paths"].items() for m in item
            if json.loads(committed).get("paths", {}).get(p, {}).get(m) != item[m]
        )
        pytest.fail(f"docs/openapi.json is stale ({', '.join(stale) or 'outside the paths'}): {REGENERATE}")
    assert committed == dumps(openapi), f"docs/openapi.json is not in the generated format: {REGENERATE}"


def test_generation_is_deterministic(openapi) -> None:  # noqa: ANN001
    assert dumps(build_openapi()) == dumps(openapi)


def test_committed_errors_md_is_what_the_code_generates() -> None:
    assert ERRORS_MD_PATH.exists() and ERRORS_MD_PATH.read_text(encoding="utf-8") == render_errors_markdown(), (
        f"docs/errors.md is stale: {REGENERATE}"
    )


# -- (b) routes ---------------------------------------------------------------------------------


def test_every_template_route_is_documented_and_nothing_else(openapi) -> None:  # noqa: ANN001
    documented = {(method, path) for method, path, _ in operations_of(openapi).values()}
    assert documented == {(r.method, r.path) for r in http_routes()}


def test_operation_ids_name_the_function_and_method(openapi) -> None:  # noqa: ANN001
    ops = operations_of(openapi)
    tags = [t["name"] for t in openapi["tags"]]
    for route in http_routes():
        op = openapi["paths"][route.path][route.method.lower()]
        assert op["operationId"] == operation_id(route) == f"{route.function}{route.method.capitalize()}"
        assert op["x-pushgate-function"] == route.function
        assert op["summary"] and op["tags"] and set(op["tags"]) <= set(tags)
    assert len(ops) == len(http_routes())


def _with_route(template: dict[str, Any], function: str, name: str, method: str, path: str) -> dict[str, Any]:
    template = copy.deepcopy(template)
    template["Resources"][function]["Properties"]["Events"][name] = {
        "Type": "HttpApi", "Properties": {"ApiId": {"Ref": "HttpApi"}, "Path": path, "Method": method},
    }
    return template


def test_a_route_added_to_the_template_without_documentation_fails_generation() -> None:
    template = _with_route(load_template(), "ListTopicsFunction", "Broadcast", "POST", "/v2/broadcast")
    template = _with_route(template, "GetDeviceFunction", "Status", "get", "/status/{status_id}")
    with pytest.raises(UndocumentedRoutesError) as raised:
        build_openapi(template)
    message = str(raised.value)
    assert "POST /v2/broadcast (ListTopicsFunction)" in message and "GET /status/{status_id} (GetDeviceFunction)" in message
    assert "src/pushgate_docs/operations.py" in message


def test_a_documented_route_gone_from_the_template_fails_generation() -> None:
    template = copy.deepcopy(load_template())
    del template["Resources"]["ChannelSubscriptionDeleteFunction"]["Properties"]["Events"]["Delete"]
    with pytest.raises(UndocumentedRoutesError, match=re.escape("DELETE /user/v1/channels/{channel_id}/subscriptions")):
        build_openapi(template)


def test_the_docs_package_stays_out_of_the_lambda_code() -> None:
    for root in (REPO_ROOT / "layers", REPO_ROOT / "functions"):
        for source in root.rglob("*.py"):
            assert "pushgate_docs" not in source.read_text(encoding="utf-8"), f"{source} imports the docs package"


# -- (c) validity -------------------------------------------------------------------------------------


def test_the_document_is_valid_openapi_3_1(openapi) -> None:  # noqa: ANN001
    assert openapi["openapi"].startswith("3.1.")
    validate(openapi, cls=OpenAPIV31SpecValidator)


def test_the_committed_document_is_valid_openapi_3_1() -> None:
    validate(json.loads(OPENAPI_PATH.read_text(encoding="utf-8")), cls=OpenAPIV31SpecValidator)


def test_component_schemas_are_valid_and_their_examples_conform(openapi) -> None:  # noqa: ANN001
    for name, schema in openapi["components"]["schemas"].items():
        Draft202012Validator.check_schema(schema)
        for example in schema.get("examples", []):
            errors = [e.message for e in validator(openapi, schema).iter_errors(example)]
            assert not errors, f"{name} example {example}: {errors}"


def test_every_ref_resolves(openapi) -> None:  # noqa: ANN001
    refs = re.findall(r'"\$ref": "#/([^"]+)"', dumps(openapi))
    assert refs
    for ref in refs:
        node: Any = openapi
        for part in ref.split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


def test_every_operation_documents_its_errors_and_auth(openapi) -> None:  # noqa: ANN001
    schemes = openapi["components"]["securitySchemes"]
    for op_id, (method, path, op) in operations_of(openapi).items():
        spec = BY_ROUTE[method, path]
        for entry in spec.errors:
            assert str(entry.status) in op["responses"], f"{op_id}: {entry.code} {entry.status}"
            assert f"`{entry.code}`" in op["description"], f"{op_id}: {entry.code} not in the description"
        for requirement in op.get("security", []):
            assert set(requirement) <= set(schemes)
        if spec.surface is ACCOUNT:
            assert "security" not in op
            names = {p["name"] for p in op["parameters"] if p["in"] == "query"}
            assert "session_id" in names
    expected = {
        "SecretApiKey": ("query", "api_key"), "ImClientKey": ("header", "IM-CLIENT-KEY"),
        "ImAuthorization": ("header", "IM-Authorization"), "ImApiKey": ("header", "IM-API-KEY"),
        "NotiflowsApiKey": ("header", "x-notiflows-api-key"), "NotiflowsUserKey": ("header", "x-notiflows-user-key"),
    }
    for name, (where, header) in expected.items():
        assert (schemes[name]["type"], schemes[name]["in"], schemes[name]["name"]) == ("apiKey", where, header)


def test_account_error_numbers_are_described(openapi) -> None:  # noqa: ANN001
    subscribe = openapi["paths"]["/{account_id}/push_subscribe"]["get"]["description"]
    unsubscribe = openapi["paths"]["/{account_id}/push_unsubscribe"]["post"]["description"]
    assert all(f"`{n}`" in subscribe for n in range(8501, 8511))
    assert all(f"`{n}`" in unsubscribe for n in (8601, 8602))


def test_documented_enums_match_the_code() -> None:
    from pushgate.models import DeviceType, SubscriptionStatus
    from pushgate_docs.models import DeviceTypeName, SubscriptionStatusName

    assert set(get_args(DeviceTypeName)) == {t.value for t in DeviceType}
    assert set(get_args(SubscriptionStatusName)) == {s.value for s in SubscriptionStatus}


# -- the error catalog against the envelope mappers ----------------------------------------------


def _domain_errors() -> list[Exception]:
    from pushgate import errors

    fields = ("endpoint", "p256dh", "auth", "type", "deviceId", "token", "topics", "topic", "identifier", "settings",
              "settings.endpoint", "channel_id", "user_id", "ttl", "clientId", "subscription", "sub", "to",
              "notification.title", "urgency", "time_to_live", "collapse_key")
    kinds = (errors.FieldMissing, errors.FieldTooLong, errors.InvalidEndpoint, errors.InvalidP256dh,
             errors.InvalidAuthSecret, errors.InvalidValue)
    return [
        errors.Unauthenticated(), errors.Forbidden(), errors.BodyTooLarge(), errors.MalformedBody(),
        errors.OwnedByAnotherUser(), errors.NotFound("channel"), errors.NotFound("push"), errors.ConcurrentUpdate(),
        errors.UnknownDeviceToken(), errors.InvalidCursor(), errors.PayloadTooLarge(),
        errors.InvalidValue("channel_id", "invalid_uuid"), errors.RateLimited("send", 3), RuntimeError("unexpected"),
        *[kind(name) for kind in kinds for name in fields],
        *[kind(name, "some detail") for kind in kinds for name in fields],
    ]


def _mappers() -> list[tuple[str, Callable[..., Any], Surface]]:
    from pushgate.http import envelopes

    return [
        ("account_subscribe_errors", envelopes.account_subscribe_errors, ACCOUNT),
        ("account_unsubscribe_errors", envelopes.account_unsubscribe_errors, ACCOUNT),
        ("pushy_errors", envelopes.pushy_errors, SERVER),
        ("imkit_errors", envelopes.imkit_errors, DEVICE),
        ("notiflows_errors", envelopes.notiflows_errors, CHANNEL),
    ]


def _catalog_entry(surface: Surface, status: int, body: dict[str, Any]) -> ErrorCode:
    code = {ACCOUNT: lambda b: b["error_no"], SERVER: lambda b: b["code"]}.get(surface, lambda b: b["error"]["code"])(body)
    matches = [e for e in ERRORS if e.surface is surface and e.code == code and e.status == status]
    assert matches, f"{surface.key}: {status} {body} is not in src/pushgate_docs/catalog.py"
    return matches[0]


def test_every_answer_of_the_envelope_mappers_is_in_the_catalog(openapi, caplog) -> None:  # noqa: ANN001
    event = {"headers": {"x-request-id": "req-test"}, "requestContext": {"requestId": "abc="}}
    envelopes_by_surface = {s: {"$ref": f"#/components/schemas/{s.envelope.__name__}"} for s in (ACCOUNT, SERVER, DEVICE, CHANNEL)}
    produced: set[ErrorCode] = set()
    for name, mapper, surface in _mappers():
        for error in _domain_errors():
            if surface is CHANNEL and getattr(error, "what", "channel") != "channel":
                continue  # the channel API only ever looks up channels; its message names the resource
            response = mapper(error, event)
            body = json.loads(response.body)
            entry = _catalog_entry(surface, response.status_code, body)
            produced.add(entry)
            problems = [e.message for e in validator(openapi, error_schema(envelopes_by_surface[surface], [entry])).iter_errors(body)]
            assert not problems, f"{name}({error!r}) -> {response.status_code} {body}: {problems}"
    never = [f"{e.surface.key} {e.code} {e.status}" for e in ERRORS if e not in produced]
    assert not never, f"catalog entries no domain error produces: {never}"


def test_the_account_field_error_tables_match_the_catalog() -> None:
    from pushgate.http import envelopes

    subscribe = {*envelopes.ACCOUNT_SUBSCRIBE_FIELD_ERRORS.values(), envelopes.ACCOUNT_OWNED_BY_ANOTHER_USER}
    unsubscribe = set(envelopes.ACCOUNT_UNSUBSCRIBE_FIELD_ERRORS.values())
    catalog = {(e.code, e.message) for e in ERRORS if e.surface is ACCOUNT and e.status == 200}
    assert subscribe | unsubscribe == catalog
    assert {n for n, _ in subscribe} == set(range(8501, 8511)) and {n for n, _ in unsubscribe} == {8601, 8602}


def test_errors_md_has_an_anchor_for_every_code_and_every_channel_error_type() -> None:
    text = render_errors_markdown()
    anchors = re.findall(r'<a id="([^"]+)"></a>', text)
    assert len(anchors) == len(set(anchors)) == len(ERRORS)
    for entry in ERRORS:
        assert entry.anchor in anchors
        if entry.surface is CHANNEL:
            assert entry.anchor == f"{entry.code}-{entry.status}"  # the `type` of the error body links here


# -- (d) the handlers answer what the document says --------------------------------------------------

ENDPOINT = "https://fcm.googleapis.com/fcm/send/contract-alice"
NEW_ENDPOINT = "https://updates.push.services.mozilla.com/wpush/v2/contract-new"
NATIVE_TOKEN = "fcm-contract-token-alice"
TOO_BIG = "x" * (64 * 1024 + 1)


@dataclass
class World:
    """One app with two users: alice has a web subscription (in the app's web push channel), a
    native fcm device `pixel` subscribed to topic `news`; bob has nothing."""

    app: Any
    alice_session: str
    bob_session: str
    alice_jwt: str
    bob_jwt: str
    keys: tuple[str, str]
    push_id: str
    cancelled_push_id: str
    other_secret_key: str
    routes: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def account(self) -> str:
        return str(self.app.app.account_id)

    @property
    def channel(self) -> str:
        return self.app.app.webpush_channel_id

    def event(self, op_id: str, path: dict[str, str] | None = None, query: dict[str, Any] | None = None,
              json_body: Any = None, form: dict[str, str] | None = None, raw: str | None = None,  # noqa: ANN401
              headers: dict[str, str] | None = None) -> dict[str, Any]:
        method, route = self.routes[op_id]
        values = {"account_id": self.account, "channel_id": self.channel, **(path or {})}
        names = re.findall(r"{(\w+)}", route)
        raw_path = route  # HTTP APIs hand the function rawPath percent-decoded (scripts/make_events.py)
        for name in names:
            raw_path = raw_path.replace(f"{{{name}}}", values[name])
        content_type, body = None, None
        if json_body is not None:
            content_type, body = "application/json", json.dumps(json_body)
        elif form is not None:
            content_type, body = "application/x-www-form-urlencoded", urlencode(form)
        elif raw is not None:
            content_type, body = "application/json", raw
        event = http_event(method, route, raw_path, urlencode(query or {}), body=body, content_type=content_type,
                           path_parameters={name: values[name] for name in names} or None)
        if form is not None:  # API Gateway base64-encodes form bodies
            event["body"], event["isBase64Encoded"] = base64.b64encode(body.encode()).decode(), True
        event["headers"].update(headers or {})
        return event

    # credentials of each surface
    @property
    def secret(self) -> dict[str, str]:
        return {"api_key": self.app.secret_key}

    def imkit(self, token: str | None = None) -> dict[str, str]:
        return {"im-client-key": self.app.public_key, "im-authorization": token or self.alice_session}

    def notiflows(self, jwt: str | None = None) -> dict[str, str]:
        return {"x-notiflows-api-key": self.app.public_key, "x-notiflows-user-key": jwt or self.alice_jwt}

    def web(self, endpoint: str = ENDPOINT, session: str | None = None, keys: tuple[str, str] | None = None) -> dict[str, str]:
        p256dh, auth = keys or self.keys
        return {"session_id": session or self.alice_session, "endpoint": endpoint, "key_p256dh": p256dh, "key_auth": auth}


@pytest.fixture
def fanout_queue(aws, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:  # noqa: ANN001
    """The queue POST /push sends to, as the template wires SendPushFunction (FANOUT_QUEUE_URL)."""
    import boto3

    from pushgate import config, wiring

    url = boto3.client("sqs").create_queue(QueueName="pushgate-fanout")["QueueUrl"]
    monkeypatch.setenv("FANOUT_QUEUE_URL", url)
    caches = (config.settings, wiring.push_service, wiring.sqs_client)
    for cache in caches:
        cache.cache_clear()
    yield url
    for cache in caches:
        cache.cache_clear()


@pytest.fixture
def world(pushgate, demo_app, fanout_queue, openapi) -> World:  # noqa: ANN001
    from pushgate.models import Caller, DeviceType
    from pushgate.services.subscriptions import Registration, WebSubscription
    from pushgate.wiring import push_service

    keys = browser_keys()
    alice = Caller(app=demo_app.app, user_id="alice")
    pushgate.subscriptions.subscribe_web(alice, WebSubscription.parse(pushgate.subscriptions.policy, ENDPOINT, *keys))
    pushgate.subscriptions.subscribe_device(alice, Registration(type=DeviceType.FCM, token=NATIVE_TOKEN, device_id="pixel"))
    pushgate.topics.subscribe(demo_app.app, NATIVE_TOKEN, ["news"])
    cancelled = push_service().create(demo_app.app, {"to": "/topics/news", "data": {"n": 2}})
    push_service().cancel(demo_app.app, cancelled)
    return World(
        app=demo_app,
        alice_session=pushgate.sessions.create(demo_app.app, "alice")[0],
        bob_session=pushgate.sessions.create(demo_app.app, "bob")[0],
        alice_jwt=user_jwt(demo_app.user_token_private_key, "alice"),
        bob_jwt=user_jwt(demo_app.user_token_private_key, "bob"),
        keys=keys,
        push_id=push_service().create(demo_app.app, {"to": "/topics/news", "notification": {"title": "t", "body": "b"}}),
        cancelled_push_id=cancelled,
        other_secret_key=pushgate.apps().create_app("other").secret_key,
        routes={op_id: (method, path) for op_id, (method, path, _) in operations_of(openapi).items()},
    )


@dataclass(frozen=True)
class Case:
    operation: str  # operationId
    name: str
    status: int
    code: int | str | None  # the error code expected, None on success
    request: Callable[[World], dict[str, Any]]
    fault: str | None = None  # "crash": an unexpected exception; "busy": concurrent updates never settle

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.status}-{self.code or 'ok'}-{self.name}"


def _cases() -> list[Case]:
    sub_get, sub_post = "AccountPushSubscribeFunctionGet", "AccountPushSubscribeFunctionPost"
    unsub_get, unsub_post = "AccountPushUnsubscribeFunctionGet", "AccountPushUnsubscribeFunctionPost"
    session, dev_sub, dev_unsub = "CreateSessionFunctionPost", "DeviceSubscribeFunctionPost", "DeviceUnsubscribeFunctionPost"
    t_sub, t_unsub, t_list = "TopicsSubscribeFunctionPost", "TopicsUnsubscribeFunctionPost", "ListTopicsFunctionGet"
    t_subscribers, device = "TopicSubscribersFunctionGet", "GetDeviceFunctionGet"
    ch_upsert, ch_list, ch_delete = ("ChannelSubscriptionUpsertFunctionPost", "ChannelSubscriptionListFunctionGet",
                                     "ChannelSubscriptionDeleteFunctionDelete")
    unknown_channel = str(uuid.UUID(int=1))
    cases = []

    def case(op: str, name: str, status: int, code: int | str | None, request: Callable[[World], dict[str, Any]],
             fault: str | None = None) -> None:
        cases.append(Case(op, name, status, code, request, fault))

    # §2 account API, in each form
    for op in (sub_get, sub_post):
        def send(w: World, fields: dict[str, Any], op: str = op, **kw: Any) -> dict[str, Any]:  # noqa: ANN401
            return w.event(op, query=fields, **kw) if op == sub_get else w.event(op, json_body=fields, **kw)

        case(op, "subscribe", 200, None, lambda w, send=send: send(w, w.web(NEW_ENDPOINT)))
        case(op, "reactivate", 200, None, lambda w, send=send: send(w, w.web()))
        case(op, "user-jwt", 200, None, lambda w, send=send: send(w, w.web(NEW_ENDPOINT, session=w.bob_jwt)))
        case(op, "missing-endpoint", 200, 8501, lambda w, send=send: send(w, {**w.web(), "endpoint": ""}))
        case(op, "missing-p256dh", 200, 8502, lambda w, send=send: send(w, {**w.web(), "key_p256dh": None} if op == sub_post else {k: v for k, v in w.web().items() if k != "key_p256dh"}))
        case(op, "long-auth", 200, 8506, lambda w, send=send: send(w, {**w.web(), "key_auth": "A" * 256}))
        case(op, "not-push-service", 200, 8507, lambda w, send=send: send(w, w.web("https://169.254.169.254/latest/meta-data")))
        case(op, "bad-p256dh", 200, 8508, lambda w, send=send: send(w, {**w.web(), "key_p256dh": "BAAA" + "A" * 83}))
        case(op, "bad-auth", 200, 8509, lambda w, send=send: send(w, {**w.web(), "key_auth": "AAAA"}))
        case(op, "another-users-endpoint", 200, 8510, lambda w, send=send: send(w, w.web(session=w.bob_session, keys=browser_keys())))
        case(op, "malformed", 400, 400, lambda w, op=op: w.event(op, query={"session_id": w.alice_session}, raw="[1, 2]"))
        case(op, "forged-session", 401, 401, lambda w, send=send: send(w, w.web(session="ses_forged")))
        case(op, "other-account", 403, 403, lambda w, send=send: send(w, w.web(), path={"account_id": "999999"}))
        case(op, "too-large", 413, 413, lambda w, op=op: w.event(op, query=w.web(), raw=TOO_BIG))
        case(op, "busy", 503, 503, lambda w, send=send: send(w, w.web(NEW_ENDPOINT)), fault="busy")
        case(op, "crash", 500, 500, lambda w, send=send: send(w, w.web()), fault="crash")
    case(sub_post, "form", 200, None, lambda w: w.event(sub_post, form=w.web(NEW_ENDPOINT)))
    case(sub_post, "form-missing-auth", 200, 8503, lambda w: w.event(sub_post, form={**w.web(), "key_auth": ""}))
    case(sub_post, "query-and-body", 200, None, lambda w: w.event(sub_post, query={"session_id": w.alice_session}, json_body={k: v for k, v in w.web().items() if k != "session_id"}))
    case(sub_post, "long-endpoint", 200, 8504, lambda w: w.event(sub_post, json_body=w.web("https://fcm.googleapis.com/" + "a" * 1000)))
    case(sub_post, "long-p256dh", 200, 8505, lambda w: w.event(sub_post, json_body={**w.web(), "key_p256dh": "B" * 256}))

    for op in (unsub_get, unsub_post):
        def send(w: World, fields: dict[str, Any], op: str = op, **kw: Any) -> dict[str, Any]:  # noqa: ANN401
            return w.event(op, query=fields, **kw) if op == unsub_get else w.event(op, json_body=fields, **kw)

        case(op, "unsubscribe", 200, None, lambda w, send=send: send(w, {"session_id": w.alice_session, "endpoint": ENDPOINT}))
        case(op, "nothing-matched", 200, None, lambda w, send=send: send(w, {"session_id": w.bob_session, "endpoint": ENDPOINT}))
        case(op, "missing-endpoint", 200, 8601, lambda w, send=send: send(w, {"session_id": w.alice_session}))
        case(op, "long-endpoint", 200, 8602, lambda w, send=send: send(w, {"session_id": w.alice_session, "endpoint": "https://x/" + "a" * 1100}))
        case(op, "malformed", 400, 400, lambda w, op=op: w.event(op, query={"session_id": w.alice_session}, raw="{not json"))
        case(op, "no-session", 401, 401, lambda w, send=send: send(w, {"endpoint": ENDPOINT}))
        case(op, "other-account", 403, 403, lambda w, send=send: send(w, {"session_id": w.alice_session, "endpoint": ENDPOINT}, path={"account_id": "999999"}))
        case(op, "too-large", 413, 413, lambda w, op=op: w.event(op, query={"session_id": w.alice_session}, raw=TOO_BIG))
        case(op, "crash", 500, 500, lambda w, send=send: send(w, {"session_id": w.alice_session, "endpoint": ENDPOINT}), fault="crash")
    case(unsub_post, "form", 200, None, lambda w: w.event(unsub_post, form={"session_id": w.alice_session, "endpoint": ENDPOINT}))
    case(unsub_post, "not-a-string", 200, 8601, lambda w: w.event(unsub_post, json_body={"session_id": w.alice_session, "endpoint": ["x"]}))

    # §0 POST /sessions
    case(session, "create", 201, None, lambda w: w.event(session, query=w.secret, json_body={"user_id": "user-42", "ttl": 3600}))
    case(session, "default-ttl", 201, None, lambda w: w.event(session, query=w.secret, json_body={"user_id": "user-42"}))
    case(session, "public-key", 401, "INVALID_API_KEY", lambda w: w.event(session, query={"api_key": w.app.public_key}, json_body={"user_id": "u"}))
    case(session, "bad-ttl", 400, "INVALID_PARAM", lambda w: w.event(session, query=w.secret, json_body={"user_id": "u", "ttl": 10}))
    case(session, "not-json", 400, "INVALID_PARAM", lambda w: w.event(session, query=w.secret, raw="user_id=u"))
    case(session, "too-large", 400, "PAYLOAD_TOO_LARGE", lambda w: w.event(session, query=w.secret, raw=TOO_BIG))
    case(session, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(session, query=w.secret, json_body={"user_id": "u"}), fault="crash")

    # §3 device API
    web_device = {"type": "web", "deviceId": "browser-1"}
    case(dev_sub, "native", 200, None, lambda w: w.event(dev_sub, headers=w.imkit(), json_body={"type": "android", "deviceId": "tablet", "token": "android-token-1"}))
    case(dev_sub, "web-jwt-bearer", 200, None, lambda w: w.event(dev_sub, headers=w.imkit("Bearer " + w.alice_jwt), json_body={**web_device, "subscription": {"endpoint": NEW_ENDPOINT, "keys": dict(zip(("p256dh", "auth"), w.keys, strict=True)), "expirationTime": None}}))
    case(dev_sub, "server-side", 200, None, lambda w: w.event(dev_sub, headers={"im-api-key": w.app.secret_key}, json_body={"type": "ios", "deviceId": "iphone", "token": "apns-token-1", "clientId": "carol"}))
    case(dev_sub, "bad-client-key", 401, "INVALID_TOKEN", lambda w: w.event(dev_sub, headers={**w.imkit(), "im-client-key": "pk_wrong"}, json_body={"type": "fcm", "deviceId": "d", "token": "t"}))
    case(dev_sub, "missing-device-id", 400, "MISSING_PARAMETER", lambda w: w.event(dev_sub, headers=w.imkit(), json_body={"type": "fcm", "token": "t"}))
    case(dev_sub, "bad-type", 400, "INVALID_PARAMETER", lambda w: w.event(dev_sub, headers=w.imkit(), json_body={"type": "pager", "deviceId": "d", "token": "t"}))
    case(dev_sub, "bad-keys", 400, "INVALID_PARAMETER", lambda w: w.event(dev_sub, headers=w.imkit(), json_body={**web_device, "subscription": {"endpoint": NEW_ENDPOINT, "keys": {"p256dh": "x", "auth": "y"}}}))
    case(dev_sub, "missing-client-id", 400, "INVALID_PARAMETER", lambda w: w.event(dev_sub, headers={"im-api-key": w.app.secret_key}, json_body={"type": "fcm", "deviceId": "d", "token": "t"}))
    case(dev_sub, "not-json", 400, "INVALID_PARAMETER", lambda w: w.event(dev_sub, headers=w.imkit(), raw="[]"))
    case(dev_sub, "another-users-token", 409, "DEVICE_OWNED_BY_ANOTHER_USER", lambda w: w.event(dev_sub, headers=w.imkit(w.bob_session), json_body={"type": "fcm", "deviceId": "bobs", "token": NATIVE_TOKEN}))
    case(dev_sub, "too-large", 413, "PAYLOAD_TOO_LARGE", lambda w: w.event(dev_sub, headers=w.imkit(), raw=TOO_BIG))
    case(dev_sub, "busy", 503, "BUSY", lambda w: w.event(dev_sub, headers=w.imkit(), json_body={"type": "fcm", "deviceId": "d", "token": "t"}), fault="busy")
    case(dev_sub, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(dev_sub, headers=w.imkit(), json_body={"type": "fcm", "deviceId": "d", "token": "t"}), fault="crash")

    case(dev_unsub, "removed", 200, None, lambda w: w.event(dev_unsub, headers=w.imkit(), json_body={"type": "fcm", "deviceId": "pixel"}))
    case(dev_unsub, "nothing", 200, None, lambda w: w.event(dev_unsub, headers=w.imkit(), json_body={"type": "fcm", "deviceId": "never"}))
    case(dev_unsub, "server-side", 200, None, lambda w: w.event(dev_unsub, headers={"im-api-key": w.app.secret_key}, json_body={"type": "fcm", "deviceId": "pixel", "clientId": "alice"}))
    case(dev_unsub, "expired-session", 401, "INVALID_TOKEN", lambda w: w.event(dev_unsub, headers=w.imkit("ses_unknown"), json_body={"type": "fcm", "deviceId": "pixel"}))
    case(dev_unsub, "missing-type", 400, "MISSING_PARAMETER", lambda w: w.event(dev_unsub, headers=w.imkit(), json_body={"deviceId": "pixel"}))
    case(dev_unsub, "bad-type", 400, "INVALID_PARAMETER", lambda w: w.event(dev_unsub, headers=w.imkit(), json_body={"type": "pager", "deviceId": "pixel"}))
    case(dev_unsub, "too-large", 413, "PAYLOAD_TOO_LARGE", lambda w: w.event(dev_unsub, headers=w.imkit(), raw=TOO_BIG))
    case(dev_unsub, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(dev_unsub, headers=w.imkit(), json_body={"type": "fcm", "deviceId": "pixel"}), fault="crash")

    # §4 topics API
    for op, topics in ((t_sub, ["sports", "news"]), (t_unsub, ["*"])):
        case(op, "native-token", 200, None, lambda w, op=op, topics=topics: w.event(op, query=w.secret, json_body={"token": NATIVE_TOKEN, "topics": topics}))
        case(op, "web-token", 200, None, lambda w, op=op: w.event(op, query=w.secret, json_body={"token": ENDPOINT, "topics": ["news"]}))
        case(op, "no-key", 401, "INVALID_API_KEY", lambda w, op=op: w.event(op, json_body={"token": NATIVE_TOKEN, "topics": ["news"]}))
        case(op, "unknown-token", 400, "INVALID_DEVICE_TOKEN", lambda w, op=op: w.event(op, query=w.secret, json_body={"token": "nope", "topics": ["news"]}))
        case(op, "bad-topic", 400, "INVALID_PARAM", lambda w, op=op: w.event(op, query=w.secret, json_body={"token": NATIVE_TOKEN, "topics": ["bad topic"]}))
        case(op, "too-large", 400, "PAYLOAD_TOO_LARGE", lambda w, op=op: w.event(op, query=w.secret, raw=TOO_BIG))
        case(op, "crash", 500, "INTERNAL_ERROR", lambda w, op=op: w.event(op, query=w.secret, json_body={"token": NATIVE_TOKEN, "topics": ["news"]}), fault="crash")
    case(t_list, "list", 200, None, lambda w: w.event(t_list, query=w.secret))
    case(t_list, "public-key", 401, "INVALID_API_KEY", lambda w: w.event(t_list, query={"api_key": w.app.public_key}))
    case(t_list, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(t_list, query=w.secret), fault="crash")
    u_list, u_delete, my_devices = "ListUserSubscriptionsFunctionGet", "DeleteUserFunctionDelete", "ListMyDevicesFunctionGet"
    case(u_list, "page", 200, None, lambda w: w.event(u_list, path={"user_id": "alice"}, query=w.secret))
    case(u_list, "nobody", 200, None, lambda w: w.event(u_list, path={"user_id": "nobody"}, query=w.secret))
    case(u_list, "no-key", 401, "INVALID_API_KEY", lambda w: w.event(u_list, path={"user_id": "alice"}))
    case(u_list, "bad-cursor", 400, "INVALID_PARAM", lambda w: w.event(u_list, path={"user_id": "alice"}, query={**w.secret, "cursor": "!!"}))
    case(u_list, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(u_list, path={"user_id": "alice"}, query=w.secret), fault="crash")
    case(u_delete, "erased", 200, None, lambda w: w.event(u_delete, path={"user_id": "alice"}, query=w.secret))
    case(u_delete, "no-key", 401, "INVALID_API_KEY", lambda w: w.event(u_delete, path={"user_id": "alice"}, query={"api_key": w.app.public_key}))
    case(u_delete, "long-user", 400, "INVALID_PARAM", lambda w: w.event(u_delete, path={"user_id": "u" * 257}, query=w.secret))
    case(u_delete, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(u_delete, path={"user_id": "alice"}, query=w.secret), fault="crash")
    case(my_devices, "client-side", 200, None, lambda w: w.event(my_devices, headers=w.imkit()))
    case(my_devices, "server-side", 200, None, lambda w: w.event(my_devices, headers={"im-api-key": w.app.secret_key}, query={"clientId": "alice"}))
    case(my_devices, "expired-session", 401, "INVALID_TOKEN", lambda w: w.event(my_devices, headers=w.imkit("ses_unknown")))
    case(my_devices, "no-client-id", 400, "INVALID_PARAMETER", lambda w: w.event(my_devices, headers={"im-api-key": w.app.secret_key}))
    case(my_devices, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(my_devices, headers=w.imkit()), fault="crash")
    case(t_subscribers, "page", 200, None, lambda w: w.event(t_subscribers, path={"topic": "news"}, query=w.secret))
    case(t_subscribers, "empty", 200, None, lambda w: w.event(t_subscribers, path={"topic": "nobody.here"}, query=w.secret))
    case(t_subscribers, "no-key", 401, "INVALID_API_KEY", lambda w: w.event(t_subscribers, path={"topic": "news"}))
    case(t_subscribers, "bad-cursor", 400, "INVALID_PARAM", lambda w: w.event(t_subscribers, path={"topic": "news"}, query={**w.secret, "cursor": "!!"}))
    case(t_subscribers, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(t_subscribers, path={"topic": "news"}, query=w.secret), fault="crash")
    case(device, "native", 200, None, lambda w: w.event(device, path={"token": NATIVE_TOKEN}, query=w.secret))
    case(device, "web-endpoint", 200, None, lambda w: w.event(device, path={"token": ENDPOINT}, query=w.secret))
    case(device, "no-key", 401, "INVALID_API_KEY", lambda w: w.event(device, path={"token": NATIVE_TOKEN}))
    case(device, "unknown", 400, "INVALID_DEVICE_TOKEN", lambda w: w.event(device, path={"token": "nope"}, query=w.secret))
    case(device, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(device, path={"token": NATIVE_TOKEN}, query=w.secret), fault="crash")

    send, get_push, cancel = "SendPushFunctionPost", "GetPushFunctionGet", "CancelPushFunctionDelete"
    notification = {"title": "Hello", "body": "World", "url": "https://example.com/"}
    case(send, "topic", 200, None, lambda w: w.event(send, query=w.secret, json_body={"to": "/topics/news", "notification": notification}))
    case(send, "user", 200, None, lambda w: w.event(send, query=w.secret, json_body={"to": "/users/alice", "data": {"n": 1}, "urgency": "high", "time_to_live": 60, "collapse_key": "k"}))
    case(send, "tokens", 200, None, lambda w: w.event(send, query=w.secret, json_body={"to": [NATIVE_TOKEN, ENDPOINT, "unknown"], "data": "x"}))
    case(send, "secret-key-only", 401, "INVALID_API_KEY", lambda w: w.event(send, query={"api_key": w.app.public_key}, json_body={"to": "/topics/news"}))
    case(send, "missing-to", 400, "INVALID_PARAM", lambda w: w.event(send, query=w.secret, json_body={"data": 1}))
    case(send, "bad-urgency", 400, "INVALID_PARAM", lambda w: w.event(send, query=w.secret, json_body={"to": "/topics/news", "urgency": "asap"}))
    case(send, "payload-over-3993-bytes", 400, "PAYLOAD_TOO_LARGE", lambda w: w.event(send, query=w.secret, json_body={"to": "/topics/news", "data": "x" * 4000}))
    case(send, "body-over-64-kib", 400, "PAYLOAD_TOO_LARGE", lambda w: w.event(send, query=w.secret, raw=TOO_BIG))
    case(send, "crash", 500, "INTERNAL_ERROR", lambda w: w.event(send, query=w.secret, json_body={"to": "/topics/news"}), fault="crash")
    for op in (get_push, cancel):
        case(op, "known", 200, None, lambda w, op=op: w.event(op, path={"push_id": w.push_id}, query=w.secret))
        case(op, "no-key", 401, "INVALID_API_KEY", lambda w, op=op: w.event(op, path={"push_id": w.push_id}))
        case(op, "unknown", 404, "INVALID_PUSH_ID", lambda w, op=op: w.event(op, path={"push_id": "0" * 26}, query=w.secret))
        case(op, "other-apps-key", 404, "INVALID_PUSH_ID", lambda w, op=op: w.event(op, path={"push_id": w.push_id}, query={"api_key": w.other_secret_key}))
        case(op, "crash", 500, "INTERNAL_ERROR", lambda w, op=op: w.event(op, path={"push_id": w.push_id}, query=w.secret), fault="crash")
    case(get_push, "cancelled", 200, None, lambda w: w.event(get_push, path={"push_id": w.cancelled_push_id}, query=w.secret))

    # §5 channel subscriptions API
    def settings(w: World, keys: tuple[str, str] | None = None, **extra: str) -> dict[str, str]:
        p256dh, auth = keys or w.keys
        return {"p256dh": p256dh, "auth": auth, **extra}

    case(ch_upsert, "created", 201, None, lambda w: w.event(ch_upsert, headers=w.notiflows(), json_body={"identifier": NEW_ENDPOINT, "settings": settings(w, browser_keys())}))
    case(ch_upsert, "updated", 200, None, lambda w: w.event(ch_upsert, headers={**w.notiflows(), "x-request-id": "client-id-1"}, json_body={"identifier": ENDPOINT, "settings": settings(w, endpoint=ENDPOINT)}))
    case(ch_upsert, "not-uuid", 400, "bad_request", lambda w: w.event(ch_upsert, path={"channel_id": "not-a-uuid"}, headers=w.notiflows(), json_body={"identifier": ENDPOINT, "settings": settings(w)}))
    case(ch_upsert, "bad-field", 400, "bad_request", lambda w: w.event(ch_upsert, headers=w.notiflows(), json_body={"identifier": ENDPOINT, "settings": {"p256dh": "x", "auth": "y"}}))
    case(ch_upsert, "endpoint-differs", 400, "bad_request", lambda w: w.event(ch_upsert, headers=w.notiflows(), json_body={"identifier": ENDPOINT, "settings": settings(w, endpoint=NEW_ENDPOINT)}))
    case(ch_upsert, "not-json", 400, "bad_request", lambda w: w.event(ch_upsert, headers=w.notiflows(), raw="{"))
    case(ch_upsert, "no-user-key", 401, "unauthenticated", lambda w: w.event(ch_upsert, headers={"x-notiflows-api-key": w.app.public_key}, json_body={"identifier": ENDPOINT, "settings": settings(w)}))
    case(ch_upsert, "user-id-outside-development-mode", 401, "unauthenticated", lambda w: w.event(ch_upsert, headers={"x-notiflows-api-key": w.app.public_key, "x-notiflows-user-id": "alice"}, json_body={"identifier": ENDPOINT, "settings": settings(w)}))
    case(ch_upsert, "unknown-channel", 404, "not_found", lambda w: w.event(ch_upsert, path={"channel_id": unknown_channel}, headers=w.notiflows(), json_body={"identifier": ENDPOINT, "settings": settings(w)}))
    case(ch_upsert, "another-users-identifier", 409, "conflict", lambda w: w.event(ch_upsert, headers=w.notiflows(w.bob_jwt), json_body={"identifier": ENDPOINT, "settings": settings(w, browser_keys())}))
    case(ch_upsert, "too-large", 413, "payload_too_large", lambda w: w.event(ch_upsert, headers=w.notiflows(), raw=TOO_BIG))
    case(ch_upsert, "busy", 503, "unavailable", lambda w: w.event(ch_upsert, headers=w.notiflows(), json_body={"identifier": NEW_ENDPOINT, "settings": settings(w)}), fault="busy")
    case(ch_upsert, "crash", 500, "internal_error", lambda w: w.event(ch_upsert, headers=w.notiflows(), json_body={"identifier": ENDPOINT, "settings": settings(w)}), fault="crash")
    case(ch_list, "items", 200, None, lambda w: w.event(ch_list, headers=w.notiflows()))
    case(ch_list, "none", 200, None, lambda w: w.event(ch_list, headers=w.notiflows(w.bob_jwt)))
    case(ch_list, "not-uuid", 400, "bad_request", lambda w: w.event(ch_list, path={"channel_id": "42"}, headers=w.notiflows()))
    case(ch_list, "expired-jwt", 401, "unauthenticated", lambda w: w.event(ch_list, headers=w.notiflows(user_jwt(w.app.user_token_private_key, "alice", ttl=-3600))))
    case(ch_list, "unknown-channel", 404, "not_found", lambda w: w.event(ch_list, path={"channel_id": unknown_channel}, headers=w.notiflows()))
    case(ch_list, "crash", 500, "internal_error", lambda w: w.event(ch_list, headers=w.notiflows()), fault="crash")
    case(ch_delete, "removed", 204, None, lambda w: w.event(ch_delete, headers=w.notiflows(), json_body={"identifier": ENDPOINT}))
    case(ch_delete, "absent", 204, None, lambda w: w.event(ch_delete, headers=w.notiflows(w.bob_jwt), json_body={"identifier": ENDPOINT}))
    case(ch_delete, "missing-identifier", 400, "bad_request", lambda w: w.event(ch_delete, headers=w.notiflows(), json_body={}))
    case(ch_delete, "bad-api-key", 401, "unauthenticated", lambda w: w.event(ch_delete, headers={**w.notiflows(), "x-notiflows-api-key": w.app.secret_key}, json_body={"identifier": ENDPOINT}))
    case(ch_delete, "unknown-channel", 404, "not_found", lambda w: w.event(ch_delete, path={"channel_id": unknown_channel}, headers=w.notiflows(), json_body={"identifier": ENDPOINT}))
    case(ch_delete, "too-large", 413, "payload_too_large", lambda w: w.event(ch_delete, headers=w.notiflows(), raw=TOO_BIG))
    case(ch_delete, "crash", 500, "internal_error", lambda w: w.event(ch_delete, headers=w.notiflows(), json_body={"identifier": ENDPOINT}), fault="crash")
    # Every route is rate limited (docs/limits.md): its first success case, past the app's bucket.
    first_success = {c.operation: c for c in reversed(cases) if c.code is None}
    codes = {"Account": 429, "Channel": "rate_limited"}
    for op, success in first_success.items():
        code = next((c for prefix, c in codes.items() if op.startswith(prefix)), "RATE_LIMITED")
        case(op, "rate-limited", 429, code, success.request, fault="limited")
    return cases


CASES = _cases()


def test_the_cases_exercise_every_documented_response_and_code(openapi) -> None:  # noqa: ANN001
    ops = operations_of(openapi)
    assert {c.operation for c in CASES} == set(ops)
    documented = {(op_id, status) for op_id, (_, _, op) in ops.items() for status in op["responses"]}
    exercised = {(c.operation, str(c.status)) for c in CASES}
    assert documented - exercised == set(), "documented responses no case exercises"
    assert exercised - documented == set(), "cases expecting undocumented responses"
    for op_id, (method, path, _) in ops.items():
        codes = {e.code for e in BY_ROUTE[method, path].errors}
        tried = {c.code for c in CASES if c.operation == op_id and c.code is not None}
        assert tried <= codes, f"{op_id}: cases expect codes it does not document: {tried - codes}"
        assert any(c.code is None for c in CASES if c.operation == op_id), f"{op_id}: no success case"


def _handler_module(import_handler, function: str):  # noqa: ANN001, ANN202
    return import_handler(functions()[function].code_uri.name)


def _apply_fault(fault: str | None, monkeypatch: pytest.MonkeyPatch) -> None:
    from pushgate import errors
    from pushgate.wiring import services

    if fault == "busy":
        def busy(*args: Any, **kwargs: Any) -> None:  # noqa: ANN401
            raise errors.ConcurrentUpdate()

        monkeypatch.setattr(services().subscriptions, "register", busy)
    elif fault == "limited":
        from pushgate.repository.limits import BucketDecision
        from pushgate.services.limits import Rate

        # Whatever rates the test environment sets, this request meets an empty bucket.
        monkeypatch.setattr(services().limiter, "rate_for", lambda app, group: Rate(1, 1))
        monkeypatch.setattr(services().repository, "take_token", lambda *args: BucketDecision(False, 1500))
    elif fault == "crash":
        def crash(*args: Any, **kwargs: Any) -> None:  # noqa: ANN401
            raise RuntimeError("unexpected failure (contract test)")

        for name in ("app_for_secret_key", "account_caller", "device_api_caller", "channel_api_caller"):
            monkeypatch.setattr(services().authenticator, name, crash)


def check_response(document: dict[str, Any], op_id: str, response: dict[str, Any]) -> Any:  # noqa: ANN401
    """Asserts the Lambda proxy response is one the document describes; returns the parsed body."""
    _, _, op = operations_of(document)[op_id]
    status = str(response["statusCode"])
    assert status in op["responses"], f"{op_id} answered an undocumented status {status}: {response.get('body')}"
    documented = op["responses"][status]
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for name, header in documented.get("headers", {}).items():
        if "$ref" in header:
            header = document["components"]["headers"][header["$ref"].rsplit("/", 1)[1]]
        if header.get("required"):
            assert headers.get(name.lower()), f"{op_id} {status}: no {name} header"
    content = documented.get("content")
    if not content:
        assert not response.get("body"), f"{op_id} {status} is documented without a body"
        return None
    media = headers.get("content-type", "").split(";")[0].strip()
    assert media in content, f"{op_id} {status}: content-type {media!r} not documented"
    body = json.loads(response["body"])
    problems = [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator(document, content[media]["schema"]).iter_errors(body)]
    assert not problems, f"{op_id} {status} body {body} does not match the documented schema: {problems}"
    return body


def _code_of(body: Any) -> int | str | None:  # noqa: ANN401
    if not isinstance(body, dict):
        return None
    if "error_no" in body:
        return body["error_no"]
    if isinstance(body.get("error"), dict):
        return body["error"]["code"]
    return body.get("code")


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_handler_responses_conform_to_the_document(case, world, openapi, import_handler, lambda_context, monkeypatch) -> None:  # noqa: ANN001
    _, _, op = operations_of(openapi)[case.operation]
    handler = _handler_module(import_handler, op["x-pushgate-function"])
    event = case.request(world)
    _apply_fault(case.fault, monkeypatch)
    response = handler.lambda_handler(event, lambda_context)
    assert response["statusCode"] == case.status, f"{case.id}: {response}"
    body = check_response(openapi, case.operation, response)
    assert _code_of(body) == case.code
    if op["tags"] == ["Channel subscriptions API"]:
        request_id = {k.lower(): v for k, v in response["headers"].items()}["x-request-id"]
        offered = event["headers"].get("x-request-id")
        assert request_id == offered if offered else request_id.startswith("req_")
        if body is not None and "error" in body:
            assert body["error"]["request_id"] == request_id


# -- the HTML view ----------------------------------------------------------------------------------


def test_render_html_shows_every_operation_and_schema_offline(openapi) -> None:  # noqa: ANN001
    page = render_html(openapi)
    assert page.startswith("<!DOCTYPE html>") and page == render_html(openapi)
    for op_id, (method, path, op) in operations_of(openapi).items():
        assert f'id="{op_id}"' in page and f'href="#{op_id}"' in page
        for param in op.get("parameters", []):
            assert f"<code>{param['name']}</code>" in page
    for name in openapi["components"]["schemas"]:
        assert f'id="schema-{name}"' in page
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", page, re.I), "the page must need nothing external"
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page, re.I)
    for anchor in set(re.findall(r'href="#([^"]+)"', page)):
        assert f'id="{anchor}"' in page, f"dangling in-page link #{anchor}"
