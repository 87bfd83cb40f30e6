"""GET /users/{user_id}/subscriptions?api_key=[&cursor=] (docs/api.md §4): a user's subscriptions of
every surface and status, with their topics, 100 a page."""

from urllib.parse import quote

from pushgate.http.envelopes import pushy_errors
from pushgate.http.inputs import api_key
from pushgate.http.request import ANY_VALUE, path_parameter, query_params
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.http.views import user_subscription
from pushgate.services.users import UserService
from pushgate.wiring import services

app = http_resolver(pushy_errors)
pushgate = services()
users = UserService(pushgate.repository)


@app.get(f"/users/{ANY_VALUE}/subscriptions")
def list_user_subscriptions() -> dict:
    event = app.current_event.raw_event
    tenant = pushgate.authenticator.app_for_secret_key(api_key(event))
    user_id = path_parameter(event, "user_id")
    page = users.subscriptions(tenant, user_id, query_params(event).get("cursor"))
    # As GET /topics/{topic}: the next page's URL leaves the api_key out (no secret is echoed).
    next_page = f"/users/{quote(user_id, safe='')}/subscriptions?cursor={page.next_cursor}" if page.next_cursor else None
    return {"subscriptions": [user_subscription(device, topics) for device, topics in page.subscriptions], "pagination": next_page}


lambda_handler = http_entry(app)
