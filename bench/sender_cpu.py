"""Sender CPU per delivery against the CPU of RFC 8291 encryption alone, in one run.

The fake push service (0 ms) runs in a child process, so time.process_time() here counts only
the sender: encryption, endpoint re-check, VAPID header lookup, HTTP and the event loop. The
reference is http_ece.encrypt with a fresh ECDH key per message (fresh key, ECDH, HKDF, AES-GCM),
the library pywebpush encrypts with. Target (issue): the client <= 2x encryption alone.

The variants take turns batch by batch (250 deliveries: one invocation of the deployed sender, 5
SQS messages of 50), not run by run, so that load from other jobs on a shared machine hits each
of them alike; each round's ratio compares CPU spent in the same stretch of time. The client
sends the messages one after the other, or side by side on threads of their own with one
SendingLoop for their requests, as the deployed sender does (pushgate.sqs side_by_side).

    .venv/bin/python bench/sender_cpu.py [--deliveries 1500] [--concurrency 50] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "shared" / "python"))

import http_ece  # noqa: E402
import pywebpush  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from fake_push_service import FakePushService  # noqa: E402
from sender_throughput import PAYLOAD, SUBJECT, SUBSCRIPTIONS, TTL, browser_keys, pywebpush_async_path, vapid_key  # noqa: E402

from pushgate.delivery.webpush.encryption import ReceiverKeys, encrypt  # noqa: E402
from pushgate.delivery.transport.keepalive import KeepAliveTransport  # noqa: E402
from pushgate.delivery.transport.sending_loop import SendingLoop  # noqa: E402
from pushgate.delivery.webpush.requests_session import new_requests_session  # noqa: E402
from pushgate.delivery.webpush.vapid import VapidSigner, origin_of  # noqa: E402
from pushgate.delivery.webpush.client import Delivery, WebPushClient  # noqa: E402
from pushgate.validation import EndpointPolicy, b64url_decode  # noqa: E402
from pushgate.services.fanout import DEVICES_PER_DELIVERY  # noqa: E402
from pushgate.wiring import SENDER_CONCURRENCY, SENDER_MESSAGES_AT_ONCE  # noqa: E402

REFERENCE = "RFC 8291 encryption alone (http_ece, fresh key)"
BATCH = DEVICES_PER_DELIVERY * SENDER_MESSAGES_AT_ONCE  # one invocation of the deployed sender

Variant = Callable[[range], None]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1500, help="per variant and round")
    parser.add_argument("--concurrency", type=int, default=SENDER_CONCURRENCY, help="requests in flight; default: the deployed sender's")
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    n, concurrency = arguments.deliveries, arguments.concurrency
    keys = [browser_keys() for _ in range(SUBSCRIPTIONS)]
    raw_keys = [(b64url_decode(p256dh), b64url_decode(auth)) for p256dh, auth in keys]
    pem, _ = vapid_key()

    def http_ece_alone(batch: range) -> None:
        for i in batch:
            ua_public, auth = raw_keys[i % SUBSCRIPTIONS]
            sender_key = ec.generate_private_key(ec.SECP256R1())
            http_ece.encrypt(PAYLOAD, private_key=sender_key, dh=ua_public, auth_secret=auth, version="aes128gcm")

    def our_encryption_alone(batch: range) -> None:
        for i in batch:
            p256dh, auth = keys[i % SUBSCRIPTIONS]
            encrypt(PAYLOAD, ReceiverKeys.from_subscription(p256dh, auth))

    def pywebpush_encoding_alone(batch: range) -> None:
        # pywebpush's WebPusher per message, without pushgate's key checks around it.
        for i in batch:
            p256dh, auth = keys[i % SUBSCRIPTIONS]
            pywebpush.WebPusher({"endpoint": "https://fcm.googleapis.com/x", "keys": {"p256dh": p256dh, "auth": auth}}).encode(PAYLOAD)

    with FakePushService(delay_ms=0) as service:
        policy = EndpointPolicy.from_setting((f"127.0.0.1:{service.port}",))
        deliveries = [Delivery(service.url(i), p256dh, auth, PAYLOAD, TTL) for i, (p256dh, auth) in enumerate(keys)]
        signer = VapidSigner(pem, SUBJECT)
        sessions = {"keep-alive transport": KeepAliveTransport(concurrency), "requests session": new_requests_session(concurrency)}
        clients = {name: WebPushClient(signer, policy, concurrency=concurrency, session=session) for name, session in sessions.items()}
        pywebpush_async, close_pywebpush_async = pywebpush_async_path(service, keys, signer.header(origin_of(service.url(0))), concurrency)

        def messages(batch: range) -> list[range]:
            return [batch[k : k + DEVICES_PER_DELIVERY] for k in range(0, len(batch), DEVICES_PER_DELIVERY)]

        def sending(client: WebPushClient, workers: int | None = None) -> Variant:
            def send_message(message: range) -> None:
                outcomes = client.send_many([deliveries[i % SUBSCRIPTIONS] for i in message], max_workers=workers)
                assert all(outcome.kind == "sent" for outcome in outcomes)

            def run(batch: range) -> None:
                for message in messages(batch):
                    send_message(message)

            run.send_message = send_message  # type: ignore[attr-defined]
            return run

        threads = ThreadPoolExecutor(max_workers=SENDER_MESSAGES_AT_ONCE)
        pooled = WebPushClient(signer, policy, concurrency=concurrency, session=SendingLoop(KeepAliveTransport(concurrency * SENDER_MESSAGES_AT_ONCE)))
        send_pooled = sending(pooled).send_message  # type: ignore[attr-defined]

        def side_by_side(batch: range) -> None:
            list(threads.map(send_pooled, messages(batch)))

        variants: dict[str, Variant] = {
            REFERENCE: http_ece_alone,
            "  same, pushgate.delivery.webpush.encryption (pywebpush)": our_encryption_alone,
            "  same, pywebpush.WebPusher.encode": pywebpush_encoding_alone,
            "client send_many, keep-alive transport, one message at a time": sending(clients["keep-alive transport"]),
            f"client send_many, {SENDER_MESSAGES_AT_ONCE} messages side by side, one SendingLoop (deployed)": side_by_side,
            "client send_many, requests session, one message at a time": sending(clients["requests session"]),
            # One request in flight at a time, like the reference loop: what overlapping saves.
            "client one at a time, keep-alive transport": sending(clients["keep-alive transport"], workers=1),
            "pywebpush send_async, one aiohttp session": pywebpush_async,
        }
        for variant in variants.values():
            variant(range(concurrency * 2))  # warm: connections open, VAPID header cached
        ratios: dict[str, list[float]] = {name: [] for name in variants}
        per_message: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(arguments.rounds):
            spent = dict.fromkeys(variants, 0.0)
            for start in range(0, n, BATCH):
                batch = range(start, min(start + BATCH, n))
                for name, variant in variants.items():
                    started = time.process_time()
                    variant(batch)
                    spent[name] += time.process_time() - started
            for name in variants:
                per_message[name].append(spent[name] / n * 1e6)
                ratios[name].append(spent[name] / spent[REFERENCE])
        for client in clients.values():
            client.close()
        close_pywebpush_async()

    print(f"{n} deliveries x {arguments.rounds} rounds, batches of {BATCH}, concurrency {concurrency}, cpus={os.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    print("sender process CPU per message (median round); multiple of encryption alone in the same round: best, median, worst")
    for name in variants:
        spread = sorted(ratios[name])
        print(f"  {name:72s} {statistics.median(per_message[name]):6.0f} us   x{spread[0]:.2f}  x{statistics.median(spread):.2f}  x{spread[-1]:.2f}")


if __name__ == "__main__":
    main()
