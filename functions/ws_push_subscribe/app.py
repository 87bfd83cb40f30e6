"""{"cmd":"push_subscribe","subscription":{…}} (docs/api.md §1): upsert the caller's subscription."""

from pushgate.http.inputs import web_subscription
from pushgate.websocket import command_entry
from pushgate.wiring import services

pushgate = services()


def subscribe(connection_id: str, message: dict) -> dict:
    caller = pushgate.connections.caller(connection_id)
    pushgate.subscriptions.subscribe_web(caller, web_subscription(pushgate.subscriptions.policy, message.get("subscription")))
    return {"cmd": "push_subscribed", "success": True}


lambda_handler = command_entry("push_subscribe", subscribe)
