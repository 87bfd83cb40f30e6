"""Input rules of docs/api.md §6 that every surface shares: push endpoint safety, subscription keys,
user ids. Each check raises a `FieldError` naming the field, so each surface can word it its own way.

Endpoints are attacker-chosen URLs that the sender will POST to, so the policy is an allowlist of
push-service hosts matched on the parsed host name, never a pattern over the raw URL."""

from __future__ import annotations

import base64
import binascii
import functools
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.errors import FieldMissing, FieldTooLong, InvalidAuthSecret, InvalidEndpoint, InvalidP256dh, InvalidValue
from pushgate.urls import DEFAULT_PORTS, authority

MAX_ENDPOINT_LENGTH = 1024
MAX_KEY_FIELD_LENGTH = 255
MAX_USER_ID_LENGTH = 256

# Host names of the public Web Push services (docs/api.md §6).
EXACT_PUSH_HOSTS = frozenset(
    {
        "fcm.googleapis.com",  # Chrome, Edge on Android, Opera, Brave, Samsung Internet
        "jmt17.google.com",  # Chrome's alternate FCM endpoint host
        "updates.push.services.mozilla.com",  # Firefox
        "push.services.mozilla.com",
        "web.push.apple.com",  # Safari (macOS 13+, iOS 16.4+)
    }
)
# Matched as "the host itself or any sub-domain of it".
SUFFIX_PUSH_HOSTS = ("notify.windows.com", "push.apple.com")  # Edge on Windows (WNS); Apple

# docs/api.md §4: topics are case-sensitive names of 1-100 characters.
TOPIC_NAME = re.compile(r"^[a-zA-Z0-9\-_.]{1,100}\Z")  # \Z: "$" would also match before a final newline

# \Z, not $: "$" also matches before a final newline, which urlsplit and b64decode then drop.
_PRINTABLE_ASCII = re.compile(r"^[\x21-\x7e]+\Z")
BASE64URL = re.compile(r"^[A-Za-z0-9_-]+={0,2}\Z")


@dataclass(frozen=True)
class ExtraHost:
    host: str
    port: int | None


def parse_extra_hosts(entries: tuple[str, ...]) -> tuple[ExtraHost, ...]:
    hosts = []
    for entry in entries:
        host, _, port = entry.rpartition(":") if entry.count(":") == 1 else (entry, "", "")
        hosts.append(ExtraHost(host.lower(), int(port) if port else None))
    return tuple(hosts)


@dataclass(frozen=True)
class EndpointPolicy:
    """Which push endpoints may be stored and sent to. `extra_hosts` come from
    PUSHGATE_EXTRA_PUSH_HOSTS and may use http and any port they name."""

    extra_hosts: tuple[ExtraHost, ...] = ()

    @classmethod
    def from_setting(cls, entries: tuple[str, ...]) -> "EndpointPolicy":
        return cls(parse_extra_hosts(entries))

    def check(self, endpoint: str, field: str = "endpoint") -> str:
        """Return the endpoint unchanged if it is a safe push URL, else raise InvalidEndpoint."""
        if len(endpoint) > MAX_ENDPOINT_LENGTH:
            raise FieldTooLong(field)
        if not _PRINTABLE_ASCII.match(endpoint):
            raise InvalidEndpoint(field, "whitespace, control or non-ASCII characters")
        # '\' and '@' are where URL parsers disagree about the host (urllib vs urllib3).
        if "\\" in endpoint or "@" in endpoint:
            raise InvalidEndpoint(field, "user-info or backslash")
        try:
            parts = urlsplit(endpoint)
        except ValueError as exc:
            raise InvalidEndpoint(field, _UNPARSEABLE) from exc
        problem = _authority_problem(self, parts.scheme, parts.netloc)
        if parts.fragment and problem != _UNPARSEABLE:
            problem = _NO_HOST_OR_FRAGMENT_OR_USER_INFO
        if problem is not None:
            raise InvalidEndpoint(field, problem)
        return endpoint

    def is_allowed(self, endpoint: str) -> bool:
        try:
            self.check(endpoint)
        except (InvalidEndpoint, FieldTooLong):
            return False
        return True


_UNPARSEABLE = "unparseable URL"
_NO_HOST_OR_FRAGMENT_OR_USER_INFO = "missing host, fragment or user-info"


@functools.lru_cache(maxsize=256)
def _authority_problem(policy: EndpointPolicy, scheme: str, netloc: str) -> str | None:
    """Why an endpoint with this scheme and netloc may not be used, or None. Cached for the same
    reason as `authority`: the sender re-checks every endpoint before each request (F3)."""
    try:
        parsed = authority(scheme, netloc)
    except ValueError:
        return _UNPARSEABLE
    scheme, host, port = parsed.scheme, parsed.hostname or "", parsed.port
    if not host or parsed.has_user_info:
        return _NO_HOST_OR_FRAGMENT_OR_USER_INFO
    if scheme == "https" and port in (None, DEFAULT_PORTS["https"]) and _is_push_service(host):
        return None
    for extra in policy.extra_hosts:
        if host == extra.host and scheme in DEFAULT_PORTS:
            default_port = DEFAULT_PORTS[scheme]
            if (port or default_port) == (extra.port or default_port):
                return None
    return "not a known push service"


# One DNS label (RFC 1123): 1-63 letters, digits and hyphens, not starting or ending with a hyphen.
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\Z")


def _is_push_service(host: str) -> bool:
    # A trailing dot names the same host in DNS, but not to TLS name checks nor to VAPID's `aud`,
    # and no push service hands one out: refused (docs/contract-notes.md). An empty or malformed
    # label under a suffix host ("..notify.windows.com") is no host a push service runs either.
    if host.endswith(".") or not all(_DNS_LABEL.match(label) for label in host.split(".")):
        return False
    if host in EXACT_PUSH_HOSTS:
        return True
    return any(host == suffix or host.endswith("." + suffix) for suffix in SUFFIX_PUSH_HOSTS)


def b64url_decode(value: str) -> bytes:
    """Strict base64url with optional padding; raises ValueError on anything else."""
    if not BASE64URL.match(value):
        raise ValueError("not base64url")
    stripped = value.rstrip("=")
    try:
        return base64.urlsafe_b64decode(stripped + "=" * (-len(stripped) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("not base64url") from exc


def b64url_encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def check_p256dh(value: str, field: str = "p256dh") -> str:
    """A 65-byte uncompressed point on P-256 (RFC 8291 §3.2, §7). Returns it canonical (unpadded)."""
    try:
        raw = b64url_decode(value)
    except ValueError as exc:
        raise InvalidP256dh(field, "not base64url") from exc
    if len(raw) != 65 or raw[0] != 0x04:
        raise InvalidP256dh(field, "not an uncompressed P-256 point")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
    except ValueError as exc:
        raise InvalidP256dh(field, "not on the P-256 curve") from exc
    return b64url_encode(raw)


def check_auth_secret(value: str, field: str = "auth") -> str:
    """Exactly 16 bytes of base64url (RFC 8291 §3.2). Returns it canonical (unpadded)."""
    try:
        raw = b64url_decode(value)
    except ValueError as exc:
        raise InvalidAuthSecret(field, "not base64url") from exc
    if len(raw) != 16:
        raise InvalidAuthSecret(field, "must be 16 bytes")
    return b64url_encode(raw)


def check_user_id(value: object, field: str = "user_id") -> str:
    if value is None or value == "":
        raise FieldMissing(field)
    if not isinstance(value, str):
        raise InvalidValue(field, "must be a string")
    if len(value) > MAX_USER_ID_LENGTH:
        raise FieldTooLong(field)
    if not value.isprintable():
        raise InvalidValue(field, "must be printable characters")
    return value
