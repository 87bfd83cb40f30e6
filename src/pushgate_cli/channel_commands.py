"""`pushgate channel add fcm|apns`, `channel list`, `channel remove`: an app's delivery channels.

The checks and the writes are the channel service's (pushgate.services.provider_channels); this
module only shapes its results. The key files were read by the parser, and no output, human or
JSON, ever contains a private key: only where in SSM it went."""

from __future__ import annotations

from pushgate.models import Channel, ChannelType
from pushgate.services.provider_channels import public_view
from pushgate_cli.errors import CliError
from pushgate_cli.output import Output
from pushgate_cli.target import Stack


def add_fcm(stack: Stack, app_id: str, service_account_text: str) -> Output:
    _require_app(stack, app_id)
    return _added(stack, stack.channels.add_fcm(app_id, service_account_text))


def add_apns(
    stack: Stack, app_id: str, key_text: str, key_id: str, team_id: str, bundle_id: str, environment: str
) -> Output:
    _require_app(stack, app_id)
    return _added(stack, stack.channels.add_apns(app_id, key_text, key_id, team_id, bundle_id, environment))


def list_channels(stack: Stack, app_id: str) -> Output:
    _require_app(stack, app_id)
    channels = stack.channels.list(app_id)
    lines = [f"Channels of app {app_id} on {stack.description}:"]
    lines += [f"  {channel.channel_id}  {channel.type.value:<7}  {_summary(channel)}" for channel in channels]
    return Output({"channels": [public_view(channel) for channel in channels]}, "\n".join(lines))


def remove_channel(stack: Stack, app_id: str, channel_id: str) -> Output:
    _require_app(stack, app_id)
    channel = stack.channels.remove(app_id, channel_id)
    text = (
        f"Removed {channel.type.value} channel {channel.channel_id} from app {app_id} on {stack.description};"
        f" its private key is deleted from SSM ({channel.private_key_parameter})"
    )
    return Output({"removed": channel.channel_id}, text)


def _require_app(stack: Stack, app_id: str) -> None:
    """The service checks too; this says which stack lacks the app, as the other commands do."""
    if stack.services.repository.get_app(app_id) is None:
        raise CliError(f"no app {app_id!r} on {stack.description}")


def _added(stack: Stack, channel: Channel) -> Output:
    lines = [
        f"Added {channel.type.value} channel {channel.channel_id} to app {channel.app_id} on {stack.description}",
        *(f"  {name:<22}{value}" for name, value in public_view(channel).items() if name not in ("id", "type")),
        f"The private key is an SSM SecureString at {channel.private_key_parameter}.",
    ]
    return Output(public_view(channel), "\n".join(lines))


def _summary(channel: Channel) -> str:
    if channel.type is ChannelType.WEBPUSH:
        return f"VAPID public key {channel.vapid_public_key}"
    if channel.type is ChannelType.FCM:
        return f"project {channel.fcm_project_id}, {channel.fcm_client_email}"
    return (
        f"bundle {channel.apns_bundle_id}, team {channel.apns_team_id}, key {channel.apns_key_id},"
        f" {channel.apns_environment}"
    )
