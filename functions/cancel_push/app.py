"""DELETE /pushes/{id}?api_key= (docs/api.md §4): cancel whatever of the push is not yet sent."""

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.request import ANY_VALUE, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import push_service, services

app = http_resolver(pushy_errors)
pushgate = services()
pushes = push_service()


@app.delete(f"/pushes/{ANY_VALUE}")  # any decoded id reaches the lookup (see path_parameter)
def cancel_push() -> dict:
    event = app.current_event.raw_event
    tenant = pushgate.authenticator.app_for_secret_key(api_key(event))
    push_id = path_parameter(event, "push_id")
    pushes.cancel(tenant, push_id)
    return {"success": True}


lambda_handler = http_entry(app)
