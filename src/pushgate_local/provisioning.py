"""Creates the template's data resources in the embedded endpoint: what `sam deploy` would create.

Every AWS::DynamoDB::Table and AWS::SQS::Queue of the template is created, so a resource added to
the template exists locally without touching this module."""

from __future__ import annotations

import json
from typing import Any

from pushgate_local.intrinsics import StackContext
from pushgate_local.template import resources, table_definition, ttl_attribute

# CloudFormation properties of AWS::SQS::Queue that are plain SQS queue attributes.
_QUEUE_ATTRIBUTES = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)
# Properties holding a JSON policy; they may name other queues, so they are set once all exist.
_QUEUE_POLICIES = ("RedrivePolicy", "RedriveAllowPolicy")


def _attribute_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _policy_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def create_tables(context: StackContext, dynamodb: Any) -> list[str]:
    names = []
    for logical_id in resources(context.template, "AWS::DynamoDB::Table"):
        name = context.physical_name(logical_id)
        dynamodb.create_table(**table_definition(logical_id, name, context.template))
        attribute = ttl_attribute(logical_id, context.template)
        if attribute:
            dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification={"AttributeName": attribute, "Enabled": True}
            )
        names.append(name)
    return names


def create_queues(context: StackContext, sqs: Any) -> list[str]:
    queues = resources(context.template, "AWS::SQS::Queue")
    urls = {}
    for logical_id, resource in queues.items():
        props = context.resolve(resource.get("Properties", {}))
        attributes = {name: _attribute_value(props[name]) for name in _QUEUE_ATTRIBUTES if name in props}
        created = sqs.create_queue(QueueName=context.physical_name(logical_id), Attributes=attributes)
        urls[logical_id] = created["QueueUrl"]
    for logical_id, resource in queues.items():
        props = context.resolve(resource.get("Properties", {}))
        policies = {name: _policy_value(props[name]) for name in _QUEUE_POLICIES if name in props}
        if policies:
            sqs.set_queue_attributes(QueueUrl=urls[logical_id], Attributes=policies)
    return list(urls.values())
