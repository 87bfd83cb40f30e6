"""docs/api.md §1 end to end: the template's WebSocket API served by the local stack on
ws://127.0.0.1:$PUSHGATE_WS_PORT, driven by a real WebSocket client as a browser page drives it."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from pushgate.identifiers import token_hash
from pushgate.models import SubscriptionStatus
from pushgate.repository import Repository
from pushgate.validation import b64url_encode
from pushgate_local.template import table_definition

from tests.e2e.clients import (
    OPEN_TIMEOUT_SECONDS,
    REPLY_TIMEOUT_SECONDS,
    create_app,
    error,
    open_ws,
    receives_nothing,
    send,
    subscribe_command,
    user_token,
    web_subscription,
    ws_url,
)
from tests.e2e.local_stack import (
    START_TIMEOUT_SECONDS,
    STOP_TIMEOUT_SECONDS,
    LocalStackProcess,
    new_browser_keys,
    new_subscription,
    stack_environment,
)

pytestmark = pytest.mark.e2e

SUBSCRIBED = {"cmd": "push_subscribed", "success": True}
UNSUBSCRIBED = {"cmd": "push_unsubscribed", "success": True}
SHAPE = "subscription must include endpoint, keys.p256dh and keys.auth"


def repository(stack: LocalStackProcess) -> Repository:
    return Repository(stack.aws_client("dynamodb"), stack.discovery["table_name"])


def stored(stack: LocalStackProcess, endpoint: str) -> Any:
    return repository(stack).get_device(stack.demo()["app_id"], token_hash(endpoint))


def connection_rows(stack: LocalStackProcess, user_id: str) -> list[dict[str, Any]]:
    """The table's connection records of one user (the client never learns its connection id)."""
    response = stack.aws_client("dynamodb").scan(
        TableName=stack.discovery["table_name"],
        FilterExpression="#entity = :entity AND #user = :user",
        ExpressionAttributeNames={"#entity": "entity", "#user": "user_id"},
        ExpressionAttributeValues={":entity": {"S": "Connection"}, ":user": {"S": user_id}},
    )
    return response["Items"]


def unique_user(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def alice(local_stack: LocalStackProcess) -> str:
    """A session of alice's, minted by the app's backend."""
    return local_stack.create_session("alice")


@pytest.fixture
def authenticated(local_stack: LocalStackProcess, alice: str) -> Any:
    with open_ws(local_stack, token=alice) as connection:
        yield connection


# -- connecting ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "pk_unknown", "secret key"], ids=["missing", "empty", "unknown", "secret key"])
def test_a_connection_without_the_apps_public_key_is_refused(local_stack: LocalStackProcess, key: str | None) -> None:
    if key == "secret key":
        key = local_stack.demo()["secret_key"]
    with pytest.raises(InvalidStatus) as refused:
        open_ws(local_stack, token=local_stack.create_session("alice"), key=key)
    assert refused.value.response.status_code == 401


def test_key_and_session_at_connect_authenticate(local_stack: LocalStackProcess, authenticated: ClientConnection) -> None:
    # The VAPID key of the app's webpush channel, as `pushgate app create` printed it (demo.json)
    # and as the stack's banner shows it.
    channel_key = local_stack.demo()["channels"][0]["vapid_public_key"]
    assert f"VAPID public key  {channel_key}" in local_stack.stdout_path.read_text()
    assert send(authenticated, {"cmd": "push_get_vapid"}) == {"cmd": "push_vapid", "key": channel_key}


def test_a_user_jwt_at_connect_authenticates(local_stack: LocalStackProcess) -> None:
    with open_ws(local_stack, token=user_token(local_stack, "jwt-user")) as connection:
        assert send(connection, {"cmd": "push_get_vapid"})["cmd"] == "push_vapid"
        subscription = new_subscription()
        assert send(connection, subscribe_command(subscription)) == SUBSCRIBED
    assert stored(local_stack, subscription.endpoint).user_id == "jwt-user"


def test_the_stage_path_of_the_deployed_url_works_too(local_stack: LocalStackProcess, alice: str) -> None:
    # The deployed URL ends with the stage (template output WebSocketUrl); locally it is "local".
    url = ws_url(local_stack, local_stack.demo()["public_key"], alice).replace("/?", "/local?")
    with connect(url, open_timeout=OPEN_TIMEOUT_SECONDS) as connection:
        assert send(connection, {"cmd": "push_get_vapid"})["cmd"] == "push_vapid"


@pytest.mark.parametrize("token", [None, "ses_unknown", "not.a.jwt"], ids=["none", "unknown session", "bad jwt"])
def test_without_a_valid_token_the_connection_is_open_but_not_authenticated(
    local_stack: LocalStackProcess, token: str | None
) -> None:
    with open_ws(local_stack, token=token) as connection:
        assert send(connection, {"cmd": "push_get_vapid"}) == error("push_get_vapid", "Not authenticated")
        assert send(connection, subscribe_command(new_subscription())) == error("push_subscribe", "Not authenticated")
        endpoint = new_subscription().endpoint
        assert send(connection, {"cmd": "push_unsubscribe", "endpoint": endpoint}) == error("push_unsubscribe", "Not authenticated")


def test_the_auth_command_authenticates_an_open_connection(local_stack: LocalStackProcess) -> None:
    user = unique_user("late")
    session_id = local_stack.create_session(user)
    with open_ws(local_stack) as connection:
        assert send(connection, {"cmd": "auth", "token": "ses_nope"}) == error("auth", "Invalid token")
        assert send(connection, {"cmd": "auth"}) == error("auth", "Invalid token")
        assert send(connection, {"cmd": "push_get_vapid"}) == error("push_get_vapid", "Not authenticated")
        assert send(connection, {"cmd": "auth", "token": session_id}) == {"cmd": "auth", "success": True, "user": user}
        assert send(connection, {"cmd": "push_get_vapid"})["cmd"] == "push_vapid"
        # A user JWT works too, and switches the connection to its user.
        other = unique_user("jwt")
        assert send(connection, {"cmd": "auth", "token": user_token(local_stack, other)}) == {
            "cmd": "auth", "success": True, "user": other,
        }
        subscription = new_subscription()
        assert send(connection, subscribe_command(subscription)) == SUBSCRIBED
    assert stored(local_stack, subscription.endpoint).user_id == other


def test_another_apps_session_does_not_authenticate(local_stack: LocalStackProcess) -> None:
    other = create_app(local_stack, "other-ws")
    foreign_session = local_stack.create_session("alice", other["secret_key"])
    with open_ws(local_stack, token=foreign_session) as connection:
        assert send(connection, {"cmd": "push_get_vapid"}) == error("push_get_vapid", "Not authenticated")
        assert send(connection, {"cmd": "auth", "token": foreign_session}) == error("auth", "Invalid token")
    with open_ws(local_stack, key=other["public_key"], token=foreign_session) as connection:
        assert send(connection, {"cmd": "push_get_vapid"}) == {"cmd": "push_vapid", "key": other["channels"][0]["vapid_public_key"]}


# -- subscribing ---------------------------------------------------------------------------------


def test_subscribe_resubscribe_and_unsubscribe(local_stack: LocalStackProcess, authenticated: ClientConnection) -> None:
    subscription = new_subscription()
    assert send(authenticated, subscribe_command(subscription)) == SUBSCRIBED
    device = stored(local_stack, subscription.endpoint)
    assert (device.user_id, device.type.value, device.status) == ("alice", "web", SubscriptionStatus.ACTIVE)
    # Re-subscribing is an upsert: same record, keys refreshed.
    refreshed = new_subscription(subscription.endpoint)
    assert send(authenticated, subscribe_command(refreshed)) == SUBSCRIBED
    again = stored(local_stack, subscription.endpoint)
    assert again.subscription_id == device.subscription_id and again.keys.p256dh == refreshed.p256dh
    # One user, many subscriptions.
    second = new_subscription()
    assert send(authenticated, subscribe_command(second)) == SUBSCRIBED
    assert stored(local_stack, second.endpoint).user_id == "alice"
    # Unsubscribing removes it; an unknown endpoint succeeds silently.
    assert send(authenticated, {"cmd": "push_unsubscribe", "endpoint": subscription.endpoint}) == UNSUBSCRIBED
    assert stored(local_stack, subscription.endpoint).status is SubscriptionStatus.REMOVED
    assert send(authenticated, {"cmd": "push_unsubscribe", "endpoint": new_subscription().endpoint}) == UNSUBSCRIBED
    assert stored(local_stack, second.endpoint).status is SubscriptionStatus.ACTIVE


def test_unsubscribe_is_scoped_to_the_caller(local_stack: LocalStackProcess, authenticated: ClientConnection) -> None:
    subscription = new_subscription()
    assert send(authenticated, subscribe_command(subscription)) == SUBSCRIBED
    with open_ws(local_stack, token=local_stack.create_session("mallory")) as mallory:
        assert send(mallory, {"cmd": "push_unsubscribe", "endpoint": subscription.endpoint}) == UNSUBSCRIBED
        # Nor can another user take it over with other keys.
        assert send(mallory, subscribe_command(new_subscription(subscription.endpoint))) == error(
            "push_subscribe", "Endpoint belongs to another user"
        )
    device = stored(local_stack, subscription.endpoint)
    assert (device.user_id, device.status) == ("alice", SubscriptionStatus.ACTIVE)


def _subscription(**changes: Any) -> dict[str, Any]:
    subscription = web_subscription(new_subscription())
    for path, value in changes.items():
        target, *rest = path.split("__")
        if rest:
            subscription[target][rest[0]] = value
        elif value is ...:
            del subscription[target]
        else:
            subscription[target] = value
    return subscription


SUBSCRIBE_ERRORS: list[tuple[str, Any, str]] = [
    ("no subscription", {"cmd": "push_subscribe"}, "Missing subscription object"),
    ("null subscription", {"cmd": "push_subscribe", "subscription": None}, "Missing subscription object"),
    ("empty object", {"cmd": "push_subscribe", "subscription": {}}, SHAPE),
    ("a string", {"cmd": "push_subscribe", "subscription": "https://fcm.googleapis.com/fcm/send/x"}, SHAPE),
    ("no endpoint", {"cmd": "push_subscribe", "subscription": _subscription(endpoint=...)}, SHAPE),
    ("no keys", {"cmd": "push_subscribe", "subscription": _subscription(keys=...)}, SHAPE),
    ("no auth", {"cmd": "push_subscribe", "subscription": _subscription(keys={"p256dh": new_browser_keys()[0]})}, SHAPE),
    ("not a push service", {"cmd": "push_subscribe", "subscription": _subscription(endpoint="https://push.example.com/x")}, "Invalid push endpoint"),
    ("plain http", {"cmd": "push_subscribe", "subscription": _subscription(endpoint="http://fcm.googleapis.com/fcm/send/x")}, "Invalid push endpoint"),
    ("loopback", {"cmd": "push_subscribe", "subscription": _subscription(endpoint="https://127.0.0.1/x")}, "Invalid push endpoint"),
    ("too long", {"cmd": "push_subscribe", "subscription": _subscription(endpoint="https://fcm.googleapis.com/" + "x" * 1024)}, "Invalid push endpoint"),
    ("p256dh off the curve", {"cmd": "push_subscribe", "subscription": _subscription(keys__p256dh=b64url_encode(b"\x04" + b"\x01" * 64))}, "Invalid subscription keys"),
    ("auth of 15 bytes", {"cmd": "push_subscribe", "subscription": _subscription(keys__auth=b64url_encode(b"\x00" * 15))}, "Invalid subscription keys"),
]


@pytest.mark.parametrize(("message", "reason"), [e[1:] for e in SUBSCRIBE_ERRORS], ids=[e[0] for e in SUBSCRIBE_ERRORS])
def test_subscribe_errors(authenticated: ClientConnection, message: dict[str, Any], reason: str) -> None:
    assert send(authenticated, message) == error("push_subscribe", reason)


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ({"cmd": "push_unsubscribe"}, "Missing endpoint"),
        ({"cmd": "push_unsubscribe", "endpoint": ""}, "Missing endpoint"),
        ({"cmd": "push_unsubscribe", "endpoint": "https://fcm.googleapis.com/" + "x" * 1024}, "Invalid push endpoint"),
    ],
    ids=["no endpoint", "empty endpoint", "too long"],
)
def test_unsubscribe_errors(authenticated: ClientConnection, message: dict[str, Any], reason: str) -> None:
    assert send(authenticated, message) == error("push_unsubscribe", reason)


@pytest.mark.parametrize(
    ("frame", "reply"),
    [
        ("not json", error(None, "Invalid JSON")),
        ('{"cmd": "push_subscribe"', error(None, "Invalid JSON")),  # truncated: no route, so $default
        ("[1, 2]", error(None, "Invalid JSON")),
        ('"push_get_vapid"', error(None, "Invalid JSON")),
        ("", error(None, "Invalid JSON")),
        ('{"cmd":"push_frobnicate"}', error("push_frobnicate", "Unknown command")),
        ('{"cmd":"PUSH_SUBSCRIBE"}', error("PUSH_SUBSCRIBE", "Unknown command")),  # route keys are case-sensitive
        ('{"cmd":"$connect"}', error("$connect", "Unknown command")),  # never routed to $connect
        ('{"no":"cmd"}', error(None, "Unknown command")),
        ('{"cmd":42}', error(None, "Unknown command")),
    ],
)
def test_invalid_json_and_unknown_commands(authenticated: ClientConnection, frame: str, reply: dict[str, Any]) -> None:
    assert send(authenticated, frame) == reply


def test_replies_go_to_the_requesting_connection_only(local_stack: LocalStackProcess, alice: str) -> None:
    with (
        open_ws(local_stack, token=alice) as first,
        open_ws(local_stack, token=alice) as same_user,
        open_ws(local_stack, token=local_stack.create_session("bob")) as other_user,
        open_ws(local_stack) as anonymous,
    ):
        subscription = new_subscription()
        for message, reply in [
            ({"cmd": "push_get_vapid"}, "push_vapid"),
            (subscribe_command(subscription), "push_subscribed"),
            ({"cmd": "push_unsubscribe", "endpoint": subscription.endpoint}, "push_unsubscribed"),
            ({"cmd": "auth", "token": alice}, "auth"),
            ("not json", "error"),
        ]:
            assert send(first, message)["cmd"] == reply
        assert send(anonymous, {"cmd": "push_get_vapid"}) == error("push_get_vapid", "Not authenticated")
        for quiet in (same_user, other_user):
            assert receives_nothing(quiet)
        assert receives_nothing(first, 0.2)  # exactly one reply per command


def test_closing_runs_disconnect_which_forgets_the_connection(local_stack: LocalStackProcess) -> None:
    user = unique_user("closing")
    with open_ws(local_stack, token=local_stack.create_session(user)) as connection:
        assert send(connection, {"cmd": "push_get_vapid"})["cmd"] == "push_vapid"
        assert len(connection_rows(local_stack, user)) == 1
    deadline = time.monotonic() + REPLY_TIMEOUT_SECONDS
    while connection_rows(local_stack, user) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert connection_rows(local_stack, user) == []


def test_a_message_over_64_kib_is_refused_by_the_functions(authenticated: ClientConnection) -> None:
    # docs/api.md §6: a body over 64 KiB is refused; API Gateway itself still delivers up to 128 KiB.
    message = '{"cmd":"push_get_vapid","pad":"' + "x" * (100 * 1024) + '"}'
    assert send(authenticated, message) == error(None, "Invalid JSON")
    assert send(authenticated, {"cmd": "push_get_vapid"})["cmd"] == "push_vapid"  # still open


def test_a_message_over_128_kib_closes_the_connection(authenticated: ClientConnection) -> None:
    authenticated.send('{"cmd":"push_get_vapid","pad":"' + "x" * (128 * 1024) + '"}')
    with pytest.raises(ConnectionClosed) as closed:
        authenticated.recv(timeout=REPLY_TIMEOUT_SECONDS)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009


def test_a_plain_http_request_to_the_websocket_port_needs_an_upgrade(local_stack: LocalStackProcess) -> None:
    response = requests.get(local_stack.discovery["ws_url"].replace("ws://", "http://"), timeout=30)
    assert response.status_code == 426


def test_a_busy_websocket_port_is_reported_clearly(local_stack: LocalStackProcess, tmp_path: Path) -> None:
    env = {**stack_environment(tmp_path / "data"), "PUSHGATE_WS_PORT": local_stack.env["PUSHGATE_WS_PORT"]}
    result = subprocess.run(
        [sys.executable, "-m", "pushgate_local"], env=env, capture_output=True, text=True, timeout=START_TIMEOUT_SECONDS
    )
    assert result.returncode == 1
    assert "cannot start" in result.stderr and f"the WebSocket API's port {env['PUSHGATE_WS_PORT']}" in result.stderr


# -- with a stack of their own ---------------------------------------------------------------------


def test_storage_failures_get_the_documented_reasons(start_stack: Callable[[], LocalStackProcess]) -> None:
    stack = start_stack()
    session_id = stack.create_session("alice")
    with open_ws(stack, token=session_id) as connection:
        subscription = new_subscription()
        assert send(connection, subscribe_command(subscription)) == SUBSCRIBED
        # When the table goes away under the functions (a server-side I/O error)
        dynamodb = stack.aws_client("dynamodb")
        table_name = stack.discovery["table_name"]
        dynamodb.delete_table(TableName=table_name)
        try:
            # Then each command says so in the documented words (docs/api.md §1) (never "Not authenticated")
            assert send(connection, subscribe_command(new_subscription())) == error("push_subscribe", "Failed to save subscription")
            assert send(connection, {"cmd": "push_unsubscribe", "endpoint": subscription.endpoint}) == error(
                "push_unsubscribe", "Failed to remove subscription"
            )
            # and a new connection is refused: its $connect function fails
            with pytest.raises(InvalidStatus) as refused:
                open_ws(stack, token=session_id)
            assert refused.value.response.status_code == 500
        finally:
            dynamodb.create_table(**table_definition(table_name=table_name))


def test_stopping_the_stack_closes_connections_after_their_disconnect(start_stack: Callable[[], LocalStackProcess]) -> None:
    stack = start_stack()
    session_id = stack.create_session("alice")
    with open_ws(stack, token=session_id) as first, open_ws(stack) as second:
        assert send(first, {"cmd": "push_get_vapid"})["cmd"] == "push_vapid"
        # When the stack gets SIGTERM (as Ctrl-C or a process manager stops it)
        assert stack.process is not None
        stack.process.send_signal(signal.SIGTERM)
        # Then every connection is closed with 1001 "Going away"
        for connection in (first, second):
            with pytest.raises(ConnectionClosed) as closed:
                connection.recv(timeout=STOP_TIMEOUT_SECONDS)
            assert closed.value.rcvd is not None and (closed.value.rcvd.code, closed.value.rcvd.reason) == (1001, "Going away")
    assert stack.process.wait(timeout=STOP_TIMEOUT_SECONDS) == 0
    # and $disconnect ran for each, successfully, before the functions were stopped.
    log = stack.stderr_path.read_text()
    connected = re.findall(r"CONNECT \$connect -> 101 \(connectionId (\S+),", log)
    disconnected = re.findall(r"DISCONNECT \$disconnect \(1001\) -> 200 \(connectionId (\S+),", log)
    assert len(connected) == 2 and sorted(disconnected) == sorted(connected), log[-5000:]
    disconnects = [log.index(f"DISCONNECT $disconnect (1001) -> 200 (connectionId {c},") for c in connected]
    assert log.index("pushgate-local: stopping") < min(disconnects)
    assert max(disconnects) < log.index("pushgate-local: stopped")
