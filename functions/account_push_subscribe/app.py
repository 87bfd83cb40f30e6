"""GET|POST /{account_id}/push_subscribe (CONTRACT §2): register or reactivate the caller's browser."""

from pushgate.http.envelopes import account_subscribe_errors
from pushgate.http.request import merged_params
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.services.subscriptions import WebSubscription
from pushgate.wiring import services

app = http_resolver(account_subscribe_errors)
pushgate = services()


@app.route("/<account_id>/push_subscribe", method=["GET", "POST"])
def push_subscribe(account_id: str) -> dict:
    params = merged_params(app.current_event.raw_event)
    caller = pushgate.authenticator.account_caller(account_id, params.get("session_id"))
    subscription = WebSubscription.parse(
        pushgate.subscriptions.policy, params.get("endpoint"), params.get("key_p256dh"), params.get("key_auth")
    )
    device = pushgate.subscriptions.subscribe_web(caller, subscription)
    return {"data": {"push_subscription_id": device.subscription_id, "operation_status": "SUCCESS"}}


lambda_handler = http_entry(app)
