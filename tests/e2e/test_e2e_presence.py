"""`POST /push` with `skip_online` end to end on the stack `make run` starts (docs/api.md §1, §4, §7):
a user with an authenticated WebSocket open is left out, another is not, and once the socket is
closed a new push reaches the first again. Deliveries are read back from the stack's fake FCM."""

from __future__ import annotations

import secrets
import time
import uuid

import pytest

from tests.e2e.clients import open_ws, send
from tests.e2e.local_stack import LocalStackProcess
from tests.e2e.test_e2e_native import Fake, of_push, push, register, wait_until_done

pytestmark = pytest.mark.e2e

DISCONNECT_TIMEOUT_SECONDS = 60  # the stack runs $disconnect after the socket closes, in its own time


@pytest.fixture(scope="module")
def fcm(local_stack: LocalStackProcess) -> Fake:
    return Fake(local_stack, "fcm")


def phone(stack: LocalStackProcess, user: str) -> tuple[str, str]:
    """A user with an Android phone: (session id, FCM token)."""
    session_id, token = stack.create_session(user), f"fcm-{secrets.token_urlsafe(40)}"
    register(stack, session_id, "android", token)
    return session_id, token


def delivered(fcm: Fake, push_id: str) -> set[str]:
    return {message["message"]["token"] for message in of_push(fcm.received(), push_id, "fcm")}


def test_a_user_online_on_the_websocket_is_skipped_until_the_socket_closes(local_stack, fcm) -> None:  # noqa: ANN001
    (alice_session, alice_phone), (_, bob_phone) = phone(local_stack, f"online-{uuid.uuid4()}"), phone(local_stack, f"offline-{uuid.uuid4()}")
    socket = open_ws(local_stack)
    assert send(socket, {"cmd": "auth", "token": alice_session})["success"] is True
    anonymous = open_ws(local_stack)  # a page open without signing in is nobody's presence

    push_id = push(local_stack, {"to": [alice_phone, bob_phone], "data": {"kind": "skip"}, "skip_online": True})
    done = wait_until_done(local_stack, push_id)
    assert done["counts"] == {"targeted": 1, "sent": 1, "failed": 0, "pruned": 0, "pending": 0, "cancelled": 0, "skipped_online": 1}
    assert delivered(fcm, push_id) == {bob_phone}

    plain = push(local_stack, {"to": [alice_phone, bob_phone], "data": {"kind": "plain"}})
    assert wait_until_done(local_stack, plain)["counts"]["sent"] == 2 and delivered(fcm, plain) == {alice_phone, bob_phone}

    socket.close()
    anonymous.close()
    # Once the stack has run $disconnect, the next push with skip_online reaches alice too.
    deadline = time.monotonic() + DISCONNECT_TIMEOUT_SECONDS
    while True:
        after = push(local_stack, {"to": [alice_phone, bob_phone], "data": {"kind": "after-close"}, "skip_online": True})
        counts = wait_until_done(local_stack, after)["counts"]
        if counts["skipped_online"] == 0 or time.monotonic() > deadline:
            break
    assert counts == {"targeted": 2, "sent": 2, "failed": 0, "pruned": 0, "pending": 0, "cancelled": 0, "skipped_online": 0}
    assert delivered(fcm, after) == {alice_phone, bob_phone}
