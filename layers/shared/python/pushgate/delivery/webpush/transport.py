"""The Web Push sender's transport: turns a batch of delivery targets into Web Push requests,
each signed with its own channel's VAPID key, over one shared connection pool.

VAPID private keys are read from SSM Parameter Store (SecureString) through Powertools
parameters, cached per container; a signer is built once per key (a bad key fails there, on
the first batch of that channel, not per message)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from pushgate.delivery.channel_cache import ChannelCache
from pushgate.delivery.outcomes import DeliveryOutcome, OutcomeKind
from pushgate.delivery.webpush.push_headers import collapse_topic, push_topic
from pushgate.delivery.webpush.vapid import VapidSigner
from pushgate.delivery.webpush.client import Delivery, WebPushClient
from pushgate.errors import PayloadTooLarge, PushgateError
from pushgate.identifiers import log_id
from pushgate.models import Channel
from pushgate.pushes import DeliveryTarget, Push
from pushgate.repository import Repository
from pushgate.validation import EndpointPolicy


class ChannelNotFound(PushgateError):
    """A delivery names a channel that no longer exists: nothing can sign for it."""


class ChannelTransport:
    def __init__(
        self,
        repository: Repository,
        read_secret: Callable[[str], str],
        subject: str,
        policy: EndpointPolicy,
        session: Any,
        concurrency: int = 50,
    ) -> None:
        self._repository = repository
        self._read_secret = read_secret
        self._subject = subject
        self._policy = policy
        self._session = session
        self._concurrency = concurrency
        self._clients: dict[tuple[str, str], WebPushClient] = {}
        self._channels = ChannelCache(repository)

    def _channel(self, app_id: str, channel_id: str) -> Channel:
        channel = self._channels.get(app_id, channel_id)
        if channel is None:
            raise ChannelNotFound(f"channel {channel_id}")
        return channel

    def _client(self, app_id: str, channel_id: str) -> WebPushClient:
        channel = self._channel(app_id, channel_id)
        pem = self._read_secret(channel.vapid_private_key_parameter)
        cache_key = (channel_id, hashlib.sha256(pem.encode()).hexdigest())  # a rotated key gets a new signer
        client = self._clients.get(cache_key)
        if client is None:
            signer = VapidSigner(pem, self._subject)
            client = WebPushClient(signer, self._policy, concurrency=self._concurrency, session=self._session)
            self._clients[cache_key] = client
        return client

    def send(self, push: Push, targets: Sequence[DeliveryTarget], ttl: int) -> list[DeliveryOutcome]:
        outcomes: list[DeliveryOutcome | None] = [None] * len(targets)
        by_channel: defaultdict[str, list[tuple[int, Delivery]]] = defaultdict(list)
        topic = collapse_topic(push.collapse_key) if push.collapse_key else push_topic(push.push_id)
        payload = push.payload.encode("utf-8")
        for index, target in enumerate(targets):
            try:
                delivery = Delivery(endpoint=target.token, p256dh=target.p256dh or "", auth=target.auth or "",
                                    payload=payload, ttl=ttl, urgency=push.urgency, topic=topic)
            except PayloadTooLarge:
                outcomes[index] = DeliveryOutcome(OutcomeKind.TOO_LARGE, log_id(target.token), detail="payload over 3993 bytes")
                continue
            except PushgateError as error:
                outcomes[index] = DeliveryOutcome(OutcomeKind.INVALID_SUBSCRIPTION, log_id(target.token), detail=type(error).__name__)
                continue
            by_channel[target.channel_id or ""].append((index, delivery))
        # Every channel's signer first: if one cannot be had, the batch fails before anything is
        # sent, so SQS's retry of it sends nothing twice.
        clients = {channel_id: self._client(push.app_id, channel_id) for channel_id in by_channel}
        for channel_id, indexed in by_channel.items():
            for (index, _), outcome in zip(indexed, clients[channel_id].send_many([d for _, d in indexed]), strict=True):
                outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]
