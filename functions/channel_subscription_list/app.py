"""GET /user/v1/channels/{channel_id}/subscriptions (docs/api.md §5): the user's subscriptions there."""

from pushgate.http.envelopes import notiflows_errors, notiflows_response
from pushgate.http.inputs import lower_headers
from pushgate.http.request import ANY_VALUE, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.http.views import channel_subscription
from pushgate.wiring import services

app = http_resolver(notiflows_errors)
pushgate = services()


@app.get(f"/user/v1/channels/{ANY_VALUE}/subscriptions")  # any decoded channel id reaches the UUID check
def list_subscriptions():  # noqa: ANN201 - a Powertools Response
    event = app.current_event.raw_event
    channel_id = path_parameter(event, "channel_id")
    caller = pushgate.authenticator.channel_api_caller(lower_headers(event), pushgate.settings.development_mode)
    devices = pushgate.channel_subscriptions.list(caller, channel_id)
    return notiflows_response(event, 200, {"items": [channel_subscription(device) for device in devices]})


lambda_handler = http_entry(app)
