"""The request names of the load test's four subscribe surfaces, as locust's stats and the
driver's table show them (one module, so the locustfile and the smoke test agree)."""

ACCOUNT_API = "account /{account_id}/push_subscribe"
DEVICE_API = "device /me/subscribe"
CHANNEL_API = "channel POST subscriptions"
WEBSOCKET = "websocket push_subscribe"
WEBSOCKET_CONNECT = "websocket connect"  # only shown when a connection was refused or broke
SURFACE_NAMES = (ACCOUNT_API, DEVICE_API, CHANNEL_API, WEBSOCKET)
