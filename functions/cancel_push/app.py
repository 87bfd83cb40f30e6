"""DELETE /pushes/{id}?api_key= (CONTRACT §4): cancel whatever of the push is not yet sent."""

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import push_service, services

app = http_resolver(pushy_errors)
pushgate = services()
pushes = push_service()


@app.delete("/pushes/<push_id>")
def cancel_push(push_id: str) -> dict:
    tenant = pushgate.authenticator.app_for_secret_key(api_key(app.current_event.raw_event))
    pushes.cancel(tenant, push_id)
    return {"success": True}


lambda_handler = http_entry(app)
