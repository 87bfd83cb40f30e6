"""POST /me/unsubscribe (docs/api.md §3): remove the user's record for (type, deviceId); idempotent."""

from pushgate.http.envelopes import imkit_errors
from pushgate.http.inputs import device_target, lower_headers
from pushgate.http.request import json_body
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(imkit_errors)
pushgate = services()


@app.post("/me/unsubscribe")
def unsubscribe() -> dict:
    event = app.current_event.raw_event
    body = json_body(event)
    caller = pushgate.authenticator.device_api_caller(lower_headers(event), body.get("clientId"))
    removed = pushgate.subscriptions.unsubscribe_device(caller, *device_target(body))
    return {"RC": 0, "RM": "OK", "result": {"n": removed, "ok": 1}}


lambda_handler = http_entry(app)
