"""Per-app rate limits: one item per (app, API group) holding a token bucket in its GCRA form.

A token bucket of `rate` tokens per second and `burst` tokens is the same as remembering one
instant, the theoretical arrival time (`tat`): each request moves it one interval (1/rate) later,
and a request is allowed while `tat` stays within `burst` intervals of now. DynamoDB update
expressions can add but not multiply, so "refill by elapsed time x rate" cannot be written as one
expression; the `tat` form needs only an addition and a comparison, so the usual request is one
conditional UpdateItem. An idle bucket (tat in the past) is reset with a second conditional write.

An app's own rates (`pushgate app limits`) live on its app record, which authentication reads
anyway, so they cost no extra read per request."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from botocore.exceptions import ClientError

from pushgate import keys
from pushgate.models import RateLimits
from pushgate.repository.base import RepositoryBase, _from_ddb, _is_condition_failure, _to_ddb


def limit_pk(app_id: str) -> str:
    """A partition of its own, not the app's: the functions that count requests may write here
    (IAM `dynamodb:LeadingKeys` LIMIT#*) and nowhere near the app record."""
    return f"LIMIT#{app_id}"


def limit_sk(group: str) -> str:
    return f"LIMIT#{group}"


@dataclass(frozen=True)
class BucketDecision:
    allowed: bool
    retry_after_ms: int  # 0 when allowed


class LimitsMixin(RepositoryBase):
    def take_token(self, app_id: str, group: str, now_ms: int, interval_ms: int, burst: int) -> BucketDecision:
        """Take one token of the (app, group) bucket at `now_ms`; `interval_ms` is 1000/rate."""
        key = {"PK": {"S": limit_pk(app_id)}, "SK": {"S": limit_sk(group)}}
        # The latest tat that still leaves a token: burst intervals ahead of now, minus this one.
        latest = now_ms + (burst - 1) * interval_ms
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET tat = tat + :interval",
                ConditionExpression="tat > :now AND tat <= :latest",
                ExpressionAttributeValues={":interval": {"N": str(interval_ms)}, ":now": {"N": str(now_ms)}, ":latest": {"N": str(latest)}},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
            return BucketDecision(True, 0)
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            old = _from_ddb(error.response.get("Item") or {})
        tat = int(old["tat"]) if "tat" in old else None
        if tat is not None and tat > now_ms:
            return BucketDecision(False, tat - latest)
        # Idle (or new) bucket: it is full again, so this request starts it one interval ahead.
        try:
            self._client.update_item(
                TableName=self._table,
                Key=key,
                UpdateExpression="SET tat = :next, entity = :entity",
                ConditionExpression="attribute_not_exists(tat) OR tat <= :now",
                ExpressionAttributeValues={":next": {"N": str(now_ms + interval_ms)}, ":now": {"N": str(now_ms)}, ":entity": {"S": "RateLimit"}},
            )
        except ClientError as error:
            if not _is_condition_failure(error):
                raise
            # Another request refilled it first: rare, and losing one token's precision is fine.
            return self.take_token(app_id, group, now_ms, interval_ms, burst)
        return BucketDecision(True, 0)

    def set_rate_limits(self, app_id: str, limits: RateLimits) -> bool:
        """Store the app's own rates on its record (an empty RateLimits removes them); False when
        there is no such app."""
        key = _to_ddb({"PK": keys.app_pk(app_id), "SK": keys.APP_SK})
        # DynamoDB numbers: Decimal, since boto3 refuses floats.
        values = {group: Decimal(str(rate)) for group, rate in limits.model_dump(exclude_none=True).items()}
        if values:
            update = {"UpdateExpression": "SET rate_limits = :limits", "ExpressionAttributeValues": _to_ddb({":limits": values})}
        else:
            update = {"UpdateExpression": "REMOVE rate_limits"}
        try:
            self._client.update_item(TableName=self._table, Key=key, ConditionExpression="attribute_exists(PK)", **update)
        except ClientError as error:
            if _is_condition_failure(error):
                return False
            raise
        return True
