"""POST /user/v1/channels/{channel_id}/subscriptions (docs/api.md §5): 201 created, 200 updated in place."""

from pushgate.http.envelopes import notiflows_errors, notiflows_response
from pushgate.http.inputs import lower_headers
from pushgate.http.request import ANY_VALUE, json_body, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.http.views import channel_subscription
from pushgate.wiring import services

app = http_resolver(notiflows_errors)
pushgate = services()


@app.post(f"/user/v1/channels/{ANY_VALUE}/subscriptions")  # any decoded channel id reaches the UUID check
def upsert():  # noqa: ANN201 - a Powertools Response
    event = app.current_event.raw_event
    channel_id = path_parameter(event, "channel_id")
    caller = pushgate.authenticator.channel_api_caller(lower_headers(event), pushgate.settings.development_mode)
    body = json_body(event)
    registered = pushgate.channel_subscriptions.upsert(caller, channel_id, body.get("identifier"), body.get("settings"))
    return notiflows_response(event, 201 if registered.created else 200, channel_subscription(registered.device))


lambda_handler = http_entry(app)
