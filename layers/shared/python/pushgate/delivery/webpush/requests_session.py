"""A requests.Session for push services: a connection pool sized for the sender's concurrency and
redirects that can never be followed, whichever entry point is used.

requests follows a 307 by re-POSTing body and Authorization to the Location (reference §0.2),
which would turn any redirecting endpoint into a way around the endpoint allowlist.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter


class NoRedirectSession(requests.Session):
    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            raise ValueError("push requests need an explicit timeout")  # requests' default is to wait forever
        kwargs["allow_redirects"] = False
        return super().request(method, url, *args, **kwargs)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        kwargs["allow_redirects"] = False  # also covers callers that prepare and send themselves
        return super().send(request, **kwargs)


def new_requests_session(pool_size: int = 16) -> NoRedirectSession:
    """One per container. `pool_maxsize` at least the number of sending threads, or connections
    beyond it are opened and thrown away after each request instead of reused."""
    session = NoRedirectSession()
    # No transparent retries: a retried POST can deliver twice; retrying is the queue's job.
    adapter = HTTPAdapter(pool_connections=32, pool_maxsize=pool_size, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)  # only reachable for PUSHGATE_EXTRA_PUSH_HOSTS entries
    return session
