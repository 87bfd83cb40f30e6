"""Writes the sample events in events/: HTTP API (payload 2.0) events for the HTTP functions,
WebSocket API events for the WebSocket route functions, and SQS events for the fan-out and the
three senders.

They are what `sam local invoke -e events/<file>` feeds a function, and what the handler tests
feed the handlers (after swapping in real credentials). Every credential in them is a placeholder
that says what to put there. Run: python scripts/make_events.py"""

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
SECRET_KEY = "sk_replace-with-the-app-secret-key"
PUBLIC_KEY = "pk_replace-with-the-app-public-key"
# A session id or a user JWT (`pushgate session create` / `pushgate token create`).
USER_TOKEN = "ses_replace-with-a-session-id-or-a-user-jwt"
USER_JWT = "replace-with-a-user-jwt-from-pushgate-token-create"
# The nil UUID: replace it with the app's webpush channel id (`pushgate app create` prints it).
CHANNEL_ID = "00000000-0000-0000-0000-000000000000"
# PushSubscription.toJSON() of the example browser.
SUBSCRIPTION = {"endpoint": EXAMPLE["endpoint"], "keys": {"p256dh": EXAMPLE["key_p256dh"], "auth": EXAMPLE["key_auth"]}}
APNS_TOKEN = "740f4707bebcf74f9b7c25d48e3358945f6aa01da5ddb387462c7eaf61bb78ad"  # 32 bytes, hex
FCM_TOKEN = "cGxhY2Vob2xkZXI6APA91bH-example-fcm-registration-token"

HTTP_API_ID = "abc123"
JSON_UTF8 = "application/json; charset=utf-8"


def http_event(method: str, route: str, path: str, query: str = "", body: str | None = None,
               content_type: str | None = None, path_parameters: dict[str, str] | None = None,
               headers: dict[str, str] | None = None) -> dict:
    """An HTTP API payload 2.0 event. API Gateway hands the function `rawPath` percent-decoded
    (so a URL-encoded endpoint in a path parameter arrives as the URL itself) and `rawQueryString`
    as sent; header names are lower-cased."""
    all_headers = {"host": f"{HTTP_API_ID}.execute-api.us-east-1.amazonaws.com", "user-agent": "Mozilla/5.0"}
    if content_type:
        all_headers["content-type"] = content_type
    all_headers.update(headers or {})
    event = {
        "version": "2.0",
        "routeKey": f"{method} {route}",
        "rawPath": path,
        "rawQueryString": query,
        "headers": all_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": HTTP_API_ID,
            "domainName": f"{HTTP_API_ID}.execute-api.us-east-1.amazonaws.com",
            "domainPrefix": HTTP_API_ID,
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


def account_events() -> dict[str, dict]:
    """docs/api.md §2, the account API."""
    account = {"account_id": "1"}
    subscribe_route, unsubscribe_route = "/{account_id}/push_subscribe", "/{account_id}/push_unsubscribe"
    unsubscribe = {"session_id": EXAMPLE["session_id"], "endpoint": EXAMPLE["endpoint"]}
    return {
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
            "POST", "/sessions", "/sessions", f"api_key={SECRET_KEY}",
            body=json.dumps({"user_id": "user-42", "ttl": 3600}), content_type="application/json"),
    }


def device_events() -> dict[str, dict]:
    """docs/api.md §3, the device API: the client key and the user's session id or JWT in headers."""
    headers = {"im-client-key": PUBLIC_KEY, "im-authorization": USER_TOKEN}

    def post(path: str, body: dict) -> dict:
        return http_event("POST", path, path, body=json.dumps(body), content_type=JSON_UTF8, headers=headers)

    return {
        "http-device-subscribe-web.json": post(
            "/me/subscribe", {"type": "web", "deviceId": "chrome-on-laptop-uuid-001", "subscription": SUBSCRIPTION}),
        "http-device-subscribe-ios.json": post(
            "/me/subscribe", {"type": "ios", "deviceId": "iphone-15-uuid-001", "token": APNS_TOKEN}),
        "http-device-unsubscribe.json": post("/me/unsubscribe", {"type": "fcm", "deviceId": "pixel-8-uuid-002"}),
    }


def topics_events() -> dict[str, dict]:
    """docs/api.md §4, the server-side topics API: the secret key in `?api_key=`."""
    query = f"api_key={SECRET_KEY}"
    topics_body = json.dumps({"token": EXAMPLE["endpoint"], "topics": ["news", "media"]})
    return {
        "http-topics-subscribe.json": http_event(
            "POST", "/topics/subscribe", "/topics/subscribe", query, body=topics_body, content_type="application/json"),
        "http-topics-unsubscribe.json": http_event(
            "POST", "/topics/unsubscribe", "/topics/unsubscribe", query, body=topics_body, content_type="application/json"),
        "http-list-topics.json": http_event("GET", "/topics", "/topics", query),
        "http-topic-subscribers.json": http_event(
            "GET", "/topics/{topic}", "/topics/news", query, path_parameters={"topic": "news"}),
        # Sent as GET /devices/https%3A%2F%2Ffcm.googleapis.com%2F...; API Gateway decodes the path.
        "http-get-device.json": http_event(
            "GET", "/devices/{token}", f"/devices/{EXAMPLE['endpoint']}", query,
            path_parameters={"token": EXAMPLE["endpoint"]}),
    }


def users_events() -> dict[str, dict]:
    """A user's data: §4 listing and erasure (secret key in `?api_key=`), §3 the caller's devices."""
    query = f"api_key={SECRET_KEY}"
    user = {"user_id": "user-42"}
    return {
        "http-delete-user.json": http_event("DELETE", "/users/{user_id}", "/users/user-42", query, path_parameters=user),
        "http-list-user-subscriptions.json": http_event(
            "GET", "/users/{user_id}/subscriptions", "/users/user-42/subscriptions", query, path_parameters=user),
        "http-list-my-devices.json": http_event(
            "GET", "/me/devices", "/me/devices", headers={"im-client-key": PUBLIC_KEY, "im-authorization": USER_TOKEN}),
        # A push that leaves out the users online on the WebSocket, and following it.
        "http-send-push.json": http_event(
            "POST", "/push", "/push", query, content_type="application/json",
            body=json.dumps({"to": "/topics/news", "notification": {"title": "Hello", "body": "World"}, "skip_online": True})),
        "http-get-push.json": http_event(
            "GET", "/pushes/{push_id}", "/pushes/5f1c0e2a9b7d4c3e8a6f01b2c4", query, path_parameters={"push_id": "5f1c0e2a9b7d4c3e8a6f01b2c4"}),
    }


def channel_events() -> dict[str, dict]:
    """docs/api.md §5, the channel subscriptions API: public key and RS256 user JWT in headers."""
    route = "/user/v1/channels/{channel_id}/subscriptions"
    path = f"/user/v1/channels/{CHANNEL_ID}/subscriptions"
    headers = {"x-notiflows-api-key": PUBLIC_KEY, "x-notiflows-user-key": USER_JWT}
    parameters = {"channel_id": CHANNEL_ID}
    upsert = {"identifier": EXAMPLE["endpoint"],
              "settings": {"endpoint": EXAMPLE["endpoint"], "p256dh": EXAMPLE["key_p256dh"], "auth": EXAMPLE["key_auth"]}}
    return {
        "http-channel-subscription-upsert.json": http_event(
            "POST", route, path, body=json.dumps(upsert), content_type="application/json",
            path_parameters=parameters, headers=headers),
        "http-channel-subscription-list.json": http_event("GET", route, path, path_parameters=parameters, headers=headers),
        "http-channel-subscription-delete.json": http_event(
            "DELETE", route, path, body=json.dumps({"identifier": EXAMPLE["endpoint"]}), content_type="application/json",
            path_parameters=parameters, headers={**headers, "x-request-id": "req_example-client-request-id"}),
    }


# -- WebSocket API ------------------------------------------------------------------------------

WS_API_ID = "w5x6y7z8a9"
WS_DOMAIN = f"{WS_API_ID}.execute-api.us-east-1.amazonaws.com"
WS_STAGE = "dev"
CONNECTION_ID = "L0SM9cOFvHcCIhw="
CONNECTED_AT = 1795449600000


def ws_request_context(route_key: str, event_type: str, request_epoch_ms: int) -> dict:
    return {
        "routeKey": route_key,
        "eventType": event_type,
        "extendedRequestId": "L0SM9FOXvHcFtzg=",
        "requestTime": "23/Nov/2026:16:00:00 +0000",
        "messageDirection": "IN",
        "stage": WS_STAGE,
        "connectedAt": CONNECTED_AT,
        "requestTimeEpoch": request_epoch_ms,
        "identity": {"userAgent": "Mozilla/5.0", "sourceIp": "203.0.113.7"},
        "requestId": "L0SM9FOXvHcFtzg=",
        "domainName": WS_DOMAIN,
        "connectionId": CONNECTION_ID,
        "apiId": WS_API_ID,
    }


def ws_connect_event() -> dict:
    """$connect of wss://…/dev?key=pk_…&token=…: the handshake's headers and query string."""
    query = {"key": PUBLIC_KEY, "token": USER_TOKEN}
    headers = {
        "Host": WS_DOMAIN,
        "Origin": "https://app.example.com",
        "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        "User-Agent": "Mozilla/5.0",
        "X-Amzn-Trace-Id": "Root=1-6572a1b0-0123456789abcdef01234567",
        "X-Forwarded-For": "203.0.113.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": {name: [value] for name, value in query.items()},
        "requestContext": ws_request_context("$connect", "CONNECT", CONNECTED_AT),
        "isBase64Encoded": False,
    }


def ws_disconnect_event() -> dict:
    headers = {"Host": WS_DOMAIN, "x-api-key": "", "X-Forwarded-For": "", "x-restapi": ""}
    context = ws_request_context("$disconnect", "DISCONNECT", CONNECTED_AT + 60_000)
    context.update(disconnectStatusCode=1001, disconnectReason="Going away")
    return {
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": context,
        "isBase64Encoded": False,
    }


def ws_message_event(route_key: str, body: str) -> dict:
    """A message frame: the route API Gateway chose from `$request.body.cmd`, and the frame as text."""
    context = ws_request_context(route_key, "MESSAGE", CONNECTED_AT + 1_000)
    context["messageId"] = "L0SM9eAgvHcCIhw="
    return {"requestContext": context, "body": body, "isBase64Encoded": False}


def websocket_events() -> dict[str, dict]:
    """docs/api.md §1: one event per route of the WebSocket API."""

    def command(route_key: str, message: dict) -> dict:
        return ws_message_event(route_key, json.dumps(message))

    return {
        "ws-connect.json": ws_connect_event(),
        "ws-disconnect.json": ws_disconnect_event(),
        "ws-auth.json": command("auth", {"cmd": "auth", "token": USER_TOKEN}),
        "ws-push-get-vapid.json": command("push_get_vapid", {"cmd": "push_get_vapid"}),
        "ws-push-subscribe.json": command("push_subscribe", {"cmd": "push_subscribe", "subscription": SUBSCRIPTION}),
        "ws-push-unsubscribe.json": command("push_unsubscribe", {"cmd": "push_unsubscribe", "endpoint": EXAMPLE["endpoint"]}),
        "ws-default-unknown-command.json": command("$default", {"cmd": "push_frobnicate"}),
        "ws-default-invalid-json.json": ws_message_event("$default", "push_subscribe please"),
    }


def sqs_event(queue: str, body: dict) -> dict:
    """What Lambda's SQS event source mapping hands a function for one message."""
    return {
        "Records": [
            {
                "messageId": "059f36b4-87a3-44ab-83d2-661975830a7d",
                "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a-example",
                "body": json.dumps(body, separators=(",", ":")),
                "attributes": {
                    "ApproximateReceiveCount": "1",
                    "SentTimestamp": "1795449600000",
                    "SenderId": "AIDAIENQZJOLO23YVJ4VO",
                    "ApproximateFirstReceiveTimestamp": "1795449600001",
                },
                "messageAttributes": {},
                "md5OfBody": "e4e68fb7bd0e697a0ae8f1bb342846b3",
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{queue}",
                "awsRegion": "us-east-1",
            }
        ]
    }


def delivery_events() -> dict[str, dict]:
    """docs/api.md §7: a fan-out message and one delivery batch per sender. The push id must name a
    push of the stack (POST /push prints it); the channel ids the app's channels of that provider."""
    push_id, app_id = "replace-with-a-push-id-from-post-push", "app_replace-with-the-app-id"

    def device(token: str, device_type: str, **extra: str) -> dict:
        return {"token_hash": "replace-with-sha256-of-the-token", "token": token, "type": device_type, **extra}

    def batch(devices: list[dict]) -> dict:
        return {"push_id": push_id, "app_id": app_id, "batch_id": "sample-batch", "attempt": 0, "devices": devices}

    return {
        "sqs-fanout.json": sqs_event("FanoutQueue", {"push_id": push_id, "app_id": app_id, "target": {"kind": "user", "user_id": "alice"}}),
        "sqs-webpush-delivery.json": sqs_event("DeliveryQueue", batch([device(
            EXAMPLE["endpoint"], "web", p256dh=EXAMPLE["key_p256dh"], auth=EXAMPLE["key_auth"], channel_id=CHANNEL_ID)])),
        "sqs-fcm-delivery.json": sqs_event("FcmDeliveryQueue", batch([device(FCM_TOKEN, "android", channel_id=CHANNEL_ID)])),
        "sqs-apns-delivery.json": sqs_event("ApnsDeliveryQueue", batch([
            device(APNS_TOKEN, "ios", channel_id=CHANNEL_ID), device(APNS_TOKEN.upper(), "ios-voip", channel_id=CHANNEL_ID)])),
    }


def main() -> None:
    events = {**account_events(), **device_events(), **topics_events(), **users_events(), **channel_events(), **websocket_events(), **delivery_events()}
    EVENTS.mkdir(exist_ok=True)
    for name, event in events.items():
        (EVENTS / name).write_text(json.dumps(event, indent=2) + "\n")


if __name__ == "__main__":
    main()
