"""The API Gateway HTTP API payload 2.0 event, and the mapping of function results to responses."""

from __future__ import annotations

import base64
import json

import pytest

from pushgate_local.http_events import (
    HttpRequest,
    InvalidLambdaResponse,
    build_event,
    new_request_id,
    response_from_lambda,
)

NOW = 1_795_000_000.123


def event_for(request: HttpRequest, path_parameters: dict[str, str] | None = None) -> dict:
    return build_event(request, "GET /{account_id}/push_subscribe", path_parameters or {}, "req-1", now=NOW)


def test_a_get_with_query_string_and_headers() -> None:
    request = HttpRequest(
        method="GET",
        target="/1/push_subscribe?session_id=s&endpoint=https%3A%2F%2Ffcm.googleapis.com%2Fx&tag=a&tag=b&empty=",
        headers=[
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Accept", "a"),
        ],
        source_ip="127.0.0.1",
        server_port=3000,
    )
    event = event_for(request, {"account_id": "1"})
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /{account_id}/push_subscribe"
    assert event["rawPath"] == "/1/push_subscribe"
    assert event["rawQueryString"] == "session_id=s&endpoint=https%3A%2F%2Ffcm.googleapis.com%2Fx&tag=a&tag=b&empty="
    assert event["queryStringParameters"] == {
        "session_id": "s",
        "endpoint": "https://fcm.googleapis.com/x",
        "tag": "a,b",
        "empty": "",
    }
    assert event["pathParameters"] == {"account_id": "1"}
    headers = event["headers"]
    assert headers["host"] == "127.0.0.1:3000" and headers["user-agent"] == "curl/8" and headers["accept"] == "a"
    assert headers["x-multi"] == "1,2"
    forwarded = (headers["x-forwarded-for"], headers["x-forwarded-port"], headers["x-forwarded-proto"])
    assert forwarded == ("127.0.0.1", "3000", "http")
    assert headers["x-amzn-trace-id"].startswith("Root=1-")
    assert all(name == name.lower() for name in headers)
    assert "body" not in event and event["isBase64Encoded"] is False
    assert "cookies" not in event


def test_request_context() -> None:
    request = HttpRequest("POST", "/sessions", [("Host", "127.0.0.1:3000"), ("User-Agent", "ua")], source_ip="10.0.0.9")
    context = build_event(request, "POST /sessions", {}, "req-1", now=NOW)["requestContext"]
    assert context == {
        "accountId": "123456789012",
        "apiId": "local",
        "domainName": "127.0.0.1:3000",
        "domainPrefix": "127",
        "http": {
            "method": "POST",
            "path": "/sessions",
            "protocol": "HTTP/1.1",
            "sourceIp": "10.0.0.9",
            "userAgent": "ua",
        },
        "requestId": "req-1",
        "routeKey": "POST /sessions",
        "stage": "$default",
        "time": "18/Nov/2026:11:06:40 +0000",
        "timeEpoch": 1_795_000_000_123,
    }


def test_without_a_query_string_or_path_parameters_those_fields_are_absent() -> None:
    event = build_event(HttpRequest("POST", "/sessions"), "POST /sessions", {}, "r", now=NOW)
    assert event["rawQueryString"] == ""
    assert "queryStringParameters" not in event and "pathParameters" not in event


def test_cookies_leave_the_headers_for_their_own_field() -> None:
    request = HttpRequest("GET", "/", [("Cookie", "a=1; b=2"), ("Cookie", "c=3")])
    event = build_event(request, "GET /", {}, "r", now=NOW)
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert "cookie" not in event["headers"]


def test_the_path_reaches_the_function_decoded() -> None:
    request = HttpRequest("GET", "/devices/a%20b%2Fc")
    event = build_event(request, "GET /devices/{token}", {"token": "a b/c"}, "r", now=NOW)
    assert event["rawPath"] == "/devices/a b/c"
    assert event["requestContext"]["http"]["path"] == "/devices/a b/c"


@pytest.mark.parametrize(
    ("content_type", "is_base64"),
    [
        ("application/json", False),
        ("application/json; charset=utf-8", False),
        ("text/plain", False),
        ("application/xml", False),
        ("application/javascript", False),
        ("application/x-www-form-urlencoded", True),
        ("multipart/form-data; boundary=x", True),
        ("application/octet-stream", True),
        (None, True),
    ],
)
def test_bodies_are_text_only_for_text_media_types(content_type: str | None, is_base64: bool) -> None:
    body = b'{"user_id":"alice"}'
    headers = [("Content-Type", content_type)] if content_type else []
    event = build_event(HttpRequest("POST", "/sessions", headers, body), "POST /sessions", {}, "r", now=NOW)
    assert event["isBase64Encoded"] is is_base64
    assert (base64.b64decode(event["body"]) if is_base64 else event["body"].encode()) == body


def test_request_ids_look_like_api_gateways() -> None:
    request_id = new_request_id()
    assert len(request_id) == 16 and request_id.endswith("=")
    assert new_request_id() != request_id


# -- responses ------------------------------------------------------------------------------------


def test_a_full_response() -> None:
    response = response_from_lambda(
        {
            "statusCode": 201,
            "headers": {"Content-Type": "application/json", "X-Request-Id": "abc"},
            "cookies": ["a=1; Secure", "b=2"],
            "body": '{"ok":true}',
            "isBase64Encoded": False,
        }
    )
    assert response.status == 201
    assert ("Content-Type", "application/json") in response.headers and ("X-Request-Id", "abc") in response.headers
    assert [value for name, value in response.headers if name == "set-cookie"] == ["a=1; Secure", "b=2"]
    assert response.body == b'{"ok":true}'


def test_a_base64_body_is_decoded() -> None:
    body = base64.b64encode(b"\x00\x01").decode()
    response = response_from_lambda({"statusCode": 200, "body": body, "isBase64Encoded": True})
    assert response.body == b"\x00\x01"


def test_no_body_is_an_empty_body() -> None:
    assert response_from_lambda({"statusCode": 204}).body == b""


@pytest.mark.parametrize("payload", [{"data": {"a": 1}}, [1, 2], "text", 42, None])
def test_without_a_status_code_the_value_is_a_200_json_body(payload: object) -> None:
    response = response_from_lambda(payload)
    assert response.status == 200
    assert ("content-type", "application/json") in response.headers
    assert json.loads(response.body) == payload


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "body": "***", "isBase64Encoded": True},
    ],
)
def test_malformed_responses_are_rejected(payload: dict) -> None:
    with pytest.raises(InvalidLambdaResponse):
        response_from_lambda(payload)
