"""The topics API handlers (docs/api.md §4 minus /push and /pushes; Pushy style) under moto, fed
the events/ files."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import pytest

from pushgate.identifiers import token_hash
from pushgate.models import Caller, DeviceType
from pushgate.pagination import encode_cursor
from pushgate.services.subscriptions import Registration, WebSubscription
from tests.events import http_request, load_event
from tests.keys import browser_keys
from tests.surfaces import Surfaces, Tenant

SUCCESS = (200, {"success": True})
INVALID_API_KEY = (401, {"code": "INVALID_API_KEY", "error": "The provided API key is invalid."})
INVALID_DEVICE_TOKEN = (400, {"code": "INVALID_DEVICE_TOKEN", "error": "The provided device token is invalid."})
ENDPOINT = "https://fcm.googleapis.com/fcm/send/topics-test"
SAMPLE_TOKEN = json.loads(load_event("http-topics-subscribe.json")["body"])["token"]


def register_web(tenant: Tenant, user: str, endpoint: str = ENDPOINT) -> None:
    """A browser registered through one of the client surfaces (here, the service they all share)."""
    subscriptions = tenant.services.subscriptions
    p256dh, auth = browser_keys()
    subscriptions.subscribe_web(Caller(app=tenant.app, user_id=user), WebSubscription.parse(subscriptions.policy, endpoint, p256dh, auth))


def register_native(tenant: Tenant, user: str, token: str, device_type: DeviceType = DeviceType.FCM) -> None:
    tenant.services.subscriptions.register(Caller(app=tenant.app, user_id=user), Registration(type=device_type, token=token))


def invalid_param(response: tuple[int, Any]) -> bool:
    status, body = response
    return status == 400 and body["code"] == "INVALID_PARAM" and isinstance(body["error"], str) and body["error"]


def test_the_sample_events_subscribe_and_unsubscribe_the_sample_token(surfaces, tenant) -> None:  # noqa: ANN001
    register_web(tenant, "alice", SAMPLE_TOKEN)
    query = {"api_key": tenant.secret_key}
    assert surfaces.http("topics_subscribe", http_request("http-topics-subscribe.json", query=query)) == SUCCESS
    assert surfaces.list_topics(tenant) == {"news": 1, "media": 1}
    status, device = surfaces.http("get_device", http_request("http-get-device.json", query=query))
    assert status == 200 and sorted(device["subscriptions"]) == ["media", "news"]
    status, page = surfaces.http("topic_subscribers", http_request("http-topic-subscribers.json", query=query))
    assert (status, page) == (200, {"subscribers": [SAMPLE_TOKEN], "pagination": None})
    assert surfaces.http("topics_unsubscribe", http_request("http-topics-unsubscribe.json", query=query)) == SUCCESS
    assert surfaces.list_topics(tenant) == {}


def test_counts_are_exact(surfaces, tenant) -> None:  # noqa: ANN001
    register_web(tenant, "alice")
    register_native(tenant, "bob", "fcm-token-bob")
    assert surfaces.topics_subscribe(tenant, ENDPOINT, ["news", "news", "sports"]) == SUCCESS
    assert surfaces.topics_subscribe(tenant, ENDPOINT, ["news"]) == SUCCESS  # already subscribed: no double count
    assert surfaces.topics_subscribe(tenant, "fcm-token-bob", ["news", "News"]) == SUCCESS  # case-sensitive
    assert surfaces.list_topics(tenant) == {"news": 2, "sports": 1, "News": 1}
    assert surfaces.topics_unsubscribe(tenant, ENDPOINT, ["news", "weather"]) == SUCCESS  # weather: never subscribed
    assert surfaces.list_topics(tenant) == {"news": 1, "sports": 1, "News": 1}
    assert surfaces.topics_unsubscribe(tenant, ENDPOINT, ["news"]) == SUCCESS  # again: nothing to remove
    assert surfaces.list_topics(tenant) == {"news": 1, "sports": 1, "News": 1}
    assert surfaces.topics_unsubscribe(tenant, "fcm-token-bob", ["*"]) == SUCCESS
    assert surfaces.list_topics(tenant) == {"sports": 1}
    assert surfaces.get_device(tenant, "fcm-token-bob")[1]["subscriptions"] == []
    assert surfaces.topics_unsubscribe(tenant, ENDPOINT, ["*"]) == SUCCESS
    assert surfaces.list_topics(tenant) == {}
    assert surfaces.topics_unsubscribe(tenant, ENDPOINT, ["*"]) == SUCCESS  # nothing left: still fine


def test_topic_names_at_the_limits(surfaces, tenant) -> None:  # noqa: ANN001
    register_native(tenant, "alice", "limits-token")
    longest = "a-Z_0.9" + "x" * 93
    hundred = [f"topic-{i}" for i in range(99)] + [longest]
    assert surfaces.topics_subscribe(tenant, "limits-token", hundred) == SUCCESS
    counts = surfaces.list_topics(tenant)
    assert len(counts) == 100 and counts[longest] == 1 and set(counts.values()) == {1}
    assert sorted(surfaces.get_device(tenant, "limits-token")[1]["subscriptions"]) == sorted(hundred)


@pytest.mark.parametrize("operation", ["topics_subscribe", "topics_unsubscribe"])
def test_invalid_parameters(surfaces, tenant, operation) -> None:  # noqa: ANN001
    register_native(tenant, "alice", "param-token")
    call = getattr(surfaces, operation)
    bad_topics: list[Any] = [
        None, [], "news", {"news": 1}, [1], [None], ["news", 2], [""], ["has space"], ["a/b"], ["a#b"], ["ünïcode"],
        ["x" * 101], ["news", "*"], [f"t{i}" for i in range(101)],
    ]
    if operation == "topics_subscribe":
        bad_topics.append(["*"])  # the wildcard only unsubscribes
    for topics in bad_topics:
        assert invalid_param(call(tenant, "param-token", topics)), topics
    for token in (None, "", 42, ["param-token"], {"token": "param-token"}):
        assert invalid_param(call(tenant, token, ["news"])), token
    assert surfaces.list_topics(tenant) == {}
    event = http_request(f"http-{operation.replace('_', '-')}.json", query={"api_key": tenant.secret_key}, raw_body="{not json")
    assert invalid_param(surfaces.http(operation, event))
    event = http_request(f"http-{operation.replace('_', '-')}.json", query={"api_key": tenant.secret_key}, raw_body="[]")
    assert invalid_param(surfaces.http(operation, event))


def test_unknown_removed_and_foreign_tokens_are_invalid_device_tokens(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    register_native(other_tenant, "alice", "other-apps-token")
    register_web(tenant, "alice")
    tenant.services.subscriptions.unsubscribe_web(Caller(app=tenant.app, user_id="alice"), ENDPOINT)
    for token in ("never-registered", ENDPOINT, "other-apps-token"):
        assert surfaces.topics_subscribe(tenant, token, ["news"]) == INVALID_DEVICE_TOKEN, token
        assert surfaces.topics_unsubscribe(tenant, token, ["news"]) == INVALID_DEVICE_TOKEN, token
        assert surfaces.topics_unsubscribe(tenant, token, ["*"]) == INVALID_DEVICE_TOKEN, token
    for token in ("never-registered", "other-apps-token"):
        assert surfaces.get_device(tenant, token) == INVALID_DEVICE_TOKEN
    assert surfaces.list_topics(tenant) == {}
    # The other app sees its own token, and nothing of this app's.
    assert surfaces.topics_subscribe(other_tenant, "other-apps-token", ["news"]) == SUCCESS
    assert surfaces.list_topics(other_tenant) == {"news": 1} and surfaces.list_topics(tenant) == {}


def test_only_the_apps_secret_key_is_accepted(surfaces, tenant) -> None:  # noqa: ANN001
    register_native(tenant, "alice", "key-token")
    events = {
        "topics_subscribe": "http-topics-subscribe.json",
        "topics_unsubscribe": "http-topics-unsubscribe.json",
        "list_topics": "http-list-topics.json",
        "topic_subscribers": "http-topic-subscribers.json",
        "get_device": "http-get-device.json",
    }
    for key in (None, "", "sk_unknown", tenant.public_key, tenant.secret_key.upper(), tenant.secret_key + " "):
        for function, event_name in events.items():
            event = http_request(event_name, query={"api_key": key})
            assert surfaces.http(function, event) == INVALID_API_KEY, (function, key)
    # The key goes in the query string, not a header.
    event = http_request("http-list-topics.json", query={}, headers={"authorization": tenant.secret_key, "x-api-key": tenant.secret_key})
    assert surfaces.http("list_topics", event) == INVALID_API_KEY


def test_counts_follow_removals_through_the_other_surfaces(surfaces, tenant) -> None:  # noqa: ANN001
    """A device removed through §1, §2, §3 or §5 leaves its topics; their counts drop at once."""
    keys = {name: browser_keys() for name in ("ws", "account", "device", "channel")}
    endpoints = {name: f"https://fcm.googleapis.com/fcm/send/{name}" for name in keys}
    connection = surfaces.ws_open(tenant, "alice")
    assert surfaces.ws_subscribe(connection, endpoints["ws"], keys["ws"])["cmd"] == "push_subscribed"
    assert surfaces.account_subscribe(tenant, "alice", endpoints["account"], keys["account"])[0] == 200
    assert surfaces.device_subscribe_web(tenant, "alice", "laptop", endpoints["device"], keys["device"])[0] == 200
    assert surfaces.channel_upsert(tenant, "alice", endpoints["channel"], keys["channel"])[0] == 201
    for endpoint in endpoints.values():
        assert surfaces.topics_subscribe(tenant, endpoint, ["all", "web"]) == SUCCESS
    assert surfaces.list_topics(tenant) == {"all": 4, "web": 4}

    assert surfaces.ws_unsubscribe(connection, endpoints["ws"]) == {"cmd": "push_unsubscribed", "success": True}
    assert surfaces.list_topics(tenant) == {"all": 3, "web": 3}
    assert surfaces.account_unsubscribe(tenant, "alice", endpoints["account"]) == (200, {"data": {"operation_status": "SUCCESS"}})
    assert surfaces.list_topics(tenant) == {"all": 2, "web": 2}
    assert surfaces.device_unsubscribe(tenant, "alice", "web", "laptop")[1]["result"]["n"] == 1
    assert surfaces.list_topics(tenant) == {"all": 1, "web": 1}
    assert surfaces.channel_delete(tenant, "alice", endpoints["channel"])[0] == 204
    assert surfaces.list_topics(tenant) == {}
    for endpoint in endpoints.values():
        status, device = surfaces.get_device(tenant, endpoint)
        assert (status, device["device"]["status"], device["subscriptions"]) == (200, "REMOVED", [])
        assert surfaces.topics_subscribe(tenant, endpoint, ["all"]) == INVALID_DEVICE_TOKEN


def test_get_device_of_a_web_subscription_by_its_url_encoded_endpoint(surfaces, tenant) -> None:  # noqa: ANN001
    endpoint = "https://updates.push.services.mozilla.com/wpush/v2/gAAAAABl-example_token=="
    register_web(tenant, "alice", endpoint)
    surfaces.topics_subscribe(tenant, endpoint, ["news", "sports"])
    created = tenant.services.repository.get_device(tenant.app_id, token_hash(endpoint)).created_at
    status, body = surfaces.get_device(tenant, endpoint)
    assert status == 200
    assert body["device"] == {"type": "web", "user_id": "alice", "status": "ACTIVE", "date": created}
    assert sorted(body["subscriptions"]) == ["news", "sports"]
    # A gateway that leaves the path percent-encoded (REST API, function URL) still reaches the same device.
    event = http_request("http-get-device.json", path_parameters={"token": endpoint}, query={"api_key": tenant.secret_key})
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/devices/" + quote(endpoint, safe="")
    assert surfaces.http("get_device", event) == (200, body)


def test_get_device_of_a_native_token(surfaces, tenant) -> None:  # noqa: ANN001
    register_native(tenant, "bob", "apns-" + "f" * 59, DeviceType.IOS_VOIP)
    status, body = surfaces.get_device(tenant, "apns-" + "f" * 59)
    assert status == 200 and body["device"]["type"] == "ios-voip" and body["device"]["user_id"] == "bob"
    assert body["subscriptions"] == []


def test_subscribers_of_an_empty_or_invalid_topic(surfaces, tenant) -> None:  # noqa: ANN001
    assert surfaces.topic_subscribers(tenant, "nobody-here") == (200, {"subscribers": [], "pagination": None})
    for topic in ("has space", "a/b", "a?b", "x" * 101, "ünïcode", "*"):
        assert invalid_param(surfaces.topic_subscribers(tenant, topic)), topic


def _follow(surfaces: Surfaces, tenant: Tenant, url: str) -> tuple[int, Any]:
    """GET the `pagination` URL as a client would, adding its api_key."""
    parts = urlsplit(url)
    assert "api_key" not in parts.query  # the secret is never echoed back
    topic = unquote(parts.path.removeprefix("/topics/"))
    return surfaces.topic_subscribers(tenant, topic, dict(parse_qsl(parts.query))["cursor"])


def _many_subscribers(tenant: Tenant, topic: str, count: int) -> set[str]:
    """`count` subscribers of `topic`: the first registered and subscribed through the services, the
    rest copies of its topic edge (the row a subscriber listing reads) under other tokens,
    batch-written so that a thousand of them cost a fraction of a second; then the counter, as the
    subscribe transaction would have moved it."""
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    from pushgate import keys

    client, table = tenant.services.repository._client, tenant.services.settings.table_name
    first = "bulk-token-00000"
    register_native(tenant, "bulk", first)
    tenant.services.topics.subscribe(tenant.app, first, [topic])
    edge_key = {"PK": {"S": keys.device_pk(tenant.app_id, token_hash(first))}, "SK": {"S": keys.topic_sk(topic)}}
    des, ser = TypeDeserializer(), TypeSerializer()
    edge = {k: des.deserialize(v) for k, v in client.get_item(TableName=table, Key=edge_key)["Item"].items()}
    tokens = {first}
    requests = []
    for i in range(1, count):
        token = f"bulk-token-{i:05d}"
        tokens.add(token)
        copy_of_edge = {**edge, "PK": keys.device_pk(tenant.app_id, token_hash(token)), "token": token, "GSI1SK": keys.device_gsi_sk(token_hash(token))}
        requests.append({"PutRequest": {"Item": {k: ser.serialize(v) for k, v in copy_of_edge.items()}}})
    for start in range(0, len(requests), 25):
        client.batch_write_item(RequestItems={table: requests[start:start + 25]})
    client.update_item(TableName=table, Key={"PK": {"S": keys.app_pk(tenant.app_id)}, "SK": {"S": keys.topic_sk(topic)}},
                       UpdateExpression="ADD subscribers :n", ExpressionAttributeValues={":n": {"N": str(count - 1)}})
    return tokens


def test_subscribers_come_1000_a_page_and_the_pagination_url_continues(surfaces, tenant, other_tenant) -> None:  # noqa: ANN001
    # Transactions first: moto copies the whole table for each one.
    register_native(tenant, "alice", "small-token")
    surfaces.topics_subscribe(tenant, "small-token", ["small"])
    register_native(other_tenant, "alice", "other-token")
    surfaces.topics_subscribe(other_tenant, "other-token", ["big"])
    tokens = _many_subscribers(tenant, "big", 1001)
    assert surfaces.list_topics(tenant) == {"big": 1001, "small": 1}

    status, first = surfaces.topic_subscribers(tenant, "big")
    assert status == 200 and len(first["subscribers"]) == 1000 and first["pagination"].startswith("/topics/big?cursor=")
    status, second = _follow(surfaces, tenant, first["pagination"])
    assert status == 200 and len(second["subscribers"]) == 1 and second["pagination"] is None
    assert set(first["subscribers"]) | set(second["subscribers"]) == tokens
    assert len(first["subscribers"]) + len(second["subscribers"]) == len(tokens)  # no token twice

    # A cursor continues its own listing only: not another topic's, not another app's.
    cursor = dict(parse_qsl(urlsplit(first["pagination"]).query))["cursor"]
    assert invalid_param(surfaces.topic_subscribers(tenant, "small", cursor))
    assert surfaces.topic_subscribers(other_tenant, "big") == (200, {"subscribers": ["other-token"], "pagination": None})
    assert invalid_param(surfaces.topic_subscribers(other_tenant, "big", cursor))
    forged = encode_cursor({"PK": "APP#x", "SK": "APP", "GSI1PK": f"TOPIC#{other_tenant.app_id}#big", "GSI1SK": "DEVICE#x"})
    assert invalid_param(surfaces.topic_subscribers(tenant, "big", forged))
    for garbage in ("not-a-cursor", "W10", "WyJQSyJd", "!!!", "x" * 3000):
        assert invalid_param(surfaces.topic_subscribers(tenant, "big", garbage)), garbage
