"""The Web Push sender over HTTP/2 against today's HTTP/1.1 keep-alive pool, both over TLS, in one
run: deliveries per second at 0 ms and 50 ms, and CPU per delivery.

Both variants send exactly the requests WebPushClient builds (endpoint re-check, RFC 8291
encryption with a fresh key per message via pushgate.delivery.webpush.encryption, the cached VAPID
header, TTL, Content-Encoding, Urgency) and classify the answers the same way; only the session
under the client differs:

- HTTP/1.1 (today, deployed): one SendingLoop over KeepAliveTransport(pool_size=250), as
  wiring.delivery_service builds it, given a TLS context that trusts the fakes' test CA (its
  `tls_context` parameter: no change to it is needed). Up to 250 TLS connections, one request
  in flight on each.
- HTTP/2: `Http2PushSession` below, KeepAliveTransport's `post_many` surface over one HTTP/2
  client: `--http2 h2` (default) the native senders' H2Transport, `--http2 httpx` the httpx
  transport it replaced (bench/httpx_transport.py, at most 100 streams at once: httpcore's cap).
  The message's requests are all taken (encrypted) on the calling thread, then sent as streams of
  one TLS connection.

One invocation of the deployed sender is 5 messages of 50, each on a thread of its own (pushgate.sqs
side_by_side); one message at a time is shown too. The push service is bench/fake_h2_service.py in a
child process on 127.0.0.1: the same port speaks HTTP/2 to the h2 client and HTTP/1.1 to the
keep-alive pool, with the same 201 answer after the same delay. The CPU part runs at 0 ms, its
variants taking turns batch by batch; its reference is RFC 8291 encryption alone (http_ece, fresh
key), the reference of bench/sender_cpu.py, so that the figures compare with docs/performance.md's.

    .venv/bin/python bench/webpush_http2.py [--seconds 2] [--rounds 2] [--cpu-deliveries 1000] [--cpu-rounds 5] [--http2 h2|httpx]
"""

from __future__ import annotations

import argparse
import os
import ssl
import statistics
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "layers" / "shared" / "python")]

import http_ece  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from fake_h2_service import FakeH2Service  # noqa: E402
from sender_throughput import PAYLOAD, SUBJECT, TTL, browser_keys, vapid_key  # noqa: E402

from pushgate.delivery.transport.keepalive import KeepAliveTransport, OutgoingRequest  # noqa: E402
from pushgate.delivery.transport.sending_loop import SendingLoop  # noqa: E402
from httpx_transport import HttpxTransport  # noqa: E402

from pushgate.delivery.transport.h2_transport import H2Transport  # noqa: E402
from pushgate.delivery.transport.http2 import Http2Client, Request, Response  # noqa: E402
from pushgate.delivery.webpush.vapid import VapidSigner  # noqa: E402
from pushgate.delivery.webpush.client import Delivery, WebPushClient  # noqa: E402
from pushgate.services.fanout import DEVICES_PER_DELIVERY  # noqa: E402
from pushgate.validation import EndpointPolicy, b64url_decode  # noqa: E402
from pushgate.wiring import SENDER_CONCURRENCY, SENDER_MESSAGES_AT_ONCE  # noqa: E402
from pushgate_local.fakes.server import TestCertificateAuthority  # noqa: E402

INVOCATION = DEVICES_PER_DELIVERY * SENDER_MESSAGES_AT_ONCE
REFERENCE = "RFC 8291 encryption alone (http_ece, fresh key)"
HTTP1 = "HTTP/1.1 keep-alive"
HTTP2 = "HTTP/2"
# The HTTP/2 client under test (--http2): the native senders' own (h2) or the httpx one it replaced.
HTTP2_CLIENTS = {"h2": H2Transport, "httpx": HttpxTransport}
HTTP2_CLIENT = "h2"

Run = Callable[[int], int]


class _Headers:
    """An HTTP/2 answer's headers (lower-case names) read by any case, as WebPushClient reads them."""

    def __init__(self, lowered: Mapping[str, str]) -> None:
        self._lowered = lowered

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._lowered.get(name.lower(), default)


@dataclass(frozen=True)
class _Answer:
    """What WebPushClient reads of an answer: `status_code` and `headers`."""

    status_code: int
    headers: _Headers


class Http2PushSession:
    """KeepAliveTransport's `post_many` over an Http2Transport, so that WebPushClient sends its
    requests unchanged as HTTP/2 streams. The deadline for a call is the connect plus read timeout."""

    def __init__(self, http: Http2Client) -> None:
        self._http = http

    def post_many(self, requests: Iterable[OutgoingRequest], timeout: tuple[float, float], concurrency: int | None = None) -> list:
        batch = [Request("POST", request.url, request.headers, request.body) for request in requests]
        answers = self._http.send_all(batch, deadline_seconds=sum(timeout))
        return [_Answer(answer.status, _Headers(answer.headers)) if isinstance(answer, Response) else answer for answer in answers]

    def close(self) -> None:
        self._http.close()


class Senders:
    """The two clients against one running service, their deliveries, and the variants."""

    def __init__(self, service: FakeH2Service, keys: list[tuple[str, str]], vapid_pem: str) -> None:
        policy = EndpointPolicy.from_setting((f"127.0.0.1:{service.port}",))
        signer = VapidSigner(vapid_pem, SUBJECT)
        endpoints = [f"{service.url}/push/subscription-{i}" for i in range(len(keys))]
        self.deliveries = [Delivery(url, p256dh, auth, PAYLOAD, TTL) for url, (p256dh, auth) in zip(endpoints, keys)]
        trusting_fakes = ssl.create_default_context(cafile=service.ca_file)
        pool = KeepAliveTransport(pool_size=SENDER_CONCURRENCY * SENDER_MESSAGES_AT_ONCE, tls_context=trusting_fakes)
        sessions = {HTTP1: SendingLoop(pool), HTTP2: Http2PushSession(HTTP2_CLIENTS[HTTP2_CLIENT](ca_file=service.ca_file))}
        self.clients = {
            protocol: WebPushClient(signer, policy, concurrency=SENDER_CONCURRENCY, session=session)
            for protocol, session in sessions.items()
        }
        self.threads = ThreadPoolExecutor(max_workers=SENDER_MESSAGES_AT_ONCE)

    def message(self, client: WebPushClient) -> Callable[[int], int]:
        def send(start: int) -> int:
            batch = [self.deliveries[(start + i) % len(self.deliveries)] for i in range(DEVICES_PER_DELIVERY)]
            outcomes = client.send_many(batch)
            assert all(outcome.kind == "sent" for outcome in outcomes), {outcome.detail for outcome in outcomes}
            return len(outcomes)

        return send

    def side_by_side(self, client: WebPushClient) -> Run:
        send_message = self.message(client)

        def run(start: int) -> int:
            return sum(self.threads.map(send_message, [start + k * DEVICES_PER_DELIVERY for k in range(SENDER_MESSAGES_AT_ONCE)]))

        return run

    def variants(self) -> dict[str, Run]:
        named: dict[str, Run] = {}
        for protocol, client in self.clients.items():
            named[f"{protocol}, {SENDER_MESSAGES_AT_ONCE} messages of 50 side by side"] = self.side_by_side(client)
        for protocol, client in self.clients.items():
            named[f"{protocol}, one message of 50 at a time"] = self.message(client)
        return named

    def close(self) -> None:
        self.threads.shutdown()
        for client in self.clients.values():
            client.close()


def rate(run_batch: Run, seconds: float) -> float:
    """Deliveries per second over about `seconds` of wall time, after one warm-up batch."""
    run_batch(0)
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        sent += run_batch(sent)
    return sent / (time.perf_counter() - started)


def throughput(
    ca: TestCertificateAuthority, keys: list[tuple[str, str]], vapid_pem: str, delay_ms: float, seconds: float, rounds: int
) -> None:
    with FakeH2Service(delay_ms, ca.server_pem, ca.ca_file) as service:
        senders = Senders(service, keys, vapid_pem)
        try:
            runs = senders.variants()
            per_round: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(rounds):
                for name, run in runs.items():
                    per_round[name].append(rate(run, seconds))
            service.reset_stats()
            for run in runs.values():
                run(0)
            stats = service.stats()
        finally:
            senders.close()
    best = {name: max(values) for name, values in per_round.items()}
    print(f"\nsimulated push-service round trip {delay_ms:g} ms (load average {os.getloadavg()[0]:.1f})")
    for name, per_second in best.items():
        protocol, _, shape = name.partition(", ")
        other = HTTP1 if protocol == HTTP2 else HTTP2
        ratio = f"   HTTP/2 x{per_second / best[f'{other}, {shape}']:.2f} HTTP/1.1" if protocol == HTTP2 else ""
        rounds_text = ", ".join(f"{value:.0f}" for value in per_round[name])
        print(f"  {name:52s} {per_second:8.1f} deliveries/s (rounds: {rounds_text}){ratio}")
    most_streams = stats["most_streams_on_one_connection"]
    print(f"    connections one pass of the variants used: {stats['connections']}, at most {most_streams} streams on one HTTP/2 connection")


def cpu(ca: TestCertificateAuthority, keys: list[tuple[str, str]], vapid_pem: str, deliveries: int, rounds: int) -> None:
    raw_keys = [(b64url_decode(p256dh), b64url_decode(auth)) for p256dh, auth in keys]
    batches = max(1, deliveries // INVOCATION)
    n = batches * INVOCATION

    def encryption_alone(start: int) -> int:
        for i in range(start, start + INVOCATION):
            ua_public, auth = raw_keys[i % len(raw_keys)]
            sender_key = ec.generate_private_key(ec.SECP256R1())
            http_ece.encrypt(PAYLOAD, private_key=sender_key, dh=ua_public, auth_secret=auth, version="aes128gcm")
        return INVOCATION

    with FakeH2Service(0, ca.server_pem, ca.ca_file) as service:
        senders = Senders(service, keys, vapid_pem)
        try:
            messages = senders.variants()

            def invocation_of(run: Run, side_by_side: bool) -> Run:
                if side_by_side:
                    return run
                return lambda start: sum(run(start + k * DEVICES_PER_DELIVERY) for k in range(SENDER_MESSAGES_AT_ONCE))

            variants: dict[str, Run] = {REFERENCE: encryption_alone}
            variants.update({name: invocation_of(run, "side by side" in name) for name, run in messages.items()})
            for variant in variants.values():
                variant(0)  # warm: connections open, VAPID header signed
            spent_per_round: list[dict[str, float]] = []
            for _ in range(rounds):
                spent = dict.fromkeys(variants, 0.0)
                for batch in range(batches):
                    for name, variant in variants.items():
                        started = time.process_time()
                        variant(batch * INVOCATION)
                        spent[name] += time.process_time() - started
                spent_per_round.append(spent)
        finally:
            senders.close()

    print(f"\nCPU at 0 ms: {n} deliveries x {rounds} rounds, batches of {INVOCATION}, load average {os.getloadavg()[0]:.1f}")
    print("sender process CPU per delivery (median round); per round, multiple of encryption alone and HTTP/2 of HTTP/1.1: best, median, worst")
    for name in variants:
        per_delivery = statistics.median(spent[name] / n * 1e6 for spent in spent_per_round)
        against_encryption = sorted(spent[name] / spent[REFERENCE] for spent in spent_per_round)
        spread = f"x{against_encryption[0]:.2f}  x{statistics.median(against_encryption):.2f}  x{against_encryption[-1]:.2f}"
        line = f"  {name:52s} {per_delivery:6.0f} us   {spread}"
        protocol, _, shape = name.partition(", ")
        if protocol == HTTP2:
            against_http1 = sorted(spent[name] / spent[f"{HTTP1}, {shape}"] for spent in spent_per_round)
            line += f"   HTTP/2 of HTTP/1.1: x{against_http1[0]:.2f}  x{statistics.median(against_http1):.2f}  x{against_http1[-1]:.2f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="wall time per variant and round (throughput)")
    parser.add_argument("--rounds", type=int, default=2, help="throughput rounds")
    parser.add_argument("--cpu-deliveries", type=int, default=1000, help=f"per variant and CPU round, in batches of {INVOCATION}")
    parser.add_argument("--cpu-rounds", type=int, default=5)
    parser.add_argument("--http2", default="h2", choices=sorted(HTTP2_CLIENTS), help="the HTTP/2 client: H2Transport or httpx")
    arguments = parser.parse_args()
    global HTTP2_CLIENT  # noqa: PLW0603 - one setting for the run, read where the sessions are built
    HTTP2_CLIENT = arguments.http2
    keys = [browser_keys() for _ in range(INVOCATION)]
    vapid_pem, _ = vapid_key()
    ca = TestCertificateAuthority()
    print(f"{INVOCATION} subscriptions, {len(PAYLOAD)} B payload, TLS on loopback for both, HTTP/2 client {HTTP2_CLIENT}, cpus={os.cpu_count()}")
    for delay_ms in (0, 50):
        throughput(ca, keys, vapid_pem, delay_ms, arguments.seconds, arguments.rounds)
    cpu(ca, keys, vapid_pem, arguments.cpu_deliveries, arguments.cpu_rounds)


if __name__ == "__main__":
    main()
