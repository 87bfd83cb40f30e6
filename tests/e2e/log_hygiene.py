"""Log hygiene of the e2e suite: no credential a test sent may appear in a local stack's logs.

While the e2e tests run, every value they send that is a credential or a subscription secret is
recorded (api_key, secret keys, session ids, user JWTs, the IM-*/x-notiflows-* credential headers,
Web Push endpoints and their p256dh/auth keys, native device tokens), from the requests and
websockets clients themselves, so that a new test is covered without asking; each stack started
adds its demo app's secret key and user-token private key (demo.json) and, once stopped, every
SecureString of its SSM (the VAPID and provider private keys, from its snapshot). At the end of the
session, once every stack has stopped, each stack's stdout and stderr logs are scanned for any of
them, or a recognisable piece of one (see `needles`), and the suite fails with the offending lines,
redacted.

One block is exempt: the banner `make run` prints at start, which shows the demo app's credentials
to the developer on purpose (docs/api.md §8); it is the first thing on stdout, between the two lines
in BANNER_FIRST_LINE and BANNER_LAST_LINE, and nothing else is skipped.

The scanner (SecretLedger, scan_logs) is also used by tests/faults over the pipeline handlers'
logs, and tested there against a log with a planted secret (tests/faults/test_secret_scanner.py).
The e2e fixture is `log_hygiene`, autouse for tests/e2e (registered in tests/e2e/conftest.py)."""

from __future__ import annotations

import json
import os
import re
import sys
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import pytest

MIN_NEEDLE_CHARS = 12  # a shorter piece of a secret could occur in a log line by chance
# Request fields and JSON keys whose values are credentials or subscription secrets (lower case).
SECRET_FIELDS = frozenset({
    "api_key", "secret_key", "session_id", "session", "token", "jwt", "user_key", "endpoint",
    "p256dh", "auth", "key_p256dh", "key_auth", "private_key", "user_token_private_key", "authorization",
})
SECRET_HEADER_PREFIXES = ("im-", "x-notiflows-")
# Credential headers that carry the app's public key: published in every web page that uses the
# app, not a secret (docs/api.md §1).
PUBLIC_KEY_HEADERS = frozenset({"im-client-key", "x-notiflows-api-key"})
SUMMARY_FILE_ENV = "PUSHGATE_LOG_HYGIENE_SUMMARY"  # where to write what was scanned, if set
BANNER_FIRST_LINE = "pushgate local stack is running"
BANNER_LAST_LINE = "Ctrl-C stops the stack (data is kept)."
_JWT = re.compile(r"^eyJ[\w-]*\.[\w-]+\.[\w-]+$")


def needles(secret: str) -> set[str]:
    """The strings whose presence in a log line gives `secret` away: the whole value, and the
    first MIN_NEEDLE_CHARS of its secret part, URL-quoted too (a path or query logs it so). The
    secret part leaves out what is public by construction: a URL's origin and leading path (the
    push service's host is logged on purpose), a JWT's header, a PEM's armour (each base64 line of
    the key is a needle of its own)."""
    secret = secret.strip()
    if secret.startswith("-----BEGIN"):
        pieces = {line.strip() for line in secret.splitlines() if not line.startswith("-----")}
        return {piece for piece in pieces if len(piece) >= MIN_NEEDLE_CHARS}
    if _JWT.match(secret):
        _, payload, signature = secret.split(".")
        found = {secret, f"{payload}.{signature}", signature, signature[:MIN_NEEDLE_CHARS]}
    elif secret.startswith(("http://", "https://")):
        parts = urlsplit(secret)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        last = path.rstrip("/").rsplit("/", 1)[-1]
        found = {secret, path, last, last[:MIN_NEEDLE_CHARS]}
    else:
        found = {secret, secret[:MIN_NEEDLE_CHARS]}
    found |= {quote(piece, safe="") for piece in found} | {quote(piece) for piece in found}
    return {piece for piece in found if len(piece) >= MIN_NEEDLE_CHARS}


@dataclass(frozen=True)
class Leak:
    path: Path
    line_number: int
    kind: str  # what the secret was (its field name), never its value
    redacted_line: str


@dataclass
class SecretLedger:
    """The secrets seen so far: needle -> the field it was sent in."""

    _needles: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, value: Any) -> None:
        if not isinstance(value, str) or len(value.strip()) < MIN_NEEDLE_CHARS:
            return
        with self._lock:
            for needle in needles(value):
                self._needles.setdefault(needle, kind)

    def add_fields(self, data: Any, kind_prefix: str = "") -> None:
        """Every value under a secret field name, at any depth of a JSON-like value."""
        if isinstance(data, dict):
            for name, value in data.items():
                if isinstance(name, str) and name.lower() in SECRET_FIELDS and isinstance(value, str):
                    self.add(f"{kind_prefix}{name}", value)
                else:
                    self.add_fields(value, kind_prefix)
        elif isinstance(data, (list, tuple)):
            for item in data:
                self.add_fields(item, kind_prefix)

    def add_headers(self, headers: Any) -> None:
        for name, value in dict(headers or {}).items():
            lowered = str(name).lower()
            if lowered in PUBLIC_KEY_HEADERS:
                continue
            if lowered.startswith(SECRET_HEADER_PREFIXES) or lowered in SECRET_FIELDS:
                self.add(f"header {name}", value)

    def add_query(self, url: str) -> None:
        self.add_fields(dict(parse_qsl(urlsplit(url).query)), "query ")

    def add_json_text(self, text: Any) -> None:
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "replace")
        if isinstance(text, str):
            try:
                self.add_fields(json.loads(text))
            except ValueError:
                return

    def __len__(self) -> int:
        return len(self._needles)

    def find(self, line: str) -> list[tuple[str, str]]:
        """(needle, kind) of every recorded needle in `line`."""
        with self._lock:
            return [(needle, kind) for needle, kind in self._needles.items() if needle in line]


def redact(line: str, found: Iterable[str]) -> str:
    for needle in sorted(found, key=len, reverse=True):
        line = line.replace(needle, f"<{len(needle)} chars redacted>")
    return line[:300]


def _scanned_lines(path: Path) -> Iterator[tuple[int, str]]:
    """A log file's lines, less the start banner (see the module docstring)."""
    in_banner = False
    for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        if line.strip() == BANNER_FIRST_LINE:
            in_banner = True
        if not in_banner:
            yield number, line
        if in_banner and line.strip() == BANNER_LAST_LINE:
            in_banner = False


def scan_logs(ledger: SecretLedger, paths: Iterable[Path]) -> tuple[list[Leak], int]:
    """The leaks in the files at `paths`, and how many lines were scanned."""
    leaks, scanned = [], 0
    for path in paths:
        for number, line in _scanned_lines(path):
            scanned += 1
            if found := ledger.find(line):
                leaks.append(Leak(path, number, found[0][1], redact(line, [needle for needle, _ in found])))
    return leaks, scanned


def leak_report(leaks: list[Leak]) -> str:
    return "\n".join(f"{leak.path.name}:{leak.line_number} ({leak.kind}): {leak.redacted_line}" for leak in leaks)


# -- the e2e fixture: record what the clients send, scan what the stacks wrote -----------------------


@dataclass
class _Stacks:
    """Every local stack started in this session, with each start's log files."""

    data_dirs: list[Path] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)


def _secure_strings(data_dir: Path) -> list[str]:
    """The SecureString parameters of a stopped stack (its snapshot), service-account JSON opened."""
    snapshot = data_dir / "snapshot.json"
    if not snapshot.exists():
        return []
    values = []
    for parameter in json.loads(snapshot.read_text()).get("parameters", []):
        if parameter.get("Type") != "SecureString":
            continue
        value = parameter["Value"]
        try:
            opened = json.loads(value)
        except ValueError:
            opened = None
        values.append(opened.get("private_key", value) if isinstance(opened, dict) else value)
    return values


def _record_clients(ledger: SecretLedger, stacks: _Stacks, monkeypatch: pytest.MonkeyPatch) -> None:
    import requests.sessions
    import websockets.sync.client

    from tests.e2e.local_stack import LocalStackProcess

    original_request = requests.sessions.Session.request

    def request(self: Any, method: str, url: str, params: Any = None, data: Any = None, headers: Any = None, **kwargs: Any) -> Any:
        ledger.add_query(url)
        if isinstance(params, dict):
            ledger.add_fields(params, "query ")
        elif isinstance(params, (list, tuple)):
            ledger.add_fields(dict(params), "query ")
        ledger.add_fields(kwargs.get("json"))
        if isinstance(data, dict):
            ledger.add_fields(data)
        else:
            ledger.add_json_text(data)
        ledger.add_headers(headers)
        return original_request(self, method, url, params=params, data=data, headers=headers, **kwargs)

    original_connect = websockets.sync.client.connect

    def connect(uri: str, *args: Any, **kwargs: Any) -> Any:
        ledger.add_query(uri)
        ledger.add_headers(kwargs.get("additional_headers"))
        return original_connect(uri, *args, **kwargs)

    original_send = websockets.sync.client.ClientConnection.send

    def send(self: Any, message: Any, *args: Any, **kwargs: Any) -> Any:
        ledger.add_json_text(message)
        return original_send(self, message, *args, **kwargs)

    original_start = LocalStackProcess.start

    def start(self: LocalStackProcess) -> None:
        try:
            original_start(self)
        finally:
            stacks.logs += [self.stdout_path, self.stderr_path]
            if self.data_dir not in stacks.data_dirs:
                stacks.data_dirs.append(self.data_dir)
        ledger.add_fields(self.demo())  # secret_key, user_token_private_key

    monkeypatch.setattr(requests.sessions.Session, "request", request)
    monkeypatch.setattr(websockets.sync.client, "connect", connect)
    monkeypatch.setattr(websockets.sync.client.ClientConnection, "send", send)
    monkeypatch.setattr(LocalStackProcess, "start", start)
    # Modules that imported `connect` by name before the fixture ran.
    for module in list(sys.modules.values()):
        if getattr(module, "__name__", "").startswith("tests.e2e") and getattr(module, "connect", None) is original_connect:
            monkeypatch.setattr(module, "connect", connect)


@pytest.fixture(scope="session", autouse=True)
def log_hygiene() -> Iterator[SecretLedger]:
    """Set up before the stacks (autouse, session scope) and so torn down after every stack has
    stopped and flushed its logs: then the scan. A leak is an error of the session's last test."""
    ledger, stacks = SecretLedger(), _Stacks()
    monkeypatch = pytest.MonkeyPatch()
    _record_clients(ledger, stacks, monkeypatch)
    try:
        yield ledger
    finally:
        monkeypatch.undo()
    if not stacks.data_dirs:
        return  # no test of this session (or xdist worker) started a stack: there is no log
    for data_dir in stacks.data_dirs:
        for private_key in _secure_strings(data_dir):
            ledger.add("ssm SecureString", private_key)
    logs = [path for path in stacks.logs if path.exists()]
    leaks, scanned = scan_logs(ledger, logs)
    assert len(ledger) > 0, "no secret was recorded although stacks ran: the client hooks are broken"
    assert scanned > 0, f"the stacks' logs are empty or missing: {[str(p) for p in stacks.logs]}"
    if summary := os.environ.get(SUMMARY_FILE_ENV):  # the figures docs/security.md quotes
        Path(summary).write_text(json.dumps({"stacks": len(stacks.data_dirs), "log_files": len(logs), "lines_scanned": scanned, "needles": len(ledger), "leaks": len(leaks)}))
    assert not leaks, f"{len(leaks)} log lines of the local stacks hold a secret the tests sent:\n{leak_report(leaks)}"
