"""Honest fake providers (FCM HTTP v1 with its OAuth token endpoint, APNs): real HTTP/2 servers
over TLS on loopback that check what the real services check, for the tests and `make run`."""
