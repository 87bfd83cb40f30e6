"""The Web Push sender: one `WebPushClient` per container, shared by all deliveries.

Per message it only does what cannot be shared: the endpoint re-check, the RFC 8291 encryption
(fresh key and salt) and one POST. The VAPID header is cached per origin, connections are pooled
and reused, and `send_many` overlaps the network waits of many deliveries.
"""

from __future__ import annotations

import binascii
import http.client
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

from pushgate.delivery.webpush.encryption import CONTENT_ENCODING, MAX_PLAINTEXT_BYTES, ReceiverKeys, encrypt
from pushgate.delivery.errors import ConfigurationError, PayloadTooLarge
from pushgate.delivery.transport.keepalive import KeepAliveTransport, OutgoingRequest
from pushgate.delivery.outcomes import DeliveryOutcome, OutcomeKind, outcome_for_exception, outcome_for_response
from pushgate.delivery.webpush.push_headers import Urgency, check_topic, check_ttl, check_urgency
from pushgate.delivery.webpush.vapid import VapidSigner, origin_of
from pushgate.errors import InvalidValue
from pushgate.identifiers import log_id
from pushgate.validation import EndpointPolicy

_logger = logging.getLogger(__name__)

MAX_CONNECT_TIMEOUT = 5.0
MAX_READ_TIMEOUT = 10.0

_LOG_LEVELS = {
    OutcomeKind.SENT: logging.DEBUG,
    OutcomeKind.GONE: logging.INFO,
    OutcomeKind.RATE_LIMITED: logging.WARNING,
    OutcomeKind.RETRY: logging.WARNING,
    OutcomeKind.INVALID_SUBSCRIPTION: logging.WARNING,
    OutcomeKind.BLOCKED: logging.WARNING,
    OutcomeKind.REJECTED: logging.ERROR,
    OutcomeKind.TOO_LARGE: logging.ERROR,
    OutcomeKind.REDIRECTED: logging.ERROR,
}


class PushSession(Protocol):
    """What the client needs from a transport: requests.Session, KeepAliveTransport or a test fake.
    A transport that also has KeepAliveTransport's `post_many` gets whole batches at once."""

    def post(
        self, url: str, *, data: bytes, headers: dict[str, str], timeout: tuple[float, float], allow_redirects: bool
    ) -> Any: ...


@dataclass(frozen=True)
class Timeouts:
    """Seconds. Both bounded so that a batch of sends always ends well inside the Lambda timeout
    (pywebpush waits forever by default, reference §0.1)."""

    connect: float = 3.05
    read: float = 10.0

    def __post_init__(self) -> None:
        if not 0 < self.connect <= MAX_CONNECT_TIMEOUT or not 0 < self.read <= MAX_READ_TIMEOUT:
            raise ConfigurationError(
                f"timeouts must be in (0, {MAX_CONNECT_TIMEOUT}] s to connect and (0, {MAX_READ_TIMEOUT}] s to read"
            )


@dataclass(frozen=True, repr=False)
class Delivery:
    """One message for one subscription, validated when built so that a bad one never reaches
    the network. `ttl` is what remains of the push's TTL (it is clamped to 4 weeks)."""

    endpoint: str
    p256dh: str
    auth: str
    payload: bytes
    ttl: int
    urgency: Urgency | str = Urgency.NORMAL
    topic: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.endpoint, str) or not isinstance(self.p256dh, str) or not isinstance(self.auth, str):
            raise InvalidValue("subscription", "endpoint, p256dh and auth must be strings")
        if isinstance(self.payload, str):
            payload = self.payload.encode("utf-8")
        elif isinstance(self.payload, (bytes, bytearray, memoryview)):
            payload = bytes(self.payload)
        else:
            raise InvalidValue("payload", "must be bytes or text")
        if not payload:
            # pywebpush refuses to encrypt nothing, and every pushgate push has a JSON payload.
            raise InvalidValue("payload", "must not be empty")
        if len(payload) > MAX_PLAINTEXT_BYTES:
            raise PayloadTooLarge(len(payload), MAX_PLAINTEXT_BYTES)
        # Frozen dataclass: normalise in place once, so sending never has to.
        object.__setattr__(self, "payload", payload)
        object.__setattr__(self, "ttl", check_ttl(self.ttl))
        object.__setattr__(self, "urgency", check_urgency(self.urgency))
        if self.topic is not None:
            check_topic(self.topic)

    def __repr__(self) -> str:
        # The endpoint path, p256dh and auth are bearer secrets (RFC 8030 §8.5, RFC 8291 §2.1).
        try:
            host = urlsplit(self.endpoint).hostname
        except ValueError:
            host = None
        return (
            f"Delivery(host={host}, endpoint_id={log_id(self.endpoint)}, ttl={self.ttl}, "
            f"urgency={self.urgency}, topic={'set' if self.topic else None}, payload={len(self.payload)} bytes)"
        )


class WebPushClient:
    """Sends Deliveries and says what each answer means (DeliveryOutcome). Never raises for a
    push-service answer or a network failure; build one per container and share it."""

    def __init__(
        self,
        signer: VapidSigner,
        policy: EndpointPolicy,
        *,
        concurrency: int = 16,
        session: PushSession | None = None,
        timeouts: Timeouts = Timeouts(),
        content_encoding: str = CONTENT_ENCODING,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """`session` defaults to a KeepAliveTransport sized for `concurrency`; any object with a
        requests-style `post` works (see requests_session.new_requests_session)."""
        if content_encoding != CONTENT_ENCODING:
            # The legacy "aesgcm" draft is not offered: every current push service takes aes128gcm.
            raise ConfigurationError("only the aes128gcm content encoding (RFC 8188) is supported")
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        self._signer = signer
        self._policy = policy
        self._concurrency = concurrency
        self._timeout = (timeouts.connect, timeouts.read)
        self._clock = clock
        if session is None:
            session = KeepAliveTransport(pool_size=concurrency)
        self._session = session

    def send(self, delivery: Delivery) -> DeliveryOutcome:
        return self.send_many([delivery])[0]

    def send_many(self, deliveries: Iterable[Delivery], max_workers: int | None = None) -> list[DeliveryOutcome]:
        """Outcomes in the order of `deliveries`, at most `concurrency` (or `max_workers`) requests
        in flight. A transport with `post_many` (KeepAliveTransport) runs them all from this thread;
        a requests-style session gets one thread per request in flight."""
        batch = list(deliveries)
        workers = min(max_workers or self._concurrency, self._concurrency)
        if hasattr(self._session, "post_many"):
            return self._send_multiplexed(batch, workers)
        return self._send_threaded(batch, workers)

    def _send_multiplexed(self, batch: list[Delivery], workers: int) -> list[DeliveryOutcome]:
        outcomes: list[DeliveryOutcome | None] = [None] * len(batch)
        requested: list[tuple[int, str, str]] = []  # (index in batch, endpoint_id, origin) per request

        def requests() -> Iterator[OutgoingRequest]:
            # Consumed lazily by the transport: messages are encrypted when slots free up, while
            # the answers to the others are on their way.
            for index, delivery in enumerate(batch):
                prepared = self._prepare(delivery)
                if isinstance(prepared, DeliveryOutcome):
                    outcomes[index] = prepared
                    continue
                origin, request = prepared
                requested.append((index, log_id(delivery.endpoint), origin))
                yield request

        results = self._session.post_many(requests(), timeout=self._timeout, concurrency=workers)
        now = self._clock()
        for (index, endpoint_id, origin), result in zip(requested, results, strict=True):
            outcomes[index] = self._logged(self._classify(result, endpoint_id, now), origin)
        return outcomes  # type: ignore[return-value]  # every delivery was either requested or refused

    def _send_threaded(self, batch: list[Delivery], workers: int) -> list[DeliveryOutcome]:
        workers = min(workers, len(batch))
        if workers <= 1:
            return [self._send_one(delivery) for delivery in batch]
        outcomes: list[DeliveryOutcome | None] = [None] * len(batch)
        pending = iter(enumerate(batch))
        pending_lock = threading.Lock()

        # Each worker pulls the next delivery itself: one future per delivery (executor.map)
        # cost 17-25 us of CPU each here, about 5% of a whole delivery.
        def work() -> None:
            while True:
                with pending_lock:
                    item = next(pending, None)
                if item is None:
                    return
                outcomes[item[0]] = self._send_one(item[1])

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webpush") as pool:
            for worker in [pool.submit(work) for _ in range(workers)]:
                worker.result()  # re-raises what a worker did not expect
        return outcomes  # type: ignore[return-value]  # every slot is filled once the workers return

    def _send_one(self, delivery: Delivery) -> DeliveryOutcome:
        prepared = self._prepare(delivery)
        if isinstance(prepared, DeliveryOutcome):
            return prepared
        origin, request = prepared
        endpoint_id = log_id(delivery.endpoint)
        try:
            result: Any = self._session.post(
                request.url, data=request.body, headers=request.headers, timeout=self._timeout, allow_redirects=False
            )
        except (OSError, http.client.HTTPException, ValueError) as exc:  # requests' exceptions are OSErrors too
            result = exc
        return self._logged(self._classify(result, endpoint_id, self._clock()), origin)

    def _prepare(self, delivery: Delivery) -> tuple[str, OutgoingRequest] | DeliveryOutcome:
        """The request for one delivery, or the outcome that says why none is made."""
        endpoint = delivery.endpoint
        # Rows may predate validation or have been written around it: re-check every time (F3).
        if not self._policy.is_allowed(endpoint):
            return self._logged(DeliveryOutcome(OutcomeKind.BLOCKED, log_id(endpoint), detail="endpoint policy"), None)
        origin = origin_of(endpoint)
        try:
            body = encrypt(delivery.payload, ReceiverKeys.from_subscription(delivery.p256dh, delivery.auth))
        except (ValueError, binascii.Error) as exc:
            outcome = DeliveryOutcome(OutcomeKind.INVALID_SUBSCRIPTION, log_id(endpoint), detail=type(exc).__name__)
            return self._logged(outcome, origin)
        headers = {
            "TTL": str(delivery.ttl),
            "Content-Encoding": CONTENT_ENCODING,
            "Content-Type": "application/octet-stream",
            "Urgency": str(delivery.urgency),
            "Authorization": self._signer.header(origin, self._clock()),
        }
        if delivery.topic is not None:
            headers["Topic"] = delivery.topic
        return origin, OutgoingRequest(endpoint, body, headers)

    @staticmethod
    def _classify(result: Any, endpoint_id: str, now: float) -> DeliveryOutcome:
        if isinstance(result, BaseException):
            if isinstance(result, ValueError) and not isinstance(result, OSError):
                # The transport refused to write the request (it would have split the request line
                # or headers): nothing was sent, and retrying cannot help.
                return DeliveryOutcome(OutcomeKind.BLOCKED, endpoint_id, detail="unsafe request")
            return outcome_for_exception(result, endpoint_id, now)
        return outcome_for_response(result, endpoint_id, now)

    def close(self) -> None:
        close = getattr(self._session, "close", None)
        if close is not None:
            close()

    @staticmethod
    def _logged(outcome: DeliveryOutcome, origin: str | None) -> DeliveryOutcome:
        level = _LOG_LEVELS[outcome.kind]
        if not _logger.isEnabledFor(level):
            return outcome
        # Host and hashed endpoint only: never the endpoint path, keys or the JWT (docs/api.md §6).
        _logger.log(
            level,
            "web push %s: origin=%s endpoint_id=%s status=%s detail=%s retry_after=%s",
            outcome.kind.value,
            origin,
            outcome.endpoint_id,
            outcome.status_code,
            outcome.detail,
            outcome.retry_after,
            extra={
                "push_outcome": outcome.kind.value,
                "push_origin": origin,
                "endpoint_id": outcome.endpoint_id,
                "status_code": outcome.status_code,
            },
        )
        return outcome
