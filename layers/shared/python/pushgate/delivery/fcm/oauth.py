"""OAuth 2.0 access tokens for FCM HTTP v1, minted from a Firebase service account (Google's
two-legged "JWT bearer" grant, RFC 7523).

An RS256 JWT {iss: client_email, scope: firebase.messaging, aud: the token URL, iat, exp: iat +
1 h}, signed with the account's private key (header kid = private_key_id), is exchanged at the
token URL for an access token valid `expires_in` seconds (3600). One `AccessTokens` per
container keeps one token per service account and mints the next only when it is 5 minutes
from expiry or FCM answers 401: minting costs a round trip and an RSA signature, and Google
limits how often an account may mint.

The token URL comes from the deployment's provider URLs, never from the service account's own
`token_uri`: where credentials are sent is not up to what a customer uploads. No message of
this module's errors carries a key, an assertion or an access token."""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode

import jwt

from pushgate.delivery.transport.http2 import Http2Client, Request, Response
from pushgate.errors import PushgateError

SCOPE = "https://www.googleapis.com/auth/firebase.messaging"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME = 3600  # Google's maximum for exp - iat
REFRESH_MARGIN = 300  # mint the next token this long before the current one expires
TOKEN_DEADLINE_SECONDS = 10.0
_SAFE_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


@dataclass(frozen=True)
class ServiceAccount:
    """The parts of a service-account file that FCM sending needs; the key stays out of reprs."""

    project_id: str
    client_email: str
    private_key_id: str | None  # the JWT header's kid, sent when the channel has one
    private_key: str = field(repr=False)  # PEM, RSA

    @property
    def cache_key(self) -> tuple[str, str, str]:
        # A rotated key is a new account to the cache: its tokens do not outlive the old key's.
        return (self.client_email, self.private_key_id or "", hashlib.sha256(self.private_key.encode()).hexdigest())


class AccessTokenError(PushgateError):
    """No access token could be had. `status` is the token endpoint's HTTP status (None when it
    was not reached or the key could not sign); `code` is its OAuth error code or our own word."""

    def __init__(self, code: str, status: int | None = None) -> None:
        super().__init__(f"FCM access token not obtained: {code}" + (f" (HTTP {status})" if status is not None else ""))
        self.code = code
        self.status = status


@dataclass
class _Held:
    token: str | None = None
    refresh_at: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)


class AccessTokens:
    """Thread-safe; one per container. `minted` counts the tokens obtained (for tests and metrics)."""

    def __init__(
        self,
        http: Http2Client,
        token_url: str,
        clock: Callable[[], float] = time.time,
        deadline_seconds: float = TOKEN_DEADLINE_SECONDS,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._clock = clock
        self._deadline = deadline_seconds
        self._held: dict[tuple[str, str, str], _Held] = {}
        self._lock = threading.Lock()
        self.minted = 0

    def token(self, account: ServiceAccount) -> str:
        """The account's current access token, minted first if there is none or it is close to
        expiry. Callers of the same account wait for one mint rather than each minting."""
        with self._lock:
            held = self._held.setdefault(account.cache_key, _Held())
        with held.lock:
            if held.token is None or self._clock() >= held.refresh_at:
                held.token, lifetime = self._mint(account)
                # A short-lived token (a test's, a fake's) is still kept for half its life.
                held.refresh_at = self._clock() + lifetime - min(REFRESH_MARGIN, lifetime / 2)
                with self._lock:
                    self.minted += 1
            return held.token

    def invalidate(self, token: str) -> None:
        """FCM refused `token` (401). Only the holder of that very token drops it, so any number
        of requests refused with the same token make one new token, not one each."""
        with self._lock:
            entries = list(self._held.values())
        for held in entries:
            with held.lock:
                if held.token == token:
                    held.token = None

    def _mint(self, account: ServiceAccount) -> tuple[str, float]:
        now = int(self._clock())
        claims = {"iss": account.client_email, "scope": SCOPE, "aud": self._token_url, "iat": now,
                  "exp": now + ASSERTION_LIFETIME}
        headers = {"kid": account.private_key_id} if account.private_key_id else None
        try:
            assertion = jwt.encode(claims, account.private_key, algorithm="RS256", headers=headers)
        except (ValueError, TypeError, jwt.PyJWTError):
            raise AccessTokenError("private_key_unusable") from None  # no chained text that could quote the key
        request = Request(
            "POST",
            self._token_url,
            headers={"content-type": "application/x-www-form-urlencoded", "accept": "application/json"},
            body=urlencode({"grant_type": GRANT_TYPE, "assertion": assertion}).encode(),
        )
        (answer,) = self._http.send_all([request], self._deadline)
        if isinstance(answer, BaseException):
            raise AccessTokenError(f"token_endpoint_unreachable:{type(answer).__name__}") from None
        return _access_token_from(answer)


def _access_token_from(answer: Response) -> tuple[str, float]:
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise AccessTokenError("token_endpoint_not_json", answer.status)
    if answer.status != 200:
        code = body.get("error")  # RFC 6749 §5.2's vocabulary; error_description is free text and stays out
        safe = isinstance(code, str) and _SAFE_ERROR_CODE.match(code)
        raise AccessTokenError(code if safe else "token_endpoint_error", answer.status)
    token, lifetime = body.get("access_token"), body.get("expires_in")
    lifetime_ok = isinstance(lifetime, (int, float)) and not isinstance(lifetime, bool) and lifetime > 0
    if not isinstance(token, str) or not token or not lifetime_ok:
        raise AccessTokenError("token_endpoint_answer_incomplete", answer.status)
    return token, float(lifetime)
