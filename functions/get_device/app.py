"""GET /devices/{token}?api_key= (CONTRACT §4): a token's record and its topics."""

from urllib.parse import unquote

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(pushy_errors)
pushgate = services()


@app.get("/devices/<token>")
def get_device(token: str) -> dict:
    tenant = pushgate.authenticator.app_for_secret_key(api_key(app.current_event.raw_event))
    # Web tokens are endpoint URLs, sent URL-encoded in this one path segment.
    device, topics = pushgate.topics.device(tenant, unquote(token))
    return {
        "device": {"type": device.type.value, "user_id": device.user_id, "status": device.status.value, "date": device.created_at},
        "subscriptions": topics,
    }


lambda_handler = http_entry(app)
