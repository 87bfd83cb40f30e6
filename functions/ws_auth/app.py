"""{"cmd":"auth","token":…} (docs/api.md §1): authenticate an open connection."""

from pushgate.websocket import command_entry
from pushgate.wiring import services

pushgate = services()


def auth(connection_id: str, message: dict) -> dict:
    caller = pushgate.connections.authenticate(connection_id, message.get("token"))
    return {"cmd": "auth", "success": True, "user": caller.user_id}


lambda_handler = command_entry("auth", auth)
