"""Sending to the pipeline's SQS queues: batches of up to 10 entries and 256 KiB per request."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

MAX_ENTRIES = 10
MAX_BATCH_BYTES = 256 * 1024
MAX_DELAY_SECONDS = 900  # SQS's limit; longer waits are re-queued again when they come back


class QueueSendError(Exception):
    """SQS refused some entries after retries."""


class Queue:
    def __init__(self, client: Any, url: str) -> None:
        self._client = client
        self.url = url

    def send(self, messages: list[BaseModel], delay_seconds: int = 0) -> None:
        delay = max(0, min(MAX_DELAY_SECONDS, int(delay_seconds)))
        batch: list[dict[str, Any]] = []
        size = 0
        for message in messages:
            body = message.model_dump_json()
            if batch and (len(batch) == MAX_ENTRIES or size + len(body) > MAX_BATCH_BYTES):
                self._send_batch(batch)
                batch, size = [], 0
            batch.append({"Id": str(len(batch)), "MessageBody": body, "DelaySeconds": delay})
            size += len(body)
        if batch:
            self._send_batch(batch)

    def _send_batch(self, entries: list[dict[str, Any]]) -> None:
        for _ in range(5):
            response = self._client.send_message_batch(QueueUrl=self.url, Entries=entries)
            failed = {failure["Id"] for failure in response.get("Failed", []) if not failure.get("SenderFault")}
            fatal = [failure for failure in response.get("Failed", []) if failure.get("SenderFault")]
            if fatal:
                raise QueueSendError(f"{len(fatal)} messages refused: {fatal[0].get('Code')}")
            entries = [entry for entry in entries if entry["Id"] in failed]
            if not entries:
                return
        raise QueueSendError(f"{len(entries)} messages not accepted after retries")
