"""Deliveries per second: a plain loop of pywebpush.webpush() against WebPushClient.send_many.

All variants send the same payload to the same 200 subscriptions on a fake push service
(127.0.0.1 only, in a child process) that answers 201 after 0 ms, then after 50 ms: the
simulated push-service round trip. Variants alternate in rounds and each keeps its best round,
so load from elsewhere on the machine does not favour one. Target (issue): send_many >= 4x the
plain loop at 0 ms and >= 40x at 50 ms.

send_many gets one delivery message's devices per call (50), as the sender does for each
message. "one message at a time" is an invocation with one message; "5 messages side by side" is
a full invocation of the deployed sender (its BatchSize): each message on a thread of its own,
their requests sent by one SendingLoop (functions/webpush_sender, pushgate.sqs side_by_side).

    .venv/bin/python bench/sender_throughput.py [--concurrency 50] [--seconds 2.5] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "layers" / "shared" / "python"))

import aiohttp  # noqa: E402
import pywebpush  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from fake_push_service import FakePushService  # noqa: E402

from pushgate.delivery.transport.keepalive import KeepAliveTransport  # noqa: E402
from pushgate.delivery.transport.sending_loop import SendingLoop  # noqa: E402
from pushgate.delivery.webpush.requests_session import new_requests_session  # noqa: E402
from pushgate.delivery.webpush.vapid import VapidSigner, origin_of  # noqa: E402
from pushgate.delivery.webpush.client import Delivery, WebPushClient  # noqa: E402
from pushgate.services.fanout import DEVICES_PER_DELIVERY  # noqa: E402
from pushgate.validation import EndpointPolicy  # noqa: E402
from pushgate.wiring import SENDER_CONCURRENCY, SENDER_MESSAGES_AT_ONCE  # noqa: E402

SUBJECT = "mailto:ops@example.com"
SUBSCRIPTIONS = 200
PAYLOAD = b'{"id":"push_0123456789","notification":{"title":"New message","body":"You have a new message from Alice"}}'
TTL = 86400
PLAIN_LOOP = "plain webpush() loop"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def browser_keys() -> tuple[str, str]:
    point = ec.generate_private_key(ec.SECP256R1()).public_key()
    raw = point.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64url(raw), b64url(os.urandom(16))


def vapid_key() -> tuple[str, str]:
    """One key as (PEM for our signer, base64url DER as pywebpush users usually pass it)."""
    key = ec.generate_private_key(ec.SECP256R1())
    no_password = serialization.NoEncryption()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, no_password)
    der = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, no_password)
    return pem.decode(), b64url(der)


def pywebpush_async_path(service: FakePushService, keys: list[tuple[str, str]], authorization: str, concurrency: int) -> tuple[Callable[[range], None], Callable[[], None]]:
    """pywebpush's own concurrent path: WebPusher.send_async over one shared aiohttp session
    (connection reuse, `concurrency` in flight), with the VAPID header signed once, as ours is."""
    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(_aiohttp_session(concurrency))
    limit = asyncio.Semaphore(concurrency)
    subscriptions = [{"endpoint": service.url(i), "keys": {"p256dh": p256dh, "auth": auth}} for i, (p256dh, auth) in enumerate(keys)]
    timeout = aiohttp.ClientTimeout(sock_connect=3.05, sock_read=10)

    async def send(i: int) -> None:
        async with limit:
            pusher = pywebpush.WebPusher(subscriptions[i % SUBSCRIPTIONS], aiohttp_session=session)
            response = await pusher.send_async(PAYLOAD, headers={"Authorization": authorization}, ttl=TTL, timeout=timeout)
            assert response.status == 201, response.status

    async def send_all(batch: range) -> None:
        await asyncio.gather(*(send(i) for i in batch))

    def close() -> None:
        loop.run_until_complete(session.close())
        loop.close()

    return lambda batch: loop.run_until_complete(send_all(batch)), close


async def _aiohttp_session(concurrency: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))


def rate(run_batch: Callable[[int], int], seconds: float) -> float:
    """Deliveries per second over about `seconds` of wall time, after one warm-up batch."""
    run_batch(0)
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        sent += run_batch(sent)
    return sent / (time.perf_counter() - started)


def variants(
    service: FakePushService, delay_ms: float, concurrency: int, keys: list[tuple[str, str]], vapid: tuple[str, str]
) -> tuple[dict[str, Callable[[int], int]], Callable[[], None]]:
    """The variants by name, and what closes the aiohttp session afterwards."""
    pem, der = vapid
    endpoints = [service.url(i) for i in range(SUBSCRIPTIONS)]
    subscriptions = [{"endpoint": url, "keys": {"p256dh": p256dh, "auth": auth}} for url, (p256dh, auth) in zip(endpoints, keys)]
    deliveries = [Delivery(url, p256dh, auth, PAYLOAD, TTL) for url, (p256dh, auth) in zip(endpoints, keys)]

    def plain_loop(start: int) -> int:
        batch = 20 if delay_ms == 0 else 5
        for i in range(start, start + batch):
            # As a plain script does it: no session, and a copy of the claims each call, since
            # webpush() writes aud and exp into the dict it is given.
            claims = {"sub": SUBJECT}
            pywebpush.webpush(subscriptions[i % SUBSCRIPTIONS], PAYLOAD.decode(), vapid_private_key=der, vapid_claims=claims, ttl=TTL, timeout=10)
        return batch

    def many(client: WebPushClient) -> Callable[[int], int]:
        def run(start: int) -> int:
            batch = DEVICES_PER_DELIVERY
            outcomes = client.send_many([deliveries[(start + i) % SUBSCRIPTIONS] for i in range(batch)])
            assert all(outcome.kind == "sent" for outcome in outcomes), {outcome.kind for outcome in outcomes}
            return batch

        return run

    def side_by_side(client: WebPushClient) -> Callable[[int], int]:
        threads = ThreadPoolExecutor(max_workers=SENDER_MESSAGES_AT_ONCE)
        send_one_message = many(client)

        def run(start: int) -> int:
            starts = [start + k * DEVICES_PER_DELIVERY for k in range(SENDER_MESSAGES_AT_ONCE)]
            return sum(threads.map(send_one_message, starts))

        return run

    policy = EndpointPolicy.from_setting((f"127.0.0.1:{service.port}",))
    sessions = {"keep-alive transport": KeepAliveTransport(concurrency), "requests session": new_requests_session(concurrency)}
    signer = VapidSigner(pem, SUBJECT)
    clients = {name: WebPushClient(signer, policy, concurrency=concurrency, session=session) for name, session in sessions.items()}
    send_async, close = pywebpush_async_path(service, keys, signer.header(origin_of(endpoints[0])), concurrency)

    def pywebpush_async(start: int) -> int:
        batch = DEVICES_PER_DELIVERY
        send_async(range(start, start + batch))
        return batch

    pooled = WebPushClient(signer, policy, concurrency=concurrency, session=SendingLoop(KeepAliveTransport(concurrency * SENDER_MESSAGES_AT_ONCE)))
    named = {f"send_many, {name}, one message at a time": many(client) for name, client in clients.items()}
    return {
        PLAIN_LOOP: plain_loop,
        f"send_many, {SENDER_MESSAGES_AT_ONCE} messages side by side, one SendingLoop (deployed)": side_by_side(pooled),
        **named,
        "pywebpush send_async, aiohttp": pywebpush_async,
    }, close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--concurrency", type=int, default=SENDER_CONCURRENCY, help="requests in flight; default: the deployed sender's")
    parser.add_argument("--seconds", type=float, default=2.5, help="wall time per variant and round")
    parser.add_argument("--rounds", type=int, default=2)
    arguments = parser.parse_args()
    keys = [browser_keys() for _ in range(SUBSCRIPTIONS)]
    vapid = vapid_key()
    print(f"concurrency {arguments.concurrency}, {SUBSCRIPTIONS} subscriptions, {len(PAYLOAD)} B payload, cpus={os.cpu_count()}")
    for delay_ms in (0, 50):
        with FakePushService(delay_ms) as service:
            runs, close = variants(service, delay_ms, arguments.concurrency, keys, vapid)
            best = {name: 0.0 for name in runs}
            for _ in range(arguments.rounds):
                for name, run in runs.items():
                    best[name] = max(best[name], rate(run, arguments.seconds))
            close()
        print(f"\nsimulated push-service round trip {delay_ms} ms (load average {os.getloadavg()[0]:.1f})")
        for name, per_second in best.items():
            ratio = "" if name == PLAIN_LOOP else f"   x{per_second / best[PLAIN_LOOP]:.1f} the plain loop"
            print(f"  {name:62s} {per_second:8.1f} deliveries/s{ratio}")


if __name__ == "__main__":
    main()
