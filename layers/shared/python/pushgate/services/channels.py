"""Channel subscriptions (docs/api.md §5, Notiflows): a user's web push subscriptions in one channel,
identified by their endpoint."""

from __future__ import annotations

import uuid

from pushgate.errors import FieldMissing, InvalidValue, NotFound
from pushgate.models import Caller, Channel, ChannelType, Device
from pushgate.repository import Repository
from pushgate.services.subscriptions import Registered, SubscriptionService, WebSubscription, check_unsubscribe_endpoint


class ChannelSubscriptionService:
    def __init__(self, repository: Repository, subscriptions: SubscriptionService) -> None:
        self._repository = repository
        self._subscriptions = subscriptions

    def channel(self, caller: Caller, channel_id: str) -> Channel:
        try:
            uuid.UUID(channel_id)
        except ValueError as error:
            raise InvalidValue("channel_id", "invalid_uuid") from error
        channel = self._repository.get_channel(caller.app.app_id, channel_id.lower())
        if channel is None or channel.type is not ChannelType.WEBPUSH:
            raise NotFound("channel")
        return channel

    def upsert(self, caller: Caller, channel_id: str, identifier: object, settings: object) -> Registered:
        channel = self.channel(caller, channel_id)
        if identifier is None or identifier == "":
            raise FieldMissing("identifier")
        if settings is None:
            raise FieldMissing("settings")
        if not isinstance(settings, dict):
            raise InvalidValue("settings", "an object")
        endpoint = settings.get("endpoint")
        if endpoint is not None and endpoint != identifier:
            raise InvalidValue("settings.endpoint", "must equal identifier")
        subscription = WebSubscription.parse(self._subscriptions.policy, identifier, settings.get("p256dh"), settings.get("auth"))
        return self._subscriptions.register_in_channel(caller, subscription, channel.channel_id)

    def list(self, caller: Caller, channel_id: str) -> list[Device]:
        channel = self.channel(caller, channel_id)
        return self._subscriptions.active_for_user(caller, channel.channel_id)

    def delete(self, caller: Caller, channel_id: str, identifier: object) -> None:
        self.channel(caller, channel_id)
        endpoint = check_unsubscribe_endpoint(identifier, "identifier")
        self._subscriptions.unsubscribe_token(caller, endpoint)
