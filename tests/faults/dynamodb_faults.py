"""DynamoDB failing at one call site of the pipeline: every client call goes through
BaseClient._make_api_call, above botocore's own retries, so a fault raised here is what the code
sees once those retries are spent. A call site is the innermost frame of pushgate (a repository
method) or of Powertools' idempotency layer that made the call, with its operation; the sites are
found by running the pipeline once without faults, so a call added later is covered without
editing the tests."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError, ConnectTimeoutError, ReadTimeoutError

_OWN_CODE = ("/pushgate/", "/aws_lambda_powertools/utilities/idempotency/")
_NOT_A_SITE = ("/pushgate/sqs.py", "/pushgate/observability.py")


class DynamoFault(StrEnum):
    THROTTLED = "throttled"  # ProvisionedThroughputExceededException: the call did nothing
    CONNECT_TIMEOUT = "connect timeout"  # never reached DynamoDB: did nothing
    READ_TIMEOUT = "read timeout"  # reached DynamoDB and was applied; the answer was lost


def _name(frame: Any) -> str:
    module = frame.f_code.co_filename.replace("\\", "/").rsplit("/", 1)[-1].removesuffix(".py")
    return f"{module}.{frame.f_code.co_qualname}"


def call_site() -> str:
    """The repository method the pipeline called (the outermost frame of pushgate.repository, so
    that get_push and get_channel are two sites although both read through one helper), else the
    innermost frame of our code or of the idempotency layer."""
    frame = sys._getframe(2)
    while frame is not None:
        path = frame.f_code.co_filename.replace("\\", "/")
        if "/pushgate/repository/" in path:
            while frame.f_back is not None and "/pushgate/repository/" in frame.f_back.f_code.co_filename.replace("\\", "/"):
                frame = frame.f_back
            return _name(frame)
        if any(part in path for part in _OWN_CODE) and not path.endswith(_NOT_A_SITE):
            return _name(frame)
        frame = frame.f_back
    return "elsewhere"


def fault_error(fault: DynamoFault, operation: str) -> Exception:
    if fault is DynamoFault.THROTTLED:
        error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "Rate of requests exceeds the allowed throughput."}}
        return ClientError(error, operation)
    if fault is DynamoFault.CONNECT_TIMEOUT:
        return ConnectTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
    return ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")


@dataclass
class DynamoCalls:
    """Watches every DynamoDB call; fails the first `times` calls at `target` with `fault`."""

    target: tuple[str, str] | None = None  # (site, operation)
    fault: DynamoFault = DynamoFault.THROTTLED
    times: int = 1
    sites: dict[tuple[str, str], int] = field(default_factory=dict)  # calls seen per site
    injected: int = 0
    armed: bool = False  # only while the pipeline runs, not while the world is built
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def before(self, operation: str) -> bool:
        """Whether this call is the one to fail (counted as seen either way)."""
        site = (call_site(), operation)
        with self._lock:
            if not self.armed:
                return False
            self.sites[site] = self.sites.get(site, 0) + 1
            if site != self.target or self.injected >= self.times:
                return False
            self.injected += 1
            return True


@contextmanager
def watched_dynamodb(calls: DynamoCalls) -> Iterator[DynamoCalls]:
    original = BaseClient._make_api_call

    def make_api_call(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name != "dynamodb" or not calls.before(operation):
            return original(client, operation, params)
        if calls.fault is DynamoFault.READ_TIMEOUT:
            original(client, operation, params)  # applied; its answer never arrives
        raise fault_error(calls.fault, operation)

    BaseClient._make_api_call = make_api_call  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
