"""{"cmd":"push_get_vapid"} (docs/api.md §1): the app's VAPID public key, for PushManager.subscribe()."""

from pushgate.websocket import command_entry
from pushgate.wiring import services

pushgate = services()


def get_vapid(connection_id: str, message: dict) -> dict:
    caller = pushgate.connections.caller(connection_id)
    channel = pushgate.channel_subscriptions.channel(caller, caller.app.webpush_channel_id)
    return {"cmd": "push_vapid", "key": channel.vapid_public_key}


lambda_handler = command_entry("push_get_vapid", get_vapid)
