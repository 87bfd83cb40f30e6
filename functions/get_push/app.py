"""GET /pushes/{id}?api_key= (docs/api.md §4): a push's status and live counts."""

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.request import ANY_VALUE, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.http.views import push_status
from pushgate.wiring import push_service, services

app = http_resolver(pushy_errors)
pushgate = services()
pushes = push_service()


@app.get(f"/pushes/{ANY_VALUE}")  # any decoded id reaches the lookup (see path_parameter)
def get_push() -> dict:
    event = app.current_event.raw_event
    tenant = pushgate.authenticator.app_for_secret_key(api_key(event))
    push_id = path_parameter(event, "push_id")
    return push_status(pushes.get(tenant, push_id))


lambda_handler = http_entry(app)
