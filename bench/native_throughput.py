"""Deliveries per second of the native senders in one invocation, against a plain sequential loop.

Baseline, per provider: what a naive script does: one request at a time over ONE HTTP/2
connection, an `httpx.Client(http2=True)` reused, with the same TLS context, the same payload and
the same provider JWT (APNs) or access token (FCM) reused (bench/native_world.py, "bare requests").
Measured: the deployed shape, one invocation of the sender (5 SQS messages of 50 devices) with
its messages side by side: 5 threads calling ApnsTransport.send / FcmTransport.send over one
shared H2Transport, as pushgate.sqs side_by_side and wiring.native_delivery_service do. Also
shown: one message of 50 at a time.

The provider is bench/fake_h2_service.py in a child process on 127.0.0.1 (TLS, HTTP/2), answering
after 0 ms, then after 50 ms: the simulated provider round trip. Before measuring, the requests of
both variants go to the honest fakes once (native_world.check_with_honest_fakes). Variants
alternate in rounds and each keeps its best round, so that load from elsewhere on the machine
does not favour one. Targets (issue): >= 5x the plain loop at 0 ms, >= 50x at 50 ms.

httpcore (under httpx) opens one HTTP/2 connection per origin and allows at most 100 streams on
it (its own SETTINGS_MAX_CONCURRENT_STREAMS, hard-coded, whatever the server allows): the 250
requests of an invocation go as a rolling window of 100, so about three round trips at 50 ms.
The server's counts after one deployed invocation are printed to show it.

By default the senders run on H2Transport (h2 alone, no stream cap), as deployed; `--transport httpx`
runs them on the httpx transport it replaced (bench/httpx_transport.py) instead of
Http2Transport (httpx); the plain loop stays httpx.Client either way, so the baseline is unchanged.

    .venv/bin/python bench/native_throughput.py [--seconds 2] [--rounds 2] [--providers apns,fcm] [--transport h2|httpx]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "layers" / "shared" / "python")]

from fake_h2_service import FakeH2Service  # noqa: E402
from native_world import INVOCATION, TTL, NativeWorld, add_common_options, all_sent, bare_client, check_with_honest_fakes, chosen_providers  # noqa: E402

from pushgate.pushes import DeliveryTarget  # noqa: E402
from pushgate.wiring import SENDER_MESSAGES_AT_ONCE  # noqa: E402
from pushgate_local.fakes.server import TestCertificateAuthority  # noqa: E402

Run = Callable[[int], int]  # sends a batch, returns how many deliveries it made


def rate(run_batch: Run, seconds: float) -> float:
    """Deliveries per second over about `seconds` of wall time, after one warm-up batch."""
    run_batch(0)
    sent, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        sent += run_batch(sent)
    return sent / (time.perf_counter() - started)


class ProviderVariants:
    """The three variants of one provider against one running service, and what they hold open."""

    def __init__(self, provider: str, world: NativeWorld, service: FakeH2Service, delay_ms: float) -> None:
        self.provider = provider
        self.http = world.http(service.ca_file)
        if provider == "apns":
            transport = world.apns_transport(self.http, service.url)
            targets, bare = world.apns_targets, world.bare_apns(service.url)
        else:
            transport = world.fcm_transport(self.http, service.url)
            targets = world.fcm_targets
            bare = world.bare_fcm(service.url, world.fcm_access_token(self.http, service.url))
        self.client = bare_client(service.ca_file)
        self.threads = ThreadPoolExecutor(max_workers=SENDER_MESSAGES_AT_ONCE)
        messages = world.messages(targets)
        push = world.push

        def plain_loop(start: int) -> int:
            batch = 20 if delay_ms == 0 else 5
            for i in range(start, start + batch):
                url, body = bare.request(i)
                answer = self.client.post(url, headers=bare.headers, content=body)
                assert answer.status_code == 200, answer.status_code
            return batch

        def send_message(message: list[DeliveryTarget]) -> int:
            outcomes = transport.send(push, message, TTL)
            assert all_sent(outcomes), {outcome.detail for outcome in outcomes}
            return len(outcomes)

        def one_message(start: int) -> int:
            return send_message(messages[(start // len(messages[0])) % len(messages)])

        def side_by_side(start: int) -> int:
            return sum(self.threads.map(send_message, messages))

        label = "APNs" if provider == "apns" else "FCM"
        transport_name = "ApnsTransport" if provider == "apns" else "FcmTransport"
        self.baseline = f"{label}: plain loop, httpx.Client(http2=True), one request at a time"
        self.deployed = f"{label}: {transport_name}.send, {SENDER_MESSAGES_AT_ONCE} messages of 50 side by side (deployed)"
        self.runs: dict[str, Run] = {
            self.baseline: plain_loop,
            self.deployed: side_by_side,
            f"{label}: {transport_name}.send, one message of 50 at a time": one_message,
        }

    def close(self) -> None:
        self.threads.shutdown()
        self.client.close()
        self.http.close()


def measure(providers: list[str], world: NativeWorld, ca: TestCertificateAuthority, delay_ms: float, seconds: float, rounds: int) -> None:
    with FakeH2Service(delay_ms, ca.server_pem, ca.ca_file) as service:
        variants = [ProviderVariants(provider, world, service, delay_ms) for provider in providers]
        try:
            runs = {name: run for variant in variants for name, run in variant.runs.items()}
            best = dict.fromkeys(runs, 0.0)
            per_round: dict[str, list[float]] = {name: [] for name in runs}
            for _ in range(rounds):
                for name, run in runs.items():
                    per_second = rate(run, seconds)
                    per_round[name].append(per_second)
                    best[name] = max(best[name], per_second)
            connections = {}
            for variant in variants:
                service.reset_stats()
                variant.runs[variant.deployed](0)
                connections[variant.provider] = service.stats()
        finally:
            for variant in variants:
                variant.close()
    print(f"\nsimulated provider round trip {delay_ms:g} ms (load average {os.getloadavg()[0]:.1f})")
    for variant in variants:
        for name in variant.runs:
            ratio = "" if name == variant.baseline else f"   x{best[name] / best[variant.baseline]:.1f} the plain loop"
            rounds_text = ", ".join(f"{value:.0f}" for value in per_round[name])
            print(f"  {name:78s} {best[name]:8.1f} deliveries/s (rounds: {rounds_text}){ratio}")
        stats = connections[variant.provider]
        print(
            f"    one deployed invocation ({INVOCATION} requests) at the server: {stats['connections']['h2']} HTTP/2 connection(s), "
            f"at most {stats['most_streams_on_one_connection']} streams open on one"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=2.0, help="wall time per variant and round")
    parser.add_argument("--rounds", type=int, default=2)
    add_common_options(parser)
    arguments = parser.parse_args()
    providers = chosen_providers(arguments, parser)
    world = NativeWorld(arguments.transport)
    print(check_with_honest_fakes(world))
    ca = TestCertificateAuthority()
    shape = f"{INVOCATION} devices per invocation ({SENDER_MESSAGES_AT_ONCE} messages of 50)"
    print(f"{shape}, TLS + HTTP/2 on loopback, cpus={os.cpu_count()}, senders on {world.transport_type.__name__}")
    for delay_ms in (0, 50):
        measure(providers, world, ca, delay_ms, arguments.seconds, arguments.rounds)


if __name__ == "__main__":
    main()
