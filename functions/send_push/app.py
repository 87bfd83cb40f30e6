"""POST /push?api_key= (docs/api.md §4): check the push, record it, queue its targets for fan-out."""

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.request import json_body
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import push_service, services

app = http_resolver(pushy_errors)
pushgate = services()
pushes = push_service()


@app.post("/push")
def send_push() -> dict:
    event = app.current_event.raw_event
    tenant = pushgate.authenticator.app_for_secret_key(api_key(event))
    return {"success": True, "id": pushes.create(tenant, json_body(event))}


lambda_handler = http_entry(app)
