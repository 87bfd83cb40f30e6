"""GET /devices/{token}?api_key= (docs/api.md §4): a token's record and its topics."""

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.request import ANY_VALUE, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(pushy_errors)
pushgate = services()


# Web tokens are endpoint URLs, sent URL-encoded in this one path segment; API Gateway decodes the
# path, so the token (slashes and all) is read from pathParameters (see path_parameter).
@app.get(f"/devices/{ANY_VALUE}")
def get_device() -> dict:
    event = app.current_event.raw_event
    tenant = pushgate.authenticator.app_for_secret_key(api_key(event))
    device, topics = pushgate.topics.device(tenant, path_parameter(event, "token"))
    return {
        "device": {"type": device.type.value, "user_id": device.user_id, "status": device.status.value, "date": device.created_at},
        "subscriptions": topics,
    }


lambda_handler = http_entry(app)
