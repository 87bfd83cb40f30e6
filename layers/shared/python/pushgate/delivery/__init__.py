"""Delivery to the providers, one folder each: `webpush` (RFC 8030/8188/8291/8292), `fcm` (FCM
HTTP v1) and `apns`; `transport` holds the connections they send over (Web Push's HTTP/1.1
keep-alive pool, the native senders' HTTP/2); `outcomes` is the one table of what a provider's
answer means; `channel_cache` and `provider_urls` are shared by the senders.

Import the submodules directly. The API functions import only the pure size checks
(`fcm.message`, `apns.payload`), never a client, so they pay nothing for delivery at cold start.
"""
