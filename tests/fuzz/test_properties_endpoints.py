"""The push endpoint policy (docs/api.md §6, pushgate.validation.EndpointPolicy) over generated URLs:
whatever it accepts is https on port 443 at a known push-service host, without user-info, fragment,
whitespace, control or non-ASCII characters, at most 1024 characters, read alike by the URL parser
the sender connects with (urllib3); accepted endpoints come back unchanged and pass again; anything
else is refused with InvalidEndpoint or FieldTooLong (docs/errors.md), never another exception."""

from __future__ import annotations

from urllib.parse import urlsplit

import urllib3.util
from hypothesis import given
from hypothesis import strategies as st

from pushgate.errors import FieldTooLong, InvalidEndpoint
from pushgate.validation import EXACT_PUSH_HOSTS, MAX_ENDPOINT_LENGTH, SUFFIX_PUSH_HOSTS, EndpointPolicy
from tests.fuzz.budget import property_settings

POLICY = EndpointPolicy()
LOOPBACK_POLICY = EndpointPolicy.from_setting(("127.0.0.1:9",))  # as the e2e stack configures it

hosts = st.one_of(
    st.sampled_from(sorted(EXACT_PUSH_HOSTS | set(SUFFIX_PUSH_HOSTS))),
    st.sampled_from(SUFFIX_PUSH_HOSTS).flatmap(lambda suffix: st.from_regex(r"\A[a-z0-9-]{1,12}\Z").map(lambda label: f"{label}.{suffix}")),
    st.sampled_from(sorted(EXACT_PUSH_HOSTS)).map(str.upper),
    st.sampled_from(sorted(EXACT_PUSH_HOSTS)).flatmap(
        lambda host: st.sampled_from([f"{host}.", f"{host}.evil.example", f"evil{host}", f"{host}%00", f"[{host}]", f"{host}\\", f"{host}:443@evil.example"])
    ),
    st.sampled_from(["127.0.0.1", "localhost", "169.254.169.254", "[::1]", "0x7f000001", "2130706433", "evil.example", ""]),
    st.text(max_size=30),
)
ports = st.one_of(st.just(""), st.sampled_from([":443", ":80", ":9", ":", ":0443", ":65536", ":-1", ": 443", ":4430"]), st.integers(0, 70000).map(lambda p: f":{p}"))
userinfo = st.one_of(st.just(""), st.sampled_from(["user@", "user:pass@", "@", "fcm.googleapis.com@", "a%40b@"]), st.text(max_size=8).map(lambda t: t + "@"))
schemes = st.sampled_from(["https://", "HTTPS://", "http://", "https:", "https:/", "https:///", "//", "ftp://", "javascript:", "", "https:\\\\", " https://"])
tails = st.text(alphabet=st.characters(codec="utf-8"), max_size=80)
paths = st.one_of(st.from_regex(r"\A(/[A-Za-z0-9_:.~%-]{0,40}){0,4}\Z"), tails.map(lambda t: "/" + t))
suffixes = st.sampled_from(["", "?x=1", "#frag", "?", "#", "/..%2f..", "\n", " ", "\t/x"])

urls = st.one_of(
    st.tuples(schemes, userinfo, hosts, ports, paths, suffixes).map("".join),
    st.text(max_size=200),
    # Near the length limit.
    st.integers(MAX_ENDPOINT_LENGTH - 40, MAX_ENDPOINT_LENGTH + 2).map(
        lambda n: ("https://fcm.googleapis.com/fcm/send/" + "a" * n)[:n]
    ),
)


def is_push_host(host: str) -> bool:
    return host in EXACT_PUSH_HOSTS or any(host == suffix or host.endswith("." + suffix) for suffix in SUFFIX_PUSH_HOSTS)


def assert_safe(endpoint: str, extra: tuple[str, int] | None = None) -> None:
    assert len(endpoint) <= MAX_ENDPOINT_LENGTH
    assert all("\x21" <= character <= "\x7e" for character in endpoint), "whitespace, control or non-ASCII"
    assert "@" not in endpoint and "\\" not in endpoint
    parts = urlsplit(endpoint)
    assert parts.username is None and parts.password is None and not parts.fragment
    if extra is not None and parts.hostname == extra[0]:
        assert parts.scheme.lower() in ("http", "https") and parts.port == extra[1]
    else:
        assert parts.scheme.lower() == "https" and parts.port in (None, 443)
        assert is_push_host(parts.hostname or "")
    # The sender's HTTP client must connect where the policy looked.
    connected = urllib3.util.parse_url(endpoint)
    assert (connected.host or "").lower() == parts.hostname
    assert (connected.port or 443 if connected.scheme == "https" else connected.port or 80) == (parts.port or (443 if parts.scheme.lower() == "https" else 80))


def checked(policy: EndpointPolicy, endpoint: str) -> str | None:
    """The accepted endpoint, or None when refused with a documented error."""
    try:
        accepted = policy.check(endpoint)
    except (InvalidEndpoint, FieldTooLong) as error:
        assert error.field == "endpoint"
        assert not policy.is_allowed(endpoint)
        return None
    assert accepted == endpoint, "an accepted endpoint is stored and sent to as given"
    assert policy.check(accepted) == accepted and policy.is_allowed(accepted)
    return accepted


@property_settings(600)
@given(urls)
def test_accepted_endpoints_are_safe_push_urls(endpoint: str) -> None:
    if (accepted := checked(POLICY, endpoint)) is not None:
        assert_safe(accepted)


@property_settings(300)
@given(urls.map(lambda url: url.replace("fcm.googleapis.com", "127.0.0.1:9", 1)))
def test_an_extra_push_host_admits_only_its_own_host_and_port(endpoint: str) -> None:
    if (accepted := checked(LOOPBACK_POLICY, endpoint)) is not None:
        assert_safe(accepted, extra=("127.0.0.1", 9))


@property_settings(200)
@given(st.sampled_from(sorted(EXACT_PUSH_HOSTS)), st.from_regex(r"\A(/[A-Za-z0-9_:.~-]{1,40}){1,4}\Z"), st.sampled_from(["", ":443"]))
def test_real_push_endpoints_are_accepted(host: str, path: str, port: str) -> None:
    endpoint = f"https://{host}{port}{path}"
    assert checked(POLICY, endpoint) == endpoint
