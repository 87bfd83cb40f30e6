"""The log scanner of tests/e2e/log_hygiene.py (the e2e suite's end-of-session check, and the
fault tests' check of their handlers' logs) catches what it must, so that neither passes vacuously:
secrets planted in a log file, whole or cut short, URL-quoted, in the middle of a line; and it
spares what is public (a push service's origin, a JWT's header) and the start banner only. The
client hooks record what a test sends through requests and websockets."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import jwt
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pushgate.identifiers import new_secret_key, new_session_id
from tests.e2e.log_hygiene import BANNER_FIRST_LINE, BANNER_LAST_LINE, SecretLedger, _record_clients, _Stacks, leak_report, scan_logs
from tests.delivery.push_fakes import closed_port

ENDPOINT = "https://fcm.googleapis.com/fcm/send/dGhpcyBpcyBhIHN1YnNjcmlwdGlvbg:APA91bHun4MxP5egoKMwt2KZFBaFUH"


def private_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


def scan(ledger: SecretLedger, tmp_path: Path, *lines: str, spared: int = 0) -> list[int]:
    """The numbers of the lines found to leak; every line but the `spared` ones was scanned."""
    log = tmp_path / "stderr-1.log"
    log.write_text("\n".join(lines) + "\n")
    leaks, scanned = scan_logs(ledger, [log])
    assert scanned == len(lines) - spared
    for leak in leaks:
        assert all(needle not in leak.redacted_line for needle in ledger._needles), leak_report(leaks)
    return [leak.line_number for leak in leaks]


def test_planted_secrets_are_caught_whole_cut_short_and_url_quoted(tmp_path: Path) -> None:
    secret_key, session = new_secret_key(), new_session_id()
    token = jwt.encode({"sub": "alice", "app": "app_1"}, "k" * 32, algorithm="HS256")
    pem = private_pem()
    ledger = SecretLedger()
    ledger.add_fields({"api_key": secret_key, "session_id": session, "endpoint": ENDPOINT, "token": token, "private_key": pem})
    lines = [
        "[HttpApi] POST /push -> 200 (12 ms)",  # 1 clean
        f"INFO something {secret_key} happened",  # 2 whole
        f"DEBUG session={session[:14]}...",  # 3 cut short
        f"GET /devices/{quote(ENDPOINT, safe='')} -> 200",  # 4 URL-quoted endpoint
        f"web push sent: origin=https://fcm.googleapis.com endpoint_id=3f2a9c0d1e2b",  # 5 clean: origin and hash
        f'{{"level":"INFO","message":"auth","token":"{token}"}}',  # 6 JWT
        f"header only {token.split('.')[0]}",  # 7 clean: a JWT's header is not the secret
        f"key material {pem.splitlines()[2]}",  # 8 a line of the private key
    ]
    assert scan(ledger, tmp_path, *lines) == [2, 3, 4, 6, 8]


def test_the_start_banner_is_the_only_block_spared(tmp_path: Path) -> None:
    secret_key = new_secret_key()
    ledger = SecretLedger()
    ledger.add("secret_key", secret_key)
    lines = [
        BANNER_FIRST_LINE,
        f"  secret key        {secret_key}",
        BANNER_LAST_LINE,
        f"[HttpApi] later: {secret_key}",
    ]
    assert scan(ledger, tmp_path, *lines, spared=3) == [4]


def test_values_too_short_to_be_recognised_are_not_recorded() -> None:
    ledger = SecretLedger()
    ledger.add_fields({"api_key": "x", "token": "short-token", "title": "not a secret field at all, long enough"})
    assert len(ledger) == 0


def test_the_client_hooks_record_what_the_tests_send(tmp_path: Path) -> None:
    ledger, stacks = SecretLedger(), _Stacks()
    monkeypatch = pytest.MonkeyPatch()
    _record_clients(ledger, stacks, monkeypatch)
    secret_key, session = new_secret_key(), new_session_id()
    try:
        with pytest.raises(requests.ConnectionError):
            requests.post(
                f"http://127.0.0.1:{closed_port()}/me/subscribe",
                params={"api_key": secret_key},
                headers={"IM-Authorization": session, "IM-CLIENT-KEY": "pk_the-public-key-is-not-secret"},
                json={"subscription": {"endpoint": ENDPOINT, "keys": {"p256dh": "B" * 87, "auth": "A" * 22}}},
                timeout=2,
            )
    finally:
        monkeypatch.undo()
    lines = [f"a {secret_key}", f"b {session}", f"c {ENDPOINT}", f"d {'B' * 87}", f"e {'A' * 22}", "f pk_the-public-key-is-not-secret"]
    assert scan(ledger, tmp_path, *lines) == [1, 2, 3, 4, 5]
