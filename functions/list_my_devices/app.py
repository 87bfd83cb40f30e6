"""GET /me/devices (docs/api.md §3): the caller's active devices, every type."""

from pushgate.http.envelopes import imkit_errors
from pushgate.http.inputs import lower_headers
from pushgate.http.request import query_params
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.http.views import my_device
from pushgate.services.users import UserService
from pushgate.wiring import services

app = http_resolver(imkit_errors)
pushgate = services()
users = UserService(pushgate.repository)


@app.get("/me/devices")
def list_my_devices() -> dict:
    event = app.current_event.raw_event
    # A GET has no body: the server side names its user with ?clientId= instead.
    caller = pushgate.authenticator.device_api_caller(lower_headers(event), query_params(event).get("clientId"))
    devices = [my_device(device) for device in users.my_devices(caller)]
    return {"RC": 0, "RM": "OK", "result": {"n": len(devices), "devices": devices}}


lambda_handler = http_entry(app)
