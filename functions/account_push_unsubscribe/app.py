"""GET|POST /{account_id}/push_unsubscribe (docs/api.md §2): soft-delete the caller's subscription."""

from pushgate.http.envelopes import account_unsubscribe_errors
from pushgate.http.request import ANY_VALUE, merged_params, path_parameter
from pushgate.http.resolver import http_entry, http_resolver
from pushgate.services.subscriptions import check_unsubscribe_endpoint
from pushgate.wiring import services

app = http_resolver(account_unsubscribe_errors)
pushgate = services()


@app.route(f"/{ANY_VALUE}/push_unsubscribe", method=["GET", "POST"])  # see path_parameter
def push_unsubscribe() -> dict:
    event = app.current_event.raw_event
    params = merged_params(event)
    caller = pushgate.authenticator.account_caller(path_parameter(event, "account_id"), params.get("session_id"))
    pushgate.subscriptions.unsubscribe_web(caller, check_unsubscribe_endpoint(params.get("endpoint")))
    return {"data": {"operation_status": "SUCCESS"}}


lambda_handler = http_entry(app)
