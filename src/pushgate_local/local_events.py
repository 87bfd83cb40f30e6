"""The template's EventBridge buses in the embedded endpoint, and what was put on them.

`provision` creates every AWS::Events::EventBus of the template (what `sam deploy` would create)
and, on each, a local-only rule sending every event to a local-only SQS queue: the events the
functions publish really go through PutEvents and the bus's rule matching, as an app's rule would.
`GET /_pushgate/local/events` drains that queue into the list kept here and answers the whole
list, oldest first, each entry the EventBridge event as a target receives it (docs/events.md).
`?detail-type=` narrows the answer to one detail-type."""

from __future__ import annotations

import json
import threading
from typing import Any
from urllib.parse import parse_qs

from pushgate_local.http_events import HttpRequest, HttpResponse, json_message
from pushgate_local.intrinsics import StackContext
from pushgate_local.template import resources

EVENTS_PATH = "/_pushgate/local/events"
RECORDING_QUEUE = "pushgate-local-recorded-events"
RECORDING_RULE = "pushgate-local-record-everything"
RECEIVE_BATCH = 10  # SQS's most per ReceiveMessage


class LocalEvents:
    def __init__(self) -> None:
        self._sqs: Any = None
        self._queue_url: str | None = None
        self._recorded: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # requests are served on threads of their own

    def provision(self, context: StackContext, events: Any, sqs: Any) -> list[str]:
        """Create the template's buses, each with the recording rule; returns the bus names."""
        buses = [str(context.ref(logical_id)) for logical_id in resources(context.template, "AWS::Events::EventBus")]
        if not buses:
            return []
        self._sqs = sqs
        self._queue_url = sqs.create_queue(QueueName=RECORDING_QUEUE)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=self._queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        for bus in buses:
            try:
                events.create_event_bus(Name=bus)
            except events.exceptions.ResourceAlreadyExistsException:
                pass  # a restart against the same endpoint
            # Every source the stack's functions put events as; an app's own rules sit beside it.
            events.put_rule(Name=RECORDING_RULE, EventBusName=bus, EventPattern=json.dumps({"source": ["pushgate"]}), State="ENABLED")
            events.put_targets(Rule=RECORDING_RULE, EventBusName=bus, Targets=[{"Id": "recorder", "Arn": queue_arn}])
        return buses

    def recorded(self) -> list[dict[str, Any]]:
        """Everything put on the buses so far, oldest first."""
        with self._lock:
            while self._sqs is not None and self._queue_url is not None:
                messages = self._sqs.receive_message(QueueUrl=self._queue_url, MaxNumberOfMessages=RECEIVE_BATCH).get("Messages", [])
                if not messages:
                    break
                for message in messages:
                    self._recorded.append(json.loads(message["Body"]))
                    self._sqs.delete_message(QueueUrl=self._queue_url, ReceiptHandle=message["ReceiptHandle"])
            self._recorded.sort(key=lambda event: event.get("time", ""))
            return list(self._recorded)

    def respond(self, request: HttpRequest) -> HttpResponse | None:
        """The answer to GET /_pushgate/local/events; None for any other request."""
        if request.raw_path != EVENTS_PATH:
            return None
        if request.method != "GET":
            return json_message(405, "Method Not Allowed")
        wanted = parse_qs(request.raw_query).get("detail-type")
        events = [event for event in self.recorded() if not wanted or event.get("detail-type") in wanted]
        body = json.dumps({"events": events}).encode()
        return HttpResponse(200, [("content-type", "application/json")], body)
