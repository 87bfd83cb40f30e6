"""DELETE /user/v1/channels/{channel_id}/subscriptions (docs/api.md §5): 204, subscribed or not."""

from pushgate.http.envelopes import notiflows_errors, notiflows_response
from pushgate.http.inputs import lower_headers
from pushgate.http.request import ANY_VALUE, json_body, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(notiflows_errors)
pushgate = services()


@app.delete(f"/user/v1/channels/{ANY_VALUE}/subscriptions")  # any decoded channel id reaches the UUID check
def delete():  # noqa: ANN201 - a Powertools Response
    event = app.current_event.raw_event
    channel_id = path_parameter(event, "channel_id")
    caller = pushgate.authenticator.channel_api_caller(lower_headers(event), pushgate.settings.development_mode)
    pushgate.channel_subscriptions.delete(caller, channel_id, json_body(event).get("identifier"))
    return notiflows_response(event, 204, None)


lambda_handler = http_entry(app)
