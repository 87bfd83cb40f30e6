"""WebSocket $disconnect (docs/api.md §1): forget the connection."""

from pushgate.websocket import lifecycle_entry
from pushgate.wiring import services

pushgate = services()


def disconnect(event: dict) -> dict:
    pushgate.connections.disconnect(event["requestContext"]["connectionId"])
    return {"statusCode": 200}


lambda_handler = lifecycle_entry(disconnect)
