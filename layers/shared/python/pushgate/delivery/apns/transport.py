"""The APNs sender's transport: a batch of iOS devices becomes one HTTP/2 request per device, all
in flight together on the shared connection (`Http2Client.send_all`, `H2Transport` in the senders), each authorised by its
channel's provider token.

Per channel, read once per container and a few minutes (ChannelCache): the team, key id, bundle id and
environment from the channel row, the .p8 key from SSM (`read_secret`, cached by its caller).
Production channels go to urls["apns"], sandbox ones (development builds) to urls["apns-sandbox"];
the URLs come from the deployment (pushgate.delivery.provider_urls), never from the channel.

What needs no request is decided first and never sent: a missing channel (REJECTED no_channel),
a token that is not 64-200 hex characters (INVALID_SUBSCRIPTION BadDeviceToken: APNs would say
the same, and the row can never be delivered to), a payload over APNs's limit (TOO_LARGE).
Every answer is classified by APNs's reason (pushgate.delivery.outcomes). One answer is acted on
here: 403 ExpiredProviderToken drops the token, once for the batch, and the refused requests are
sent again, once, with a new one."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pushgate.delivery import provider_urls
from pushgate.delivery.apns.payload import IOS, IOS_VOIP, apns_id, build_request_parts
from pushgate.delivery.apns.provider_token import ProviderTokens
from pushgate.delivery.channel_cache import ChannelCache
from pushgate.delivery.errors import ConfigurationError
from pushgate.delivery.outcomes import (
    DeliveryOutcome,
    OutcomeKind,
    Provider,
    outcome_for_exception,
    outcome_for_provider,
)
from pushgate.delivery.transport.http2 import Http2Client, Request, Response
from pushgate.errors import PayloadTooLarge
from pushgate.identifiers import log_id
from pushgate.models import ApnsEnvironment, Channel, ChannelType
from pushgate.observability import logger
from pushgate.pushes import DeliveryTarget, Push
from pushgate.repository import Repository

DEFAULT_DEADLINE_SECONDS = 30.0
EXPIRED_PROVIDER_TOKEN = "ExpiredProviderToken"
_DEVICE_TOKEN = re.compile(r"(?:[0-9a-f]{2}){32,100}")  # 64-200 hex characters, whole bytes
_REASON = re.compile(r"[A-Za-z]{1,64}")  # APNs's reasons are single words; anything else is not kept


def normalise_device_token(token: str) -> str | None:
    lowered = token.lower()
    return lowered if _DEVICE_TOKEN.fullmatch(lowered) else None


@dataclass(frozen=True)
class _Credentials:
    base_url: str
    bundle_id: str
    team_id: str
    key_id: str
    private_key_pem: str = field(repr=False)


class _ChannelUnusable(Exception):
    """This channel cannot sign for APNs; `detail` (a fixed word) becomes its targets' outcome."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True)
class _Pending:
    index: int
    endpoint_id: str
    credentials: _Credentials
    url: str = field(repr=False)  # holds the device token
    headers: Mapping[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    def request(self, bearer: str) -> Request:
        return Request("POST", self.url, {**self.headers, "authorization": f"bearer {bearer}"}, self.body)


def reason_of(response: Response) -> str | None:
    """APNs's `{"reason": ...}`; None for a body that is empty, not JSON or not one of its words."""
    try:
        parsed: Any = json.loads(response.body) if response.body else None
    except ValueError:
        return None
    reason = parsed.get("reason") if isinstance(parsed, dict) else None
    return reason if isinstance(reason, str) and _REASON.fullmatch(reason) else None


def _is_expired_provider_token(answer: Response | BaseException) -> bool:
    return isinstance(answer, Response) and answer.status == 403 and reason_of(answer) == EXPIRED_PROVIDER_TOKEN


class ApnsTransport:
    """Thread-safe: messages processed side by side share it, its token cache and its connection."""

    def __init__(
        self,
        repository: Repository,
        read_secret: Callable[[str], str],
        http: Http2Client,
        urls: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        provider_tokens: ProviderTokens | None = None,
    ) -> None:
        self._repository = repository
        self._read_secret = read_secret
        self._http = http
        self._urls = urls
        self._clock = clock
        self._deadline_seconds = deadline_seconds
        self.provider_tokens = provider_tokens or ProviderTokens(clock=clock)
        self._channels = ChannelCache(repository)

    def send(self, push: Push, targets: Sequence[DeliveryTarget], ttl: int) -> list[DeliveryOutcome]:
        """One outcome per target, in order. `ttl`: seconds left of the push's life, 0 = now or never."""
        started = time.monotonic()
        now = int(self._clock())
        fields = json.loads(push.payload)
        credentials: dict[str | None, _Credentials | _ChannelUnusable] = {}
        for channel_id in dict.fromkeys(target.channel_id for target in targets):
            # Every channel before any request: a read that fails raises before anything is sent,
            # so SQS's retry of the batch sends nothing twice.
            try:
                credentials[channel_id] = self._credentials(push.app_id, channel_id)
            except _ChannelUnusable as unusable:
                credentials[channel_id] = unusable
        outcomes: list[DeliveryOutcome | None] = [None] * len(targets)
        pending: list[_Pending] = []
        # A batch's devices of one type and app share their payload and all headers but apns-id:
        # built once per (type, bundle id), not once per device.
        shared: dict[tuple[str, str], tuple[dict[str, str], bytes] | PayloadTooLarge] = {}
        for index, target in enumerate(targets):
            prepared = self._prepare(index, target, credentials[target.channel_id], push, fields, ttl, now, shared)
            if isinstance(prepared, DeliveryOutcome):
                outcomes[index] = prepared
            else:
                pending.append(prepared)
        for item, outcome in zip(pending, self._deliver(pending, started), strict=True):
            outcomes[item.index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    @staticmethod
    def _prepare(
        index: int,
        target: DeliveryTarget,
        channel: _Credentials | _ChannelUnusable,
        push: Push,
        fields: dict[str, Any],
        ttl: int,
        now: int,
        shared: dict[tuple[str, str], tuple[dict[str, str], bytes] | PayloadTooLarge],
    ) -> _Pending | DeliveryOutcome:
        """The request for one target, or the outcome that makes one needless."""
        endpoint_id = log_id(target.token)
        if isinstance(channel, _ChannelUnusable):
            return DeliveryOutcome(OutcomeKind.REJECTED, endpoint_id, detail=channel.detail)
        if target.type not in (IOS, IOS_VOIP):
            return DeliveryOutcome(OutcomeKind.REJECTED, endpoint_id, detail="not_apns_device")
        device_token = normalise_device_token(target.token)
        if device_token is None:
            return DeliveryOutcome(OutcomeKind.INVALID_SUBSCRIPTION, endpoint_id, detail="BadDeviceToken")
        kind = (target.type, channel.bundle_id)
        if kind not in shared:
            try:
                shared[kind] = build_request_parts(
                    fields, push.push_id, target.type, target.token_hash, channel.bundle_id, ttl, now, push.urgency, push.collapse_key
                )
            except PayloadTooLarge as too_large:
                shared[kind] = too_large
        parts = shared[kind]
        if isinstance(parts, PayloadTooLarge):
            return DeliveryOutcome(OutcomeKind.TOO_LARGE, endpoint_id, detail="PayloadTooLarge")
        headers = {**parts[0], "apns-id": apns_id(push.push_id, target.token_hash)}
        return _Pending(index, endpoint_id, channel, f"{channel.base_url}/3/device/{device_token}", headers, parts[1])

    def _deliver(self, pending: list[_Pending], started: float) -> list[DeliveryOutcome]:
        bearers = [self._bearer(item.credentials) for item in pending]
        requests = [item.request(bearer) for item, bearer in zip(pending, bearers, strict=True)]
        answers = self._http.send_all(requests, self._remaining(started))
        expired = [i for i, answer in enumerate(answers) if _is_expired_provider_token(answer)]
        if expired:
            # APNs's clock says the token is over an hour old. Dropped once per token, not per
            # refusal: a new token for every refused request would be TooManyProviderTokenUpdates.
            dropped = sum(self.provider_tokens.invalidate(token) for token in {bearers[i] for i in expired})
            logger.warning(
                "APNs refused a provider token as expired; sending again with a new one",
                extra={"requests": len(expired), "tokens_dropped": dropped},
            )
            retried = [pending[i].request(self._bearer(pending[i].credentials)) for i in expired]
            for i, answer in zip(expired, self._http.send_all(retried, self._remaining(started)), strict=True):
                answers[i] = answer
        now = self._clock()
        return [self._outcome(answer, item.endpoint_id, now) for item, answer in zip(pending, answers, strict=True)]

    @staticmethod
    def _outcome(answer: Response | BaseException, endpoint_id: str, now: float) -> DeliveryOutcome:
        if isinstance(answer, BaseException):
            return outcome_for_exception(answer, endpoint_id, now)
        retry_after = answer.headers.get("retry-after")
        return outcome_for_provider(Provider.APNS, answer.status, reason_of(answer), endpoint_id, retry_after, now)

    def _remaining(self, started: float) -> float:
        return max(0.0, self._deadline_seconds - (time.monotonic() - started))

    def _bearer(self, credentials: _Credentials) -> str:
        return self.provider_tokens.token_for(credentials.team_id, credentials.key_id, credentials.private_key_pem)

    def _credentials(self, app_id: str, channel_id: str | None) -> _Credentials:
        channel = self._channels.get(app_id, channel_id) if channel_id else None
        if channel is None:
            raise _ChannelUnusable("no_channel")
        if (
            channel.type is not ChannelType.APNS
            or channel.apns_environment is None
            or not all((channel.apns_team_id, channel.apns_key_id, channel.apns_bundle_id, channel.private_key_parameter))
        ):
            raise _ChannelUnusable("not_apns_channel")
        sandbox = channel.apns_environment is ApnsEnvironment.SANDBOX
        credentials = _Credentials(
            base_url=self._urls[provider_urls.APNS_SANDBOX if sandbox else provider_urls.APNS].rstrip("/"),
            bundle_id=channel.apns_bundle_id,
            team_id=channel.apns_team_id,
            key_id=channel.apns_key_id,
            private_key_pem=self._read_secret(channel.private_key_parameter),
        )
        try:
            self._bearer(credentials)  # a key that cannot sign fails its channel's targets, not the batch
        except ConfigurationError:
            logger.error("APNs channel's provider key cannot sign", extra={"channel_id": channel.channel_id})
            raise _ChannelUnusable("bad_provider_key") from None
        return credentials

