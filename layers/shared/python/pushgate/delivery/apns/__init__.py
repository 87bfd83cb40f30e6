"""APNs delivery (token-based, HTTP/2): the request a push becomes (`payload`, pure, safe for the
API functions to import), the provider token (`provider_token`) and the sender's transport
(`transport`, which pulls in h2). Import the submodules directly; this package imports none."""
