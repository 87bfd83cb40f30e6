"""DELETE /users/{user_id}?api_key= (docs/api.md §4): erase a user's subscriptions, devices, topic
subscriptions and WebSocket connections; `complete: false` asks the caller to call again."""

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.request import ANY_VALUE, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.services.users import UserService
from pushgate.wiring import services

app = http_resolver(pushy_errors)
pushgate = services()
users = UserService(pushgate.repository)


@app.delete(f"/users/{ANY_VALUE}")  # any decoded value reaches the user-id check (see path_parameter)
def delete_user() -> dict:
    event = app.current_event.raw_event
    tenant = pushgate.authenticator.app_for_secret_key(api_key(event))
    erasure = users.erase(tenant, path_parameter(event, "user_id"))
    return {"success": True, "removed": erasure.removed, "complete": erasure.complete}


lambda_handler = http_entry(app)
