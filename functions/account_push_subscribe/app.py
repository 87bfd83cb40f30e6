"""GET|POST /{account_id}/push_subscribe (docs/api.md §2): register or reactivate the caller's browser."""

from pushgate.http.envelopes import account_subscribe_errors
from pushgate.http.request import ANY_VALUE, merged_params, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.services.subscriptions import WebSubscription
from pushgate.wiring import services

app = http_resolver(account_subscribe_errors)
pushgate = services()


@app.route(f"/{ANY_VALUE}/push_subscribe", method=["GET", "POST"])  # see path_parameter
def push_subscribe() -> dict:
    event = app.current_event.raw_event
    params = merged_params(event)
    caller = pushgate.authenticator.account_caller(path_parameter(event, "account_id"), params.get("session_id"))
    subscription = WebSubscription.parse(
        pushgate.subscriptions.policy, params.get("endpoint"), params.get("key_p256dh"), params.get("key_auth")
    )
    device = pushgate.subscriptions.subscribe_web(caller, subscription)
    return {"data": {"push_subscription_id": device.subscription_id, "operation_status": "SUCCESS"}}


lambda_handler = http_entry(app)
