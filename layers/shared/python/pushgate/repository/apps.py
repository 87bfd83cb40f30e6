"""Apps and what hangs off them: the API-key and account-number lookups, and the app's channels
(one per provider, guarded by a provider marker)."""

from __future__ import annotations

from typing import Any

from pushgate import keys
from pushgate.models import App, Channel
from pushgate.repository.base import ConditionFailed, RepositoryBase, _from_ddb, _to_ddb


class AppsMixin(RepositoryBase):
    # -- apps, keys, accounts, channels ------------------------------------------------------

    def next_account_id(self) -> int:
        return self._add_counter(keys.ACCOUNT_COUNTER_PK, "COUNTER", "value")

    def create_app(self, app: App, channels: list[Channel]) -> None:
        """App, its key lookups, its account number and its channels, all or nothing."""
        app_item = {"PK": keys.app_pk(app.app_id), "SK": keys.APP_SK, "entity": "App", **app.model_dump(mode="json")}
        app_item["user_token_keys"] = list(app.user_token_keys)
        lookups = [
            {"PK": keys.api_key_pk(app.secret_key_hash), "SK": "APIKEY", "entity": "ApiKey", "app_id": app.app_id, "kind": "secret"},
            {"PK": keys.api_key_pk(app.public_key_hash), "SK": "APIKEY", "entity": "ApiKey", "app_id": app.app_id, "kind": "public"},
            {"PK": keys.account_pk(app.account_id), "SK": "ACCOUNT", "entity": "Account", "app_id": app.app_id},
        ]
        channel_items = [self._channel_item(channel) for channel in channels]
        self._transact([self._put_new(item) for item in [app_item, *lookups, *channel_items]])

    def get_app(self, app_id: str) -> App | None:
        item = self._get(keys.app_pk(app_id), keys.APP_SK, consistent=False)
        return App.model_validate(item) if item else None

    def app_id_for_key(self, key_hash: str) -> tuple[str, str] | None:
        """(app_id, kind) of the API key with this hash, kind being 'secret' or 'public'."""
        item = self._get(keys.api_key_pk(key_hash), "APIKEY", consistent=False)
        return (item["app_id"], item["kind"]) if item else None

    def app_id_for_account(self, account_id: int) -> str | None:
        item = self._get(keys.account_pk(account_id), "ACCOUNT", consistent=False)
        return item["app_id"] if item else None

    def _channel_item(self, channel: Channel) -> dict[str, Any]:
        return {"PK": keys.app_pk(channel.app_id), "SK": keys.channel_sk(channel.channel_id), "entity": "Channel", **channel.model_dump(mode="json", exclude_none=True)}

    def add_channel(self, channel: Channel) -> None:
        """The channel and its provider marker, all or nothing: ConditionFailed if the app has a
        channel of that provider already."""
        marker = {"PK": keys.app_pk(channel.app_id), "SK": keys.channel_type_sk(channel.type.value), "entity": "ChannelType", "channel_id": channel.channel_id}
        self._transact([self._put_new(self._channel_item(channel)), self._put_new(marker)])

    def remove_channel(self, channel: Channel) -> bool:
        """False when it was already gone."""
        pk = keys.app_pk(channel.app_id)
        try:
            self._transact(
                [
                    {"Delete": {"TableName": self._table, "Key": _to_ddb({"PK": pk, "SK": keys.channel_sk(channel.channel_id)}), "ConditionExpression": "attribute_exists(PK)"}},
                    {"Delete": {"TableName": self._table, "Key": _to_ddb({"PK": pk, "SK": keys.channel_type_sk(channel.type.value)})}},
                ]
            )
        except ConditionFailed:
            return False
        return True

    def get_channel(self, app_id: str, channel_id: str) -> Channel | None:
        item = self._get(keys.app_pk(app_id), keys.channel_sk(channel_id), consistent=False)
        return Channel.model_validate(item) if item else None

    def list_channels(self, app_id: str) -> list[Channel]:
        response = self._client.query(
            TableName=self._table,
            KeyConditionExpression="PK = :pk AND begins_with(SK, :prefix)",
            ExpressionAttributeValues=_to_ddb({":pk": keys.app_pk(app_id), ":prefix": "CHANNEL#"}),
        )
        return [Channel.model_validate(_from_ddb(item)) for item in response.get("Items", [])]
