"""Sender CPU per delivery against the CPU of RFC 8291 encryption alone, in one run.

The fake push service (0 ms) runs in a child process, so time.process_time() here counts only
the sender: encryption, endpoint re-check, VAPID header lookup, HTTP and the event loop. The
reference is http_ece.encrypt with a fresh ECDH key per message (fresh key, ECDH, HKDF, AES-GCM),
the library pywebpush encrypts with. Variants alternate in rounds, so load from elsewhere on
the machine hits them alike. Target (issue): the client <= 2x encryption alone.

    .venv/bin/python bench/sender_cpu.py [--deliveries 1500] [--concurrency 16] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "shared" / "python"))

import http_ece  # noqa: E402
import pywebpush  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from fake_push_service import FakePushService  # noqa: E402
from sender_throughput import PAYLOAD, SUBJECT, SUBSCRIPTIONS, TTL, browser_keys, vapid_key  # noqa: E402

from pushgate.delivery.encryption import ReceiverKeys, encrypt  # noqa: E402
from pushgate.delivery.keepalive import KeepAliveTransport  # noqa: E402
from pushgate.delivery.requests_session import new_requests_session  # noqa: E402
from pushgate.delivery.vapid import VapidSigner  # noqa: E402
from pushgate.delivery.webpush import Delivery, WebPushClient  # noqa: E402
from pushgate.validation import EndpointPolicy, b64url_decode  # noqa: E402

REFERENCE = "RFC 8291 encryption alone (http_ece, fresh key)"


def cpu_per_item(run: Callable[[], int]) -> float:
    """Microseconds of this process's CPU per item of one run."""
    started = time.process_time()
    items = run()
    return (time.process_time() - started) / items * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    n, concurrency = arguments.deliveries, arguments.concurrency
    keys = [browser_keys() for _ in range(SUBSCRIPTIONS)]
    raw_keys = [(b64url_decode(p256dh), b64url_decode(auth)) for p256dh, auth in keys]
    pem, _ = vapid_key()

    def http_ece_alone() -> int:
        for i in range(n):
            ua_public, auth = raw_keys[i % SUBSCRIPTIONS]
            sender_key = ec.generate_private_key(ec.SECP256R1())
            http_ece.encrypt(PAYLOAD, private_key=sender_key, dh=ua_public, auth_secret=auth, version="aes128gcm")
        return n

    def our_encryption_alone() -> int:
        for i in range(n):
            p256dh, auth = keys[i % SUBSCRIPTIONS]
            encrypt(PAYLOAD, ReceiverKeys.from_subscription(p256dh, auth))
        return n

    def pywebpush_encoding_alone() -> int:
        # What encrypting through pywebpush itself would cost the sender (its WebPusher per message).
        for i in range(n):
            p256dh, auth = keys[i % SUBSCRIPTIONS]
            pywebpush.WebPusher({"endpoint": "https://fcm.googleapis.com/x", "keys": {"p256dh": p256dh, "auth": auth}}).encode(PAYLOAD)
        return n

    with FakePushService(delay_ms=0) as service:
        policy = EndpointPolicy.from_setting((f"127.0.0.1:{service.port}",))
        deliveries = [Delivery(service.url(i), p256dh, auth, PAYLOAD, TTL) for i, (p256dh, auth) in enumerate(keys)]
        batch = [deliveries[i % SUBSCRIPTIONS] for i in range(n)]
        sessions = {"keep-alive transport": KeepAliveTransport(concurrency), "requests session": new_requests_session(concurrency)}
        clients = {
            f"client send_many, {name}": WebPushClient(VapidSigner(pem, SUBJECT), policy, concurrency=concurrency, session=session)
            for name, session in sessions.items()
        }
        for client in clients.values():
            client.send_many(batch[: concurrency * 2])  # warm: connections open, VAPID header cached

        def sending(client: WebPushClient, workers: int | None = None) -> Callable[[], int]:
            def run() -> int:
                outcomes = client.send_many(batch, max_workers=workers)
                assert all(outcome.kind == "sent" for outcome in outcomes)
                return n

            return run

        keep_alive = clients["client send_many, keep-alive transport"]
        runs: dict[str, Callable[[], int]] = {
            REFERENCE: http_ece_alone,
            "  same, pushgate.delivery.encryption": our_encryption_alone,
            "  same, pywebpush.WebPusher.encode": pywebpush_encoding_alone,
            **{name: sending(client) for name, client in clients.items()},
            # One request in flight at a time, like the reference loop: what overlapping saves.
            "client one at a time, keep-alive transport": sending(keep_alive, workers=1),
        }
        samples: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(arguments.rounds):
            for name, run in runs.items():
                samples[name].append(cpu_per_item(run))
        for client in clients.values():
            client.close()

    reference = samples[REFERENCE]
    print(f"{n} deliveries x {arguments.rounds} rounds, concurrency {concurrency}, cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print("sender process CPU per message: best round, median round; multiple of encryption alone (best/best, median/median)")
    for name, values in samples.items():
        best, median = min(values), statistics.median(values)
        ratios = f"x{best / min(reference):.2f}  x{median / statistics.median(reference):.2f}"
        print(f"  {name:50s} {best:6.0f} us {median:6.0f} us   {ratios}")


if __name__ == "__main__":
    main()
