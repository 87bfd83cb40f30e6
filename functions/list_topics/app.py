"""GET /topics?api_key= (docs/api.md §4): every topic of the app with its exact subscriber count."""

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(pushy_errors)
pushgate = services()


@app.get("/topics")
def list_topics() -> dict:
    tenant = pushgate.authenticator.app_for_secret_key(api_key(app.current_event.raw_event))
    return {"topics": [{"name": name, "subscribers": count} for name, count in pushgate.topics.list_topics(tenant)]}


lambda_handler = http_entry(app)
