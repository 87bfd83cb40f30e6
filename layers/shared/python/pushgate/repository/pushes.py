"""Pushes (docs/api.md §4, §7): the stored push, its cancellation and its delivery counts."""

from __future__ import annotations

from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.pushes import Push
from pushgate.repository.base import RepositoryBase, _from_ddb, _is_condition_failure, _to_ddb


class PushesMixin(RepositoryBase):
    # -- pushes (docs/api.md §4, §7) ----------------------------------------------------------------

    def create_push(self, push: Push, expires_at: int) -> None:
        item = {"PK": keys.push_pk(push.push_id), "SK": keys.PUSH_SK, "entity": "Push", "expires_at": expires_at, **push.model_dump(mode="json", exclude={"failed_reasons"})}
        self._put_if_absent(item)

    def get_push(self, push_id: str) -> Push | None:
        item = self._get(keys.push_pk(push_id), keys.PUSH_SK)
        return Push.model_validate(item) if item else None

    def cancel_push(self, app_id: str, push_id: str) -> bool:
        """False when there is no such push in this app."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.push_pk(push_id), "SK": keys.PUSH_SK}),
                UpdateExpression="SET #cancelled = :true",
                ConditionExpression="#app = :app",
                ExpressionAttributeNames={"#cancelled": "cancelled", "#app": "app_id"},
                ExpressionAttributeValues=_to_ddb({":true": True, ":app": app_id}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def add_push_counts(self, push_id: str, deltas: dict[str, int]) -> Push | None:
        """One write per batch, whatever its size: the counts of GET /pushes/{id} are ADDs. Returns
        the push as this write left it (None when there was nothing to add), which tells whether
        it is complete now (pushgate.events.PushCompletion)."""
        deltas = {name: delta for name, delta in deltas.items() if delta}
        if not deltas:
            return None
        names = {f"#c{i}": name for i, name in enumerate(deltas)}
        values = {f":c{i}": delta for i, delta in enumerate(deltas.values())}
        response = self._client.update_item(
            TableName=self._table,
            Key=_to_ddb({"PK": keys.push_pk(push_id), "SK": keys.PUSH_SK}),
            UpdateExpression="ADD " + ", ".join(f"#c{i} :c{i}" for i in range(len(deltas))),
            ConditionExpression="attribute_exists(PK)",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=_to_ddb(values),
            ReturnValues="ALL_NEW",
        )
        attributes = response.get("Attributes")
        return Push.model_validate(_from_ddb(attributes)) if attributes else None

    def claim_push_completion(self, push_id: str, now: int) -> bool:
        """Stamp `completed_at` unless it is there already: True for the one call that stamped it,
        so that a push's completion is announced once however many writes saw it complete."""
        try:
            self._client.update_item(
                TableName=self._table,
                Key=_to_ddb({"PK": keys.push_pk(push_id), "SK": keys.PUSH_SK}),
                UpdateExpression="SET #completed = :now",
                ConditionExpression="attribute_exists(PK) AND attribute_not_exists(#completed)",
                ExpressionAttributeNames={"#completed": "completed_at"},
                ExpressionAttributeValues=_to_ddb({":now": now}),
            )
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True
