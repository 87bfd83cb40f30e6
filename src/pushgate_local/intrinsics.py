"""What the template's intrinsic functions evaluate to on this machine.

CloudFormation resolves !Ref, !GetAtt and !Sub against the physical resources it created; the local
stack does the same against the resources it creates in the embedded endpoint. Physical names are
derived from logical ids (`pushgate-local-<LogicalId>`) unless the template names the resource."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from pushgate_local.template import parameter_definitions, resources

ACCOUNT_ID = "123456789012"  # moto's default account: the one fake credentials map to
REGION = "us-east-1"
STACK_NAME = "pushgate-local"
HTTP_API_ID = "local"
WEBSOCKET_API_ID = "localws"  # Ref of the template's AWS::ApiGatewayV2::Api (the WebSocket API)

# Explicit-name properties, per resource type (CloudFormation's own property names).
_NAME_PROPERTIES = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::SQS::Queue": "QueueName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Logs::LogGroup": "LogGroupName",
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class UnsupportedIntrinsic(ValueError):
    """The template uses something the local stack cannot evaluate yet: extend this module."""


class InvalidParameter(ValueError):
    """A template parameter's local value is one CloudFormation would refuse."""


class _NoValue:
    """AWS::NoValue: the property it is assigned to disappears."""


NO_VALUE = _NoValue()


def stack_parameters(template: dict[str, Any], overrides: dict[str, str]) -> dict[str, str]:
    """Template defaults overridden locally, checked against AllowedValues/AllowedPattern as
    CloudFormation would (a bad PUSHGATE_* variable fails at start, not at the first request)."""
    values: dict[str, str] = {}
    for name, definition in parameter_definitions(template).items():
        value = overrides.get(name, definition.get("Default"))
        if value is None:
            raise InvalidParameter(f"template parameter {name} has no default and no local value")
        value = str(value)
        allowed = definition.get("AllowedValues")
        if allowed and value not in [str(v) for v in allowed]:
            raise InvalidParameter(f"parameter {name}={value!r} is not one of {list(allowed)}")
        pattern = definition.get("AllowedPattern")
        if pattern and not re.fullmatch(pattern, value):
            raise InvalidParameter(f"parameter {name}={value!r} does not match {pattern}")
        values[name] = value
    return values


@dataclass(frozen=True)
class StackContext:
    template: dict[str, Any]
    parameters: dict[str, str]
    aws_endpoint_url: str
    region: str = REGION
    account_id: str = ACCOUNT_ID
    stack_name: str = STACK_NAME
    _resources: dict[str, dict[str, Any]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_resources", resources(self.template))

    # -- physical resources ------------------------------------------------------------------

    def resource_type(self, logical_id: str) -> str:
        try:
            return self._resources[logical_id]["Type"]
        except KeyError:
            raise UnsupportedIntrinsic(f"no resource or parameter named {logical_id!r} in the template") from None

    def physical_name(self, logical_id: str) -> str:
        kind = self.resource_type(logical_id)
        props = self._resources[logical_id].get("Properties", {})
        explicit = props.get(_NAME_PROPERTIES.get(kind, ""))
        if explicit is not None:
            return str(self.resolve(explicit))
        name = f"{self.stack_name}-{logical_id}"
        if kind == "AWS::SQS::Queue" and str(props.get("FifoQueue", "false")).lower() == "true":
            name += ".fifo"  # SQS requires it of FIFO queues
        return name

    def arn(self, logical_id: str) -> str:
        kind, name = self.resource_type(logical_id), self.physical_name(logical_id)
        prefix = f"arn:aws:{{}}:{self.region}:{self.account_id}:"
        arns = {
            "AWS::DynamoDB::Table": prefix.format("dynamodb") + f"table/{name}",
            "AWS::SQS::Queue": prefix.format("sqs") + name,
            "AWS::Serverless::Function": prefix.format("lambda") + f"function:{name}",
            "AWS::Logs::LogGroup": prefix.format("logs") + f"log-group:{name}:*",
            "AWS::Serverless::LayerVersion": prefix.format("lambda") + f"layer:{name}:1",
        }
        if kind not in arns:
            raise UnsupportedIntrinsic(f"no local ARN for {logical_id} ({kind})")
        return arns[kind]

    def queue_url(self, logical_id: str) -> str:
        return f"{self.aws_endpoint_url}/{self.account_id}/{self.physical_name(logical_id)}"

    def queue_for_arn(self, arn: str) -> str:
        """Logical id of the template queue with this ARN (event source mappings name queues by ARN)."""
        for logical_id, resource in self._resources.items():
            if resource["Type"] == "AWS::SQS::Queue" and self.arn(logical_id) == arn:
                return logical_id
        raise UnsupportedIntrinsic(f"no template queue has the ARN {arn}")

    # -- intrinsic functions -----------------------------------------------------------------

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": f"arn:aws:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/local",
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NoValue": NO_VALUE,
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        kind = self.resource_type(name)
        if kind == "AWS::SQS::Queue":
            return self.queue_url(name)
        if kind == "AWS::Serverless::LayerVersion":
            return self.arn(name)
        if kind == "AWS::Serverless::HttpApi":
            return HTTP_API_ID
        if kind == "AWS::ApiGatewayV2::Api":
            return WEBSOCKET_API_ID
        return self.physical_name(name)

    def get_att(self, logical_id: str, attribute: str) -> str:
        if attribute == "Arn":
            return self.arn(logical_id)
        kind = self.resource_type(logical_id)
        if kind == "AWS::SQS::Queue" and attribute == "QueueName":
            return self.physical_name(logical_id)
        if kind == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return self.queue_url(logical_id)
        raise UnsupportedIntrinsic(f"Fn::GetAtt {logical_id}.{attribute} has no local value yet")

    def sub(self, template_string: str, variables: dict[str, Any] | None = None) -> str:
        variables = variables or {}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} is the escape for a literal ${Literal}
            if name in variables:
                return str(self.resolve(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return self.get_att(*name.split(".", 1))
            return str(self.ref(name))

        return _SUB_VARIABLE.sub(replace, template_string)

    def resolve(self, value: Any) -> Any:
        """The value with every intrinsic function evaluated, recursively."""
        if isinstance(value, dict):
            if len(value) == 1:
                (key, argument), = value.items()
                if key == "Ref":
                    return self.ref(argument)
                if key == "Fn::GetAtt":
                    logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
                    return self.get_att(logical_id, attribute)
                if key == "Fn::Sub":
                    return self.sub(argument) if isinstance(argument, str) else self.sub(argument[0], argument[1])
                if key == "Fn::Join":
                    separator, items = argument
                    return str(separator).join(str(item) for item in self.resolve(items))
                if key == "Fn::Select":
                    index, items = argument
                    return self.resolve(items)[int(self.resolve(index))]
                if key.startswith("Fn::"):
                    raise UnsupportedIntrinsic(f"{key} is not supported by the local stack yet")
            resolved = {k: self.resolve(v) for k, v in value.items()}
            return {k: v for k, v in resolved.items() if v is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(v) for v in value) if item is not NO_VALUE]
        return value

    def environment(self, variables: dict[str, Any]) -> dict[str, str]:
        """A function's Environment.Variables as Lambda sets them: every value a string."""
        resolved = self.resolve(variables)
        return {name: _env_string(value) for name, value in resolved.items()}


def _env_string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
