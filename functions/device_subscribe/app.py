"""POST /me/subscribe (docs/api.md §3): register a device token or web subscription for the user."""

from pushgate.http.envelopes import imkit_errors
from pushgate.http.inputs import device_registration, lower_headers
from pushgate.http.request import json_body
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(imkit_errors)
pushgate = services()


@app.post("/me/subscribe")
def subscribe() -> dict:
    event = app.current_event.raw_event
    body = json_body(event)
    caller = pushgate.authenticator.device_api_caller(lower_headers(event), body.get("clientId"))
    pushgate.subscriptions.subscribe_device(caller, device_registration(pushgate.subscriptions.policy, body))
    return {"RC": 0, "RM": "OK", "result": {"n": 1, "ok": 1}}


lambda_handler = http_entry(app)
