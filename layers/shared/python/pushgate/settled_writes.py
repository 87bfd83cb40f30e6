"""Writes that record work already done and that cannot be undone (requests the push services
accepted, delivery batches queued): the push's counters, a sender's idempotency record.

Raising from such a write would hand the SQS message back, and its redelivery would do the work
again: a sender batch sent twice, or a fan-out read again after the topic changed (a device pruned
meanwhile makes batches of other devices, which the sender's idempotency cannot recognise), and so
sent twice. So the write is retried here while its error proves that it did not happen (throttled,
or no connection made), and then given up with a log line and False, never raised. An error after
which it may have happened (a read timeout) is not retried: counting twice is no better than not
counting. tests/faults/test_dynamodb_faults.py fails such a write at each of its call sites."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError

from pushgate.observability import logger

ATTEMPTS = 4
FIRST_BACKOFF_SECONDS = 0.1  # then 0.2 and 0.4: under a second in all, against a throttled partition
# DynamoDB error codes of a request it refused before doing anything.
NOT_APPLIED_CODES = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
})


def did_not_happen(error: BaseException) -> bool:
    if isinstance(error, (ConnectTimeoutError, EndpointConnectionError)):
        return True
    return isinstance(error, ClientError) and error.response.get("Error", {}).get("Code") in NOT_APPLIED_CODES


def write_settled(what: str, write: Callable[..., Any], *args: Any, sleep: Callable[[float], None] = time.sleep, **kwargs: Any) -> bool:
    """Call `write`; True once it succeeded, False if it was given up (logged, never raised)."""
    for attempt in range(ATTEMPTS):
        try:
            write(*args, **kwargs)
            return True
        except Exception as error:  # noqa: BLE001 - raising would redo work that cannot be undone
            if not did_not_happen(error) or attempt == ATTEMPTS - 1:
                logger.exception(
                    "a write after work already done failed; the message is not handed back for it",
                    extra={"write": what, "error": type(error).__name__, "may_have_happened": not did_not_happen(error)},
                )
                return False
            sleep(FIRST_BACKOFF_SECONDS * 2**attempt)
    return False
