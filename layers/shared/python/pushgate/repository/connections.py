"""WebSocket connections (docs/api.md §1): one item per open connection, its user set once the
client authenticates."""

from __future__ import annotations

from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.models import Connection
from pushgate.repository.base import RepositoryBase, _is_condition_failure, _to_ddb


class ConnectionsMixin(RepositoryBase):
    # -- WebSocket connections (docs/api.md §1) ----------------------------------------------------

    def put_connection(self, connection: Connection) -> None:
        item = {"PK": keys.connection_pk(connection.connection_id), "SK": keys.CONNECTION_SK, "entity": "Connection", **connection.model_dump(mode="json")}
        self._client.put_item(TableName=self._table, Item=_to_ddb(item))

    def get_connection(self, connection_id: str) -> Connection | None:
        item = self._get(keys.connection_pk(connection_id), keys.CONNECTION_SK)
        return Connection.model_validate(item) if item else None

    def set_connection_user(self, connection_id: str, user_id: str) -> bool:
        """False when the connection is gone (closed, or never opened through $connect)."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK}),
                UpdateExpression="SET #user = :user",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#user": "user_id"},
                ExpressionAttributeValues=_to_ddb({":user": user_id}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def delete_connection(self, connection_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key=_to_ddb({"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK}))
