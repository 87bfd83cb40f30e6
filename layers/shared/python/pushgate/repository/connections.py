"""WebSocket connections (docs/api.md §1): one item per open connection, its user set once the
client authenticates."""

from __future__ import annotations

from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.models import Connection
from pushgate.repository.base import RepositoryBase, _from_ddb, _is_condition_failure, _to_ddb
from pushgate.repository.users import connection_gsi_sk


def _user_index(app_id: str, user_id: str, connection_id: str) -> dict[str, str]:
    """An authenticated connection's place in its user's GSI1 partition (repository.users)."""
    return {"GSI1PK": keys.user_gsi_pk(app_id, user_id), "GSI1SK": connection_gsi_sk(connection_id)}


class ConnectionsMixin(RepositoryBase):
    # -- WebSocket connections (docs/api.md §1) ----------------------------------------------------

    def put_connection(self, connection: Connection) -> None:
        item = {"PK": keys.connection_pk(connection.connection_id), "SK": keys.CONNECTION_SK, "entity": "Connection", **connection.model_dump(mode="json")}
        if connection.user_id is not None:
            item.update(_user_index(connection.app_id, connection.user_id, connection.connection_id))
        self._client.put_item(TableName=self._table, Item=_to_ddb(item))

    def get_connection(self, connection_id: str) -> Connection | None:
        item = self._get(keys.connection_pk(connection_id), keys.CONNECTION_SK)
        return Connection.model_validate(item) if item else None

    def set_connection_user(self, connection_id: str, user_id: str) -> bool:
        """False when the connection is gone (closed, or never opened through $connect).

        The connection is then indexed in its user's GSI1 partition (erasure and presence find it
        there). The index keys need the app id, which this update reads back: a second, small write
        (authentication is once per connection); should it be lost, the connection is only missed
        by presence (so delivered to, the safe side) and erasure (TTL removes it within hours)."""
        key = _to_ddb({"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK})
        try:
            response = self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET #user = :user",
                ConditionExpression="attribute_exists(PK)",
                ExpressionAttributeNames={"#user": "user_id"},
                ExpressionAttributeValues=_to_ddb({":user": user_id}),
                ReturnValues="ALL_NEW",
            )
            index = _user_index(_from_ddb(response["Attributes"])["app_id"], user_id, connection_id)
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET GSI1PK = :pk, GSI1SK = :sk",
                # Not if it was closed or authenticated as someone else meanwhile.
                ConditionExpression="#user = :user",
                ExpressionAttributeNames={"#user": "user_id"},
                ExpressionAttributeValues=_to_ddb({":pk": index["GSI1PK"], ":sk": index["GSI1SK"], ":user": user_id}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def delete_connection(self, connection_id: str) -> None:
        self._client.delete_item(TableName=self._table, Key=_to_ddb({"PK": keys.connection_pk(connection_id), "SK": keys.CONNECTION_SK}))
