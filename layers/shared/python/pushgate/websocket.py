"""What the WebSocket route functions share (docs/api.md §1): parse the message, run one command,
and reply to the requesting connection through the route response (never broadcast).

Commands count against the app's "subscribe" rate (docs/limits.md) once the connection's user is
known; $connect, $disconnect and $default (which reads nothing) are not counted."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pushgate.errors import MalformedBody
from pushgate.http.envelopes import websocket_error, websocket_error_reason
from pushgate.http.request import parse_json
from pushgate.observability import logger, metrics, tracer
from pushgate.services.limits import SUBSCRIBE, counted_as

MAX_MESSAGE_BYTES = 64 * 1024
Command = Callable[[str, dict[str, Any]], dict[str, Any]]  # (connection id, message) -> reply


def reply(body: dict[str, Any]) -> dict[str, Any]:
    return {"statusCode": 200, "body": json.dumps(body, separators=(",", ":"))}


def parse_message(event: dict[str, Any]) -> dict[str, Any]:
    body = event.get("body") or ""
    if len(body.encode("utf-8", "surrogatepass")) > MAX_MESSAGE_BYTES:
        raise MalformedBody()
    message = parse_json(body)
    if not isinstance(message, dict):
        raise MalformedBody()
    return message


def _observed(handler: Callable[[dict[str, Any], Any], dict[str, Any]]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return logger.inject_lambda_context(correlation_id_path="requestContext.requestId", clear_state=True)(
        metrics.log_metrics(tracer.capture_lambda_handler(capture_response=False)(handler))
    )


def command_entry(command: str, run: Command):  # noqa: ANN201 - returns the Lambda entry point
    """The Lambda entry point of one `cmd` route."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            with counted_as(SUBSCRIBE):
                return reply(run(event["requestContext"]["connectionId"], parse_message(event)))
        except MalformedBody:
            return reply(websocket_error(None, "Invalid JSON"))
        except Exception as error:  # every failure becomes its documented error message, never a 5xx
            return reply(websocket_error(command, websocket_error_reason(command, error)))

    return _observed(lambda_handler)


def lifecycle_entry(run: Callable[[dict[str, Any]], dict[str, Any]]):  # noqa: ANN201
    """The Lambda entry point of $connect / $disconnect: the status code accepts or refuses."""
    return _observed(lambda event, context: run(event))


def default_entry():  # noqa: ANN201
    """$default: a message whose `cmd` matches no route, or that is not JSON at all."""

    def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        try:
            message = parse_message(event)
        except MalformedBody:
            return reply(websocket_error(None, "Invalid JSON"))
        command = message.get("cmd")
        return reply(websocket_error(command if isinstance(command, str) else None, "Unknown command"))

    return _observed(lambda_handler)
