"""POST /sessions?api_key=SECRET (docs/api.md §0): the app's backend mints a session for a user."""

from pushgate.http.envelopes import json_response, pushy_errors
from pushgate.http.request import json_body, query_params
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.wiring import services

app = http_resolver(pushy_errors)
pushgate = services()


@app.post("/sessions")
def create_session():  # noqa: ANN201 - a Powertools Response
    event = app.current_event.raw_event
    app_record = pushgate.authenticator.app_for_secret_key(query_params(event).get("api_key"))
    body = json_body(event)
    session_id, session = pushgate.sessions.create(app_record, body.get("user_id"), body.get("ttl"))
    return json_response(201, {"session_id": session_id, "user_id": session.user_id, "expires_at": session.expires_at})


lambda_handler = http_entry(app)
