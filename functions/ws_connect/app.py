"""WebSocket $connect (docs/api.md §1): `?key=pk_…` is required; `&token=` optionally authenticates."""

from pushgate.errors import Unauthenticated
from pushgate.websocket import lifecycle_entry
from pushgate.wiring import services

pushgate = services()


def connect(event: dict) -> dict:
    params = event.get("queryStringParameters") or {}
    try:
        pushgate.connections.connect(event["requestContext"]["connectionId"], params.get("key"), params.get("token"))
    except Unauthenticated:
        return {"statusCode": 401, "body": "Unauthorized"}  # API Gateway refuses the upgrade
    return {"statusCode": 200}


lambda_handler = lifecycle_entry(connect)
