"""Native senders' CPU per delivery against the bare cost of the same requests with the same
library, in one run.

Reference, per provider ("bare, 50 at a time"): for each device, json.dumps of the provider
payload (APNs: the same `aps` payload; FCM: the same v1 message with the device's token) and one
`await client.post(url, headers=headers, content=body)` on an `httpx.AsyncClient(http2=True)`
already connected (pushgate's tls_context, so the same TLS), the headers dict built once with the
provider JWT / access token signed once; 50 requests at a time with asyncio.gather, on an event
loop in the measuring thread; the status read, nothing else. Five such gathers make a batch of
250 (one sender invocation). Also shown: the same with all 250 in one gather.

Measured: ApnsTransport.send / FcmTransport.send over one Http2Transport, one invocation (5
messages of 50) side by side on 5 threads (deployed), and one message at a time. That includes
what the bare requests skip: the channel (cached), the device token check, the payload and
headers built per device (apns-id, expiration), the hop to the transport's event-loop thread, the
answer read into a Response and classified into a DeliveryOutcome.

CPU is time.process_time() of this process (every thread: callers, the transport's loop); the
provider is bench/fake_h2_service.py (0 ms) in a child process. The variants take turns batch by
batch, so that load from other jobs hits each alike, and each round's ratio compares CPU spent
in the same stretch of time. Target (issue): the transport <= 2x the bare requests.

By default the senders run on H2Transport (h2 alone), as deployed; `--transport httpx` on the
httpx transport it replaced (bench/httpx_transport.py) instead of Http2Transport
(httpx); the reference stays the bare httpx.AsyncClient requests either way.

    .venv/bin/python bench/native_cpu.py [--deliveries 1000] [--rounds 5] [--providers apns,fcm] [--transport h2|httpx]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "src"), str(REPO / "layers" / "shared" / "python")]

from fake_h2_service import FakeH2Service  # noqa: E402
from native_world import INVOCATION, TTL, BareRequests, NativeWorld, add_common_options, all_sent, bare_client, check_with_honest_fakes, chosen_providers  # noqa: E402

from pushgate.pushes import DeliveryTarget  # noqa: E402
from pushgate.services.fanout import DEVICES_PER_DELIVERY  # noqa: E402
from pushgate.wiring import SENDER_MESSAGES_AT_ONCE  # noqa: E402
from pushgate_local.fakes.server import TestCertificateAuthority  # noqa: E402

Variant = Callable[[], None]  # sends one batch of INVOCATION deliveries


class BareSender:
    """The reference: an AsyncClient on an event loop of this thread, gathers of `at_once`."""

    def __init__(self, loop: asyncio.AbstractEventLoop, ca_file: str, requests: BareRequests) -> None:
        self._loop = loop
        self._requests = requests

        async def connect():  # the client's pool belongs to the loop it is used on
            return bare_client(ca_file, asynchronous=True)

        self._client = loop.run_until_complete(connect())

    async def _post(self, i: int) -> None:
        url, body = self._requests.request(i)
        answer = await self._client.post(url, headers=self._requests.headers, content=body)
        assert answer.status_code == 200, answer.status_code

    async def _gather(self, start: int, count: int) -> None:
        await asyncio.gather(*(self._post(i) for i in range(start, start + count)))

    def batch(self, at_once: int) -> Variant:
        def run() -> None:
            for start in range(0, INVOCATION, at_once):
                self._loop.run_until_complete(self._gather(start, min(at_once, INVOCATION - start)))

        return run

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())


def provider_variants(
    provider: str, world: NativeWorld, service: FakeH2Service, loop: asyncio.AbstractEventLoop, threads: ThreadPoolExecutor
) -> tuple[dict[str, Variant], str, Callable[[], None]]:
    """The variants of one provider by name, the name of its reference, and what closes them."""
    http = world.http(service.ca_file)
    if provider == "apns":
        label, transport = "APNs", world.apns_transport(http, service.url)
        targets, requests = world.apns_targets, world.bare_apns(service.url)
    else:
        label, transport = "FCM", world.fcm_transport(http, service.url)
        targets, requests = world.fcm_targets, world.bare_fcm(service.url, world.fcm_access_token(http, service.url))
    bare = BareSender(loop, service.ca_file, requests)
    messages = world.messages(targets)

    def send_message(message: list[DeliveryTarget]) -> None:
        outcomes = transport.send(world.push, message, TTL)
        assert all_sent(outcomes), {outcome.detail for outcome in outcomes}

    def one_at_a_time() -> None:
        for message in messages:
            send_message(message)

    def side_by_side() -> None:
        list(threads.map(send_message, messages))

    reference = f"{label} bare: json.dumps + await client.post(), {DEVICES_PER_DELIVERY} at a time (reference)"
    variants = {
        reference: bare.batch(DEVICES_PER_DELIVERY),
        f"{label}   same, {INVOCATION} at a time": bare.batch(INVOCATION),
        f"{label} {type(transport).__name__}.send, {SENDER_MESSAGES_AT_ONCE} messages side by side (deployed)": side_by_side,
        f"{label} {type(transport).__name__}.send, one message at a time": one_at_a_time,
    }

    def close() -> None:
        bare.close()
        http.close()

    return variants, reference, close


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=1000, help=f"per variant and round, in batches of {INVOCATION}")
    parser.add_argument("--rounds", type=int, default=5)
    add_common_options(parser)
    arguments = parser.parse_args()
    providers = chosen_providers(arguments, parser)
    batches = max(1, arguments.deliveries // INVOCATION)
    n = batches * INVOCATION
    world = NativeWorld(arguments.transport)
    print(check_with_honest_fakes(world))
    ca = TestCertificateAuthority()
    loop = asyncio.new_event_loop()
    threads = ThreadPoolExecutor(max_workers=SENDER_MESSAGES_AT_ONCE)
    variants: dict[str, Variant] = {}
    reference_of: dict[str, str] = {}
    closers: list[Callable[[], None]] = []
    with FakeH2Service(0, ca.server_pem, ca.ca_file) as service:
        for provider in providers:
            named, reference, close = provider_variants(provider, world, service, loop, threads)
            variants.update(named)
            reference_of.update(dict.fromkeys(named, reference))
            closers.append(close)
        for variant in variants.values():
            variant()  # warm: connections open, tokens signed, channels cached
        ratios: dict[str, list[float]] = {name: [] for name in variants}
        per_delivery: dict[str, list[float]] = {name: [] for name in variants}
        for _ in range(arguments.rounds):
            spent = dict.fromkeys(variants, 0.0)
            for _ in range(batches):
                for name, variant in variants.items():
                    started = time.process_time()
                    variant()
                    spent[name] += time.process_time() - started
            for name in variants:
                per_delivery[name].append(spent[name] / n * 1e6)
                ratios[name].append(spent[name] / spent[reference_of[name]])
        for close in closers:
            close()
    threads.shutdown()
    loop.close()

    sniffio = "yes" if importlib.util.find_spec("sniffio") else "no (httpcore tries to import it again for every lock it sets up)"
    print(
        f"{n} deliveries x {arguments.rounds} rounds, batches of {INVOCATION}, senders on {world.transport_type.__name__}, cpus={os.cpu_count()}, "
        f"load average {os.getloadavg()[0]:.1f}, sniffio importable: {sniffio}"
    )
    print("sender process CPU per delivery (median round); multiple of the bare requests in the same round: best, median, worst")
    for name in variants:
        spread = sorted(ratios[name])
        median = statistics.median(per_delivery[name])
        print(f"  {name:76s} {median:6.0f} us   x{spread[0]:.2f}  x{statistics.median(spread):.2f}  x{spread[-1]:.2f}")


if __name__ == "__main__":
    main()
