"""{"cmd":"push_unsubscribe","endpoint":…} (docs/api.md §1): remove the caller's subscription, silently
succeeding when there is none."""

from pushgate.services.subscriptions import check_unsubscribe_endpoint
from pushgate.websocket import command_entry
from pushgate.wiring import services

pushgate = services()


def unsubscribe(connection_id: str, message: dict) -> dict:
    caller = pushgate.connections.caller(connection_id)
    pushgate.subscriptions.unsubscribe_web(caller, check_unsubscribe_endpoint(message.get("endpoint")))
    return {"cmd": "push_unsubscribed", "success": True}


lambda_handler = command_entry("push_unsubscribe", unsubscribe)
