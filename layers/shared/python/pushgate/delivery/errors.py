"""Errors of the Web Push delivery client. None of their messages carries an endpoint, a key or a token."""

from __future__ import annotations

from pushgate import errors
from pushgate.errors import PushgateError


class ConfigurationError(PushgateError):
    """The sender is misconfigured (VAPID key or subject, timeouts, encoding). Raised while building
    the client, i.e. at cold start, so a bad deployment fails loudly before any message is taken."""


class PayloadTooLarge(errors.PayloadTooLarge):
    """The plaintext does not fit one aes128gcm record of 4096 bytes (RFC 8291 §4). The message
    is refused before any network call and must not be retried: it can never succeed. A kind of
    the core's PayloadTooLarge, so the API surfaces map it the same way."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"payload of {size} bytes is over the {limit}-byte Web Push limit")
        self.size = size
        self.limit = limit
