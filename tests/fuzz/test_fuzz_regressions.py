"""The exact inputs behind the fuzzing findings (docs/security.md, Findings), each refused or
handled as the contract says now."""

from __future__ import annotations

import socket

import pytest
import requests

from pushgate.errors import InvalidAuthSecret, InvalidEndpoint, InvalidP256dh, InvalidValue, MalformedBody
from pushgate.http.envelopes import notiflows_request_id, pushy_errors
from pushgate.http.request import json_body
from pushgate.pushes import parse_push_request
from pushgate.services.subscriptions import check_native_token
from pushgate.validation import EndpointPolicy, check_auth_secret, check_p256dh
from pushgate_local.http_gateway import HttpGateway
from pushgate_local.http_routing import RouteTable
from tests.keys import browser_keys

# Python's "$" also matches just before a final "\n": each of these passed its pattern, and the
# newline was then dropped (urlsplit, b64decode) or kept (stored tokens, echoed request ids).
P256DH, AUTH = browser_keys()


@pytest.mark.parametrize(
    "endpoint", ["https://fcm.googleapis.com/fcm/send/abc\n", "https://fcm.googleapis.com\n", "https://web.push.apple.com/x\n"]
)
def test_an_endpoint_with_a_final_newline_is_refused(endpoint: str) -> None:
    with pytest.raises(InvalidEndpoint):
        EndpointPolicy().check(endpoint)


def test_an_extra_push_host_endpoint_with_a_final_newline_is_refused() -> None:
    with pytest.raises(InvalidEndpoint):
        EndpointPolicy.from_setting(("127.0.0.1:9",)).check("http://127.0.0.1:9/\n")


def test_subscription_keys_with_a_final_newline_are_refused() -> None:
    assert check_p256dh(P256DH) == P256DH and check_auth_secret(AUTH) == AUTH
    with pytest.raises(InvalidP256dh):
        check_p256dh(P256DH + "\n")
    with pytest.raises(InvalidAuthSecret):
        check_auth_secret(AUTH + "\n")


def test_a_native_token_with_a_final_newline_is_refused() -> None:
    with pytest.raises(InvalidValue):
        check_native_token("a" * 64 + "\n")


def test_a_request_id_with_a_final_newline_is_not_echoed() -> None:
    event = {"headers": {"x-request-id": "abc\n"}, "requestContext": {"requestId": "Zx1"}}
    assert notiflows_request_id(event) == "req_Zx1"


def test_the_local_http_gateway_sends_without_nagle_delay() -> None:
    """Finding: every keep-alive response of the local HTTP API waited 40 ms for the client's
    delayed ACK (headers and body are two writes). Asserted on the socket option, not on time."""
    seen: list[int] = []
    gateway = HttpGateway(0, RouteTable([]), lambda function, event: pytest.fail("no route is invoked"), lambda: {"ok": True})
    handler = gateway._server.RequestHandlerClass

    class Recording(handler):  # type: ignore[misc, valid-type]
        def handle(self) -> None:
            seen.append(self.connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            super().handle()

    gateway._server.RequestHandlerClass = Recording
    gateway.start()
    try:
        assert requests.get(f"{gateway.url}/_pushgate/local", timeout=10).json() == {"ok": True}
    finally:
        gateway.stop()
    assert seen and all(seen), "TCP_NODELAY is not set on the accepted connection"


@pytest.mark.parametrize("body", ['{"to": "t", "data": NaN}', '{"to": "t", "data": {"x": Infinity}}', '{"to": "t", "data": [-Infinity]}', '{"to": "t", "data": 1e400}'])
def test_a_push_with_a_non_json_number_is_refused(body: str) -> None:
    """Finding: Python's json reads NaN, Infinity and 1e400 (as infinity); the push was accepted and
    its Web Push payload carried `NaN`, which a service worker's `event.data.json()` cannot parse."""
    event = {"body": body, "isBase64Encoded": False}
    with pytest.raises(MalformedBody):
        parse_push_request(json_body(event))
    assert pushy_errors(MalformedBody(), event).status_code == 400
