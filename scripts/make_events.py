"""Writes the sample API Gateway HTTP API (payload 2.0) events in events/.

They are what `sam local invoke -e events/<file>` feeds a function, and what the handler tests
feed the handlers (after swapping in real credentials). Run: python scripts/make_events.py"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

EVENTS = Path(__file__).resolve().parents[1] / "events"

# A real browser subscription's shape: a P-256 point and a 16-byte auth secret (RFC 8291 §5 values).
EXAMPLE = {
    "session_id": "ses_replace-with-a-session-id-from-pushgate-session-create",
    "endpoint": "https://fcm.googleapis.com/fcm/send/dAPq1-example-subscription",
    "key_p256dh": "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4",
    "key_auth": "BTBZMqHH6r4Tts7J_aSIgg",
}


def http_event(method: str, route: str, path: str, query: str = "", body: str | None = None,
               content_type: str | None = None, path_parameters: dict[str, str] | None = None) -> dict:
    headers = {"host": "abc123.execute-api.us-east-1.amazonaws.com", "user-agent": "Mozilla/5.0"}
    if content_type:
        headers["content-type"] = content_type
    event = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": "abc123",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "Mozilla/5.0"},
            "requestId": "JKJaXmPLvHcESHA=",
            "routeKey": f"{method} {route}",
            "stage": "$default",
            "time": "23/Nov/2026:16:00:00 +0000",
            "timeEpoch": 1795449600000,
        },
        "isBase64Encoded": False,
    }
    if query:
        event["queryStringParameters"] = dict(parse_qsl(query, keep_blank_values=True))
    if path_parameters:
        event["pathParameters"] = path_parameters
    if body is not None:
        event["body"] = body
    return event


def main() -> None:
    account = {"account_id": "1"}
    subscribe_route, unsubscribe_route = "/{account_id}/push_subscribe", "/{account_id}/push_unsubscribe"
    unsubscribe = {"session_id": EXAMPLE["session_id"], "endpoint": EXAMPLE["endpoint"]}
    events = {
        "http-account-push-subscribe-get.json": http_event(
            "GET", subscribe_route, "/1/push_subscribe", urlencode(EXAMPLE), path_parameters=account),
        "http-account-push-subscribe-post-json.json": http_event(
            "POST", subscribe_route, "/1/push_subscribe", body=json.dumps(EXAMPLE),
            content_type="application/json", path_parameters=account),
        "http-account-push-subscribe-post-form.json": {
            **http_event("POST", subscribe_route, "/1/push_subscribe",
                         body=base64.b64encode(urlencode(EXAMPLE).encode()).decode(),
                         content_type="application/x-www-form-urlencoded", path_parameters=account),
            "isBase64Encoded": True,  # API Gateway base64-encodes form bodies
        },
        "http-account-push-unsubscribe-get.json": http_event(
            "GET", unsubscribe_route, "/1/push_unsubscribe", urlencode(unsubscribe), path_parameters=account),
        "http-account-push-unsubscribe-post-json.json": http_event(
            "POST", unsubscribe_route, "/1/push_unsubscribe", body=json.dumps(unsubscribe),
            content_type="application/json", path_parameters=account),
        "http-create-session.json": http_event(
            "POST", "/sessions", "/sessions", "api_key=sk_replace-with-the-app-secret-key",
            body=json.dumps({"user_id": "user-42", "ttl": 3600}), content_type="application/json"),
    }
    EVENTS.mkdir(exist_ok=True)
    for name, event in events.items():
        (EVENTS / name).write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
