"""The native sender's FCM transport: a batch of delivery targets becomes FCM HTTP v1 requests,
one per device (FCM has no batch endpoint any more), all in flight together as streams of one
HTTP/2 connection, each authorised by its channel's service-account access token.

Before anything is sent, every target's channel and key are resolved (a failing secret read
raises, and SQS's retry of the batch then sends nothing twice) and every account's token is had.
A 401 about our access token (UNAUTHENTICATED: revoked, or expired sooner than our clock says)
drops the token once and sends the refused requests again once; a second 401 is the table's
outcome, and so is THIRD_PARTY_AUTH_ERROR, which no token of ours would change. Every
other answer is classified by pushgate.delivery.outcomes: FCM's errorCode (error.details[] of
type FcmError), else the google.rpc error.status, else the HTTP status."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pushgate.delivery.channel_cache import ChannelCache
from pushgate.delivery.fcm.message import MAX_MESSAGE_BYTES, MessageTemplate, ReservedDataKey
from pushgate.delivery.fcm.oauth import AccessTokenError, AccessTokens, ServiceAccount
from pushgate.delivery.outcomes import (
    DeliveryOutcome,
    OutcomeKind,
    Provider,
    kind_for_status,
    outcome_for_exception,
    outcome_for_provider,
)
from pushgate.delivery.provider_urls import FCM, FCM_TOKEN
from pushgate.delivery.transport.http2 import DeadlineExceeded, Http2Client, Request, Response
from pushgate.identifiers import log_id
from pushgate.models import Channel, ChannelType
from pushgate.pushes import DeliveryTarget, Push
from pushgate.repository import Repository

FCM_ERROR_TYPE = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
UNAUTHENTICATED = 401
_REASON = re.compile(r"^[A-Z_]{1,64}$")  # FCM's and google.rpc's vocabulary; anything else is not logged
AccountKey = tuple[str, str, str]  # ServiceAccount.cache_key


@dataclass
class _Delivery:
    index: int
    endpoint_id: str
    account: ServiceAccount
    body: bytes


class FcmTransport:
    """Thread-safe; one per container. `tokens` is exposed for tests and for sharing."""

    def __init__(
        self,
        repository: Repository,
        read_secret: Callable[[str], str],
        http: Http2Client,
        urls: Mapping[str, str],
        clock: Callable[[], float] = time.time,
        deadline_seconds: float = 30.0,
        tokens: AccessTokens | None = None,
    ) -> None:
        self._repository = repository
        self._read_secret = read_secret
        self._http = http
        self._fcm_url = urls[FCM].rstrip("/")
        self._clock = clock
        self._deadline = deadline_seconds
        self.tokens = tokens or AccessTokens(http, urls[FCM_TOKEN], clock)
        self._channels = ChannelCache(repository)

    def send(self, push: Push, targets: Sequence[DeliveryTarget], ttl: int) -> list[DeliveryOutcome]:
        started = time.monotonic()
        outcomes: list[DeliveryOutcome | None] = [None] * len(targets)
        deliveries = self._deliveries(push, targets, ttl, outcomes)
        bearers = self._bearers(deliveries, outcomes)
        refused = self._send_round([d for d in deliveries if outcomes[d.index] is None], bearers, outcomes, started, final=False)
        if refused:
            for token in {bearers[delivery.account.cache_key] for delivery in refused}:
                self.tokens.invalidate(token)
            bearers = self._bearers(refused, outcomes)
            self._send_round([d for d in refused if outcomes[d.index] is None], bearers, outcomes, started, final=True)
        return [outcome for outcome in outcomes if outcome is not None]

    def _deliveries(self, push: Push, targets: Sequence[DeliveryTarget], ttl: int, outcomes: list[DeliveryOutcome | None]) -> list[_Delivery]:
        """A request body per target that can be sent; the others get their outcome here."""
        fields = {name: value for name, value in json.loads(push.payload).items() if name != "id"}
        try:
            template: MessageTemplate | None = MessageTemplate(fields, push.push_id, ttl, push.urgency, push.collapse_key)
            unsendable = "" if template.payload_bytes <= MAX_MESSAGE_BYTES else f"message over {MAX_MESSAGE_BYTES} bytes"
        except ReservedDataKey:
            template, unsendable = None, "reserved_data_key"
        accounts: dict[str | None, tuple[ServiceAccount | None, str]] = {}
        deliveries: list[_Delivery] = []
        for index, target in enumerate(targets):
            endpoint_id = log_id(target.token)
            if target.channel_id not in accounts:
                accounts[target.channel_id] = self._account(push.app_id, target.channel_id)
            account, problem = accounts[target.channel_id]
            if account is None:
                outcomes[index] = DeliveryOutcome(OutcomeKind.REJECTED, endpoint_id, detail=problem)
            elif template is None:  # only pushes older than POST /push's checks get here
                outcomes[index] = DeliveryOutcome(OutcomeKind.INVALID_REQUEST, endpoint_id, detail=unsendable)
            elif unsendable:
                outcomes[index] = DeliveryOutcome(OutcomeKind.TOO_LARGE, endpoint_id, detail=unsendable)
            else:
                deliveries.append(_Delivery(index, endpoint_id, account, template.body_for(target.token)))
        return deliveries

    def _account(self, app_id: str, channel_id: str | None) -> tuple[ServiceAccount | None, str]:
        channel = self._channels.get(app_id, channel_id) if channel_id else None
        if channel is None:
            return None, "no_channel"
        if channel.type is not ChannelType.FCM or not (
            channel.fcm_project_id and channel.fcm_client_email and channel.private_key_parameter
        ):
            return None, "channel_not_fcm"
        pem = self._read_secret(channel.private_key_parameter)  # raises before anything is sent
        return ServiceAccount(channel.fcm_project_id, channel.fcm_client_email, channel.fcm_private_key_id, pem), ""


    def _bearers(self, deliveries: Sequence[_Delivery], outcomes: list[DeliveryOutcome | None]) -> dict[AccountKey, str]:
        """Each account's access token; the deliveries of an account that has none get its outcome."""
        bearers: dict[AccountKey, str] = {}
        failures: dict[AccountKey, AccessTokenError] = {}
        for delivery in deliveries:
            key = delivery.account.cache_key
            if key not in bearers and key not in failures:
                try:
                    bearers[key] = self.tokens.token(delivery.account)
                except AccessTokenError as error:
                    failures[key] = error
            if key in failures:
                outcomes[delivery.index] = _token_failure(failures[key], delivery.endpoint_id)
        return bearers

    def _send_round(
        self,
        deliveries: list[_Delivery],
        bearers: Mapping[AccountKey, str],
        outcomes: list[DeliveryOutcome | None],
        started: float,
        final: bool,
    ) -> list[_Delivery]:
        """Sends `deliveries` in one `send_all` within what is left of the batch's deadline; fills
        their outcomes, except (unless `final`) the 401s, which it returns to go again."""
        if not deliveries:
            return []
        remaining = self._deadline - (time.monotonic() - started)
        if remaining <= 0:
            for delivery in deliveries:
                outcomes[delivery.index] = outcome_for_exception(DeadlineExceeded(), delivery.endpoint_id)
            return []
        requests = [
            Request(
                "POST",
                f"{self._fcm_url}/v1/projects/{delivery.account.project_id}/messages:send",
                headers={"authorization": f"Bearer {bearers[delivery.account.cache_key]}", "content-type": "application/json"},
                body=delivery.body,
            )
            for delivery in deliveries
        ]
        refused: list[_Delivery] = []
        answers = self._http.send_all(requests, remaining)
        now = self._clock()
        for delivery, answer in zip(deliveries, answers, strict=True):
            if not final and _bearer_refused(answer):
                refused.append(delivery)
            else:
                outcomes[delivery.index] = classify(answer, delivery.endpoint_id, now)
        return refused


def classify(answer: Response | BaseException, endpoint_id: str, now: float | None = None) -> DeliveryOutcome:
    if isinstance(answer, BaseException):
        return outcome_for_exception(answer, endpoint_id, now)
    reason = fcm_reason(answer.body)
    return outcome_for_provider(Provider.FCM, answer.status, reason, endpoint_id, answer.headers.get("retry-after"), now)


def _bearer_refused(answer: Response | BaseException) -> bool:
    """A 401 about our access token. THIRD_PARTY_AUTH_ERROR is a 401 too, but about the APNs or
    Web Push credentials configured in Firebase: a new token of ours would not change it."""
    if not isinstance(answer, Response) or answer.status != UNAUTHENTICATED:
        return False
    return fcm_reason(answer.body) in (None, "UNAUTHENTICATED")


def fcm_reason(body: bytes) -> str | None:
    """FcmError's errorCode if the error has one, else the google.rpc status; None for a body
    that is not Google's error shape (a proxy's HTML page, a 200's {"name"})."""
    try:
        parsed: Any = json.loads(body)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    if not isinstance(error, dict):
        return None
    details = error.get("details")
    for detail in details if isinstance(details, list) else []:
        if isinstance(detail, dict) and detail.get("@type") == FCM_ERROR_TYPE:
            code = detail.get("errorCode")
            if isinstance(code, str) and _REASON.match(code):
                return code
    status = error.get("status")
    return status if isinstance(status, str) and _REASON.match(status) else None


def _token_failure(error: AccessTokenError, endpoint_id: str) -> DeliveryOutcome:
    """No token, no request. The token endpoint's refusal (a revoked or deleted key, a disabled
    account: 4xx) is a configuration alarm; its 5xx, 429 or silence is transient."""
    if error.status is None:
        kind = OutcomeKind.REJECTED if error.code == "private_key_unusable" else OutcomeKind.RETRY
    else:
        kind = kind_for_status(error.status)
        if kind is OutcomeKind.SENT:  # a 200 without a usable token: nothing was sent
            kind = OutcomeKind.RETRY
    return DeliveryOutcome(kind, endpoint_id, error.status, detail=f"oauth:{error.code}")
