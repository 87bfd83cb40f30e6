"""The authority part (scheme, host, port) of push endpoint URLs, parsed once per scheme and netloc.

The sender re-checks, signs for and connects to every endpoint before each request. Endpoints
differ by path, but their push-service hosts are a handful, and parsing the host again for each
request measured about 2% of the sender's CPU per delivery."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from urllib.parse import SplitResult

DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True, slots=True)
class Authority:
    scheme: str  # lower-case
    hostname: str | None  # as urllib reads it: lower-case, IPv6 without brackets
    port: int | None  # as written; None when the URL names none
    has_user_info: bool


@functools.lru_cache(maxsize=256)
def authority(scheme: str, netloc: str) -> Authority:
    """The authority of a URL split by `urlsplit`. ValueError for a port that is not 0-65535."""
    parts = SplitResult(scheme, netloc, "", "", "")
    return Authority(scheme.lower(), parts.hostname, parts.port, parts.username is not None)
