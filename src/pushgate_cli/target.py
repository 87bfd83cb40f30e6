"""How the CLI reaches a stack: the running local stack (docs/api.md §8) by default, or a deployed
stack named with --stack. Either way the result is the shared services of `pushgate.wiring`,
wired to that stack's table and SSM prefix through explicit boto3 clients."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, NoCredentialsError, NoRegionError

from pushgate.config import Settings
from pushgate.events import EventPublisher
from pushgate.secret_store import SsmSecretStore
from pushgate.services.apps import AppService  # noqa: TC001 - a dataclass field type
from pushgate.services.provider_channels import ProviderChannelService
from pushgate.wiring import Services, build_services
from pushgate_cli.errors import CliError

LOCAL_INFO_PATH = "/_pushgate/local"
LOCAL_DISCOVERY_TIMEOUT_SECONDS = 2.0
# The local stack's AWS endpoint checks no signature, but botocore refuses to sign without keys.
LOCAL_CREDENTIALS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
# Fail fast when the local stack goes away mid-command instead of retrying for a minute.
LOCAL_CLIENT_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2})


@dataclass(frozen=True)
class Stack:
    """A pushgate stack the CLI can act on."""

    description: str  # for messages, e.g. "the local stack at http://127.0.0.1:3000"
    services: Services
    apps: AppService
    secrets: SsmSecretStore
    channels: ProviderChannelService  # an app's fcm and apns channels
    stale_after_days: int | None = None  # the stack's StaleAfterDays (`pushgate sweep --now`), if it says
    events: EventPublisher | None = None  # the stack's event bus, where the sweep announces what it expires


def stack_from_clients(
    description: str, dynamodb: Any, ssm: Any, table_name: str, ssm_prefix: str, stale_after_days: int | None = None,
    events: EventPublisher | None = None,
) -> Stack:
    """The services on the given table and SSM prefix, through the given clients."""
    settings = Settings(table_name=table_name, ssm_prefix=ssm_prefix)
    services = build_services(settings, dynamodb)
    # The stack's own SSM endpoint, not a default client's.
    secrets = SsmSecretStore(ssm)
    channels = ProviderChannelService(services.repository, secrets, settings.ssm_prefix)
    return Stack(description, services, services.apps(ssm), secrets, channels, stale_after_days, events)


def connect(stack_name: str | None = None, region: str | None = None, local_url: str | None = None) -> Stack:
    if stack_name:
        return deployed_stack(stack_name, region)
    return local_stack(local_url or default_local_url())


# -- the local stack -------------------------------------------------------------------------


def default_local_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PUSHGATE_HTTP_PORT') or 3000}"


def local_stack(base_url: str) -> Stack:
    base_url = base_url.rstrip("/")
    info = fetch_local_stack_info(base_url)
    session = boto3.session.Session(region_name=info["region"], **LOCAL_CREDENTIALS)

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=info["aws_endpoint_url"], config=LOCAL_CLIENT_CONFIG)

    stale_after_days, bus_name = info.get("stale_after_days"), info.get("event_bus_name")
    return stack_from_clients(
        f"the local stack at {base_url}", client("dynamodb"), client("ssm"), info["table_name"], info["ssm_prefix"],
        stale_after_days if isinstance(stale_after_days, int) else None,
        EventPublisher(client("events"), bus_name) if isinstance(bus_name, str) and bus_name else None,
    )


def fetch_local_stack_info(base_url: str) -> dict[str, str]:
    """What the local stack says about itself: its AWS endpoint, region, table and SSM prefix."""
    url = base_url + LOCAL_INFO_PATH
    # No proxy: an http_proxy in the environment must not capture a request to this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=LOCAL_DISCOVERY_TIMEOUT_SECONDS) as response:
            body = response.read()
    except urllib.error.HTTPError as error:
        raise _not_a_local_stack(base_url, f"HTTP {error.code} from {url}") from error
    except (urllib.error.URLError, OSError) as error:
        raise CliError(
            f"no local stack at {base_url} (start it with `make run`), or pass --stack NAME for a deployed stack"
        ) from error
    try:
        info = json.loads(body)
    except ValueError as error:
        raise _not_a_local_stack(base_url, f"{url} did not return JSON") from error
    required = ("aws_endpoint_url", "region", "table_name", "ssm_prefix")
    missing = [key for key in required if not isinstance(info, dict) or not isinstance(info.get(key), str)]
    if missing:
        raise _not_a_local_stack(base_url, f"{url} lacks {', '.join(missing)}")
    return info


def _not_a_local_stack(base_url: str, why: str) -> CliError:
    return CliError(f"{base_url} answered, but not as a pushgate local stack ({why})")


# -- a deployed stack ------------------------------------------------------------------------


def deployed_stack(name: str, region: str | None = None) -> Stack:
    """A stack deployed with `sam deploy`, reached with the caller's own AWS credentials."""
    session = boto3.session.Session(region_name=region)
    try:
        description = _describe_stack(session.client("cloudformation"), name)
        dynamodb, ssm = session.client("dynamodb"), session.client("ssm")
    except NoRegionError as error:
        raise CliError("no AWS region configured: pass --region or set AWS_REGION") from error
    except NoCredentialsError as error:
        raise CliError("no AWS credentials found: configure them (e.g. AWS_PROFILE) to use --stack") from error
    outputs = {output["OutputKey"]: output["OutputValue"] for output in description.get("Outputs", [])}
    parameters = {parameter["ParameterKey"]: parameter.get("ParameterValue") for parameter in description.get("Parameters", [])}
    missing = [key for key in ("TableName", "SsmPrefix") if not outputs.get(key)]
    if missing:
        raise CliError(f"stack {name} has no output {' or '.join(missing)}: is it a pushgate stack?")
    stale_after_days = parameters.get("StaleAfterDays")
    return stack_from_clients(
        f"stack {name} in {session.region_name}", dynamodb, ssm, outputs["TableName"], outputs["SsmPrefix"],
        int(stale_after_days) if stale_after_days and stale_after_days.isdigit() else None,
        EventPublisher(session.client("events"), outputs["EventBusName"]) if outputs.get("EventBusName") else None,
    )


def _describe_stack(cloudformation: Any, name: str) -> dict[str, Any]:
    try:
        stacks = cloudformation.describe_stacks(StackName=name)["Stacks"]
    except ClientError as error:
        # CloudFormation reports an unknown stack as a ValidationError "Stack with id X does not exist".
        details = error.response.get("Error", {})
        if details.get("Code") == "ValidationError":
            region = cloudformation.meta.region_name
            raise CliError(f"no stack {name} in {region}: {details.get('Message', '')}") from error
        raise
    return stacks[0]
