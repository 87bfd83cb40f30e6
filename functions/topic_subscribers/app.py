"""GET /topics/{topic}?api_key=[&cursor=] (docs/api.md §4): a topic's tokens, 1000 a page."""

from urllib.parse import quote

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.request import ANY_VALUE, path_parameter, query_params
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(pushy_errors)
pushgate = services()


@app.get(f"/topics/{ANY_VALUE}")  # any decoded value reaches the topic-name check (see path_parameter)
def topic_subscribers() -> dict:
    event = app.current_event.raw_event
    tenant = pushgate.authenticator.app_for_secret_key(api_key(event))
    topic = path_parameter(event, "topic")
    page = pushgate.topics.subscribers(tenant, topic, query_params(event).get("cursor"))
    # The next page's URL leaves the api_key out: secrets are not echoed in response bodies.
    next_page = f"/topics/{quote(topic)}?cursor={page.next_cursor}" if page.next_cursor else None
    return {"subscribers": page.tokens, "pagination": next_page}


lambda_handler = http_entry(app)
