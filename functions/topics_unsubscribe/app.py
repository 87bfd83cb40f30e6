"""POST /topics/unsubscribe?api_key= (docs/api.md §4): unsubscribe a token from topics, or ["*"] for all."""

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.request import json_body
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(pushy_errors)
pushgate = services()


@app.post("/topics/unsubscribe")
def unsubscribe() -> dict:
    event = app.current_event.raw_event
    tenant = pushgate.authenticator.app_for_secret_key(api_key(event))
    body = json_body(event)
    pushgate.topics.unsubscribe(tenant, body.get("token"), body.get("topics"))
    return {"success": True}


lambda_handler = http_entry(app)
