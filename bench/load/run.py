"""Load test of the local stack (`make load`): starts `python -m pushgate_local` on its own ports and
data dir, with a loopback counting push service named in PUSHGATE_EXTRA_PUSH_HOSTS, then

1. subscribes new browsers at --rate requests/s for --duration s, spread evenly over the account
   API, the device API, the channel API and the WebSocket API (locust, headless; bench/load/
   locustfile.py), and prints the achieved rate, the errors and p50/p99 of each surface;
2. subscribes --subscribers browsers to a topic, pushes once to it, and prints the time from
   `POST /push` until the push service holds a message for every one of them (and until
   GET /pushes/{id} says done).

Everything stays on 127.0.0.1. `--duration 10 --rate 50 --subscribers 1000` is a quick run.
Exit status 1 when a request failed or a device was not reached."""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from websockets.sync.client import connect

from bench.load.counting_push_service import CountingPushService
from bench.load.fanout import FanoutResult, run_fanout
from pushgate_local.process import REPO, LocalStackProcess, stack_environment
from pushgate.validation import b64url_encode
from pushgate_local.lambda_runtime import MAX_WORKERS_PER_FUNCTION

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
KEY_POOL_SIZE = 32
JWT_LIFETIME_SECONDS = 3600
SUBSCRIBE_PATH_PREFIX = "/sub/"
SURFACES = 4  # the locust user classes, weighted equally
WARM_UP_ATTEMPTS = 3


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=60, help="seconds of subscribe load (default 60)")
    parser.add_argument("--rate", type=float, default=200, help="target subscribe requests per second, all surfaces (default 200)")
    parser.add_argument("--users", type=int, help="locust users (default: one per request/s, at least 4)")
    parser.add_argument("--identities", type=int, default=50, help="app users with a session and a JWT minted up front (default 50)")
    parser.add_argument("--subscribers", type=int, default=10_000, help="subscribers of the pushed topic (default 10000; 0: no push phase)")
    parser.add_argument("--fanout-timeout", type=float, default=900, help="seconds to wait for the fan-out (default 900)")
    parser.add_argument("--work-dir", type=Path, help="where the stack's data and logs go (default: a new temporary dir)")
    arguments = parser.parse_args(argv)
    if arguments.users is None:
        arguments.users = max(SURFACES, round(arguments.rate))
    if arguments.users < SURFACES or arguments.duration < 1 or arguments.rate <= 0 or arguments.subscribers < 0:
        parser.error(f"need --users >= {SURFACES}, --duration >= 1, --rate > 0 and --subscribers >= 0")
    return arguments


def new_browser_keys() -> list[str]:
    """What a browser's PushSubscription carries: a P-256 public key and a 16-byte auth secret."""
    point = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return [b64url_encode(point), b64url_encode(os.urandom(16))]


def mint_identities(stack: LocalStackProcess, count: int) -> list[dict[str, str]]:
    """Sessions (POST /sessions) and user JWTs (the demo app's development key) for `count` users."""
    demo = stack.demo()
    now = int(time.time())
    identities = []
    for index in range(count):
        user_id = f"load-{index}-{uuid.uuid4().hex[:8]}"
        token = jwt.encode({"sub": user_id, "iat": now, "exp": now + JWT_LIFETIME_SECONDS}, demo["user_token_private_key"], "RS256")
        identities.append({"user_id": user_id, "session_id": stack.create_session(user_id), "jwt": token})
    return identities


def warm_up(stack: LocalStackProcess, config: dict[str, Any], push_service: CountingPushService) -> None:
    """Starts every worker the load will use (MAX_WORKERS_PER_FUNCTION of each subscribe function,
    and of the WebSocket's $connect, push_subscribe and $disconnect), one surface at a time: all of
    them cold-starting at once on two cores outlast the 10 s init limit, and that storm is not what
    this test measures."""
    demo, identity = stack.demo(), config["users"][0]
    p256dh, auth = config["keys"][0]

    def endpoint() -> str:
        return push_service.url(f"/warm-up/{uuid.uuid4().hex}")

    def account() -> bool:
        params = {"session_id": identity["session_id"], "endpoint": endpoint(), "key_p256dh": p256dh, "key_auth": auth}
        response = requests.get(f"{stack.http_url}/{demo['account_id']}/push_subscribe", params=params, timeout=120)
        return response.ok and "data" in response.json()

    def device() -> bool:
        body = {"type": "web", "deviceId": uuid.uuid4().hex, "subscription": {"endpoint": endpoint(), "keys": {"p256dh": p256dh, "auth": auth}}}
        headers = {"IM-CLIENT-KEY": demo["public_key"], "IM-Authorization": identity["session_id"]}
        return requests.post(f"{stack.http_url}/me/subscribe", json=body, headers=headers, timeout=120).ok

    def channel() -> bool:
        headers = {"x-notiflows-api-key": demo["public_key"], "x-notiflows-user-key": identity["jwt"]}
        body = {"identifier": endpoint(), "settings": {"p256dh": p256dh, "auth": auth}}
        url = f"{stack.http_url}/user/v1/channels/{config['channel_id']}/subscriptions"
        return requests.post(url, json=body, headers=headers, timeout=120).ok

    def websocket() -> bool:
        query = urlencode({"key": demo["public_key"], "token": identity["jwt"]})
        with connect(f"{config['ws_url']}/?{query}", open_timeout=120) as connection:
            command = {"cmd": "push_subscribe", "subscription": {"endpoint": endpoint(), "keys": {"p256dh": p256dh, "auth": auth}}}
            connection.send(json.dumps(command))
            return json.loads(connection.recv(timeout=120)).get("success") is True

    for surface in (account, device, channel, websocket):
        for _ in range(WARM_UP_ATTEMPTS):
            with ThreadPoolExecutor(max_workers=MAX_WORKERS_PER_FUNCTION) as pool:
                if all(pool.map(lambda _: surface(), range(MAX_WORKERS_PER_FUNCTION))):
                    break


def run_locust(arguments: argparse.Namespace, config_path: Path, http_url: str, work_dir: Path) -> list[dict[str, str]]:
    """Runs locust headless; the rows of its stats CSV (one per surface, then Aggregated)."""
    ramp_seconds = max(1.0, min(5.0, arguments.duration / 4))
    prefix = work_dir / "locust"
    command = [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "--users", str(arguments.users), "--spawn-rate", str(arguments.users / ramp_seconds),
        # Stats start once every user runs: the ramp (and its cold starts) is not in the figures.
        "--run-time", f"{arguments.duration + ramp_seconds:.0f}s", "--reset-stats",
        "--host", http_url, "--csv", str(prefix), "--only-summary", "--stop-timeout", "30",
    ]
    env = {**os.environ, "PUSHGATE_LOAD_CONFIG": str(config_path)}
    with open(work_dir / "locust.log", "wb") as log:
        subprocess.run(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    stats_path = Path(f"{prefix}_stats.csv")
    if not stats_path.exists():
        raise RuntimeError(f"locust wrote no stats; see {work_dir / 'locust.log'}")
    with open(stats_path, newline="") as file:
        return list(csv.DictReader(file))


def surface_lines(rows: list[dict[str, str]]) -> list[str]:
    lines = [f"{'surface':<40} {'requests':>8} {'errors':>6} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7}"]
    for row in rows:
        lines.append(
            f"{row['Name']:<40} {row['Request Count']:>8} {row['Failure Count']:>6} "
            f"{float(row['Requests/s']):>7.1f} {row['50%']:>7} {row['99%']:>7}"
        )
    return lines


def fanout_lines(result: FanoutResult) -> list[str]:
    def seconds(value: float | None) -> str:
        return "not within the timeout" if value is None else f"{value:.1f} s"

    return [
        f"subscribers seeded through the layer's services: {result.subscribers} in {result.seed_seconds:.1f} s",
        f"POST /push -> every device has its message: {seconds(result.delivered_seconds)}"
        + (f" ({result.subscribers / result.delivered_seconds:.0f} deliveries/s)" if result.delivered_seconds else ""),
        f"POST /push -> GET /pushes/{{id}} status done: {seconds(result.done_seconds)}",
        f"push service: {result.endpoints_reached} endpoints reached, {result.deliveries} requests; push counts {json.dumps(result.counts, sort_keys=True)}",
    ]


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    work_dir = arguments.work_dir or Path(tempfile.mkdtemp(prefix="pushgate-load-"))
    work_dir.mkdir(parents=True, exist_ok=True)
    print(f"pushgate load test, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()} with {os.cpu_count()} CPUs; logs in {work_dir}", flush=True)
    push_service = CountingPushService()
    # The per-app rate limits off (docs/limits.md): the test offers one app more than the
    # template's 50 subscribe requests a second, to measure the stack, not the limiter.
    env = stack_environment(work_dir / "data", push_service.host) | {"PUSHGATE_SEND_RATE_PER_SECOND": "0", "PUSHGATE_SUBSCRIBE_RATE_PER_SECOND": "0"}
    stack = LocalStackProcess(data_dir=work_dir / "data", log_dir=work_dir, env=env)
    try:
        stack.start()
        demo = stack.demo()
        keys = [new_browser_keys() for _ in range(KEY_POOL_SIZE)]
        identities = mint_identities(stack, arguments.identities)
        config = {
            "ws_url": stack.discovery["ws_url"],
            "account_id": demo["account_id"],
            "public_key": demo["public_key"],
            "channel_id": demo["channels"][0]["id"],
            "endpoint_prefix": push_service.url(SUBSCRIBE_PATH_PREFIX),
            "users": identities,
            "keys": keys,
            "requests_per_second_per_user": arguments.rate / arguments.users,
        }
        warm_up(stack, config, push_service)
        config_path = work_dir / "locust-config.json"
        config_path.write_text(json.dumps(config))
        print(f"\n1. subscribe load: target {arguments.rate:g} req/s for {arguments.duration} s, {arguments.users} locust users, 4 surfaces", flush=True)
        rows = run_locust(arguments, config_path, stack.http_url, work_dir)
        print("\n".join(surface_lines(rows)), flush=True)
        errors = sum(int(row["Failure Count"]) for row in rows if row["Name"] == "Aggregated")

        complete = True
        if arguments.subscribers:
            print(f"\n2. one push to a topic of {arguments.subscribers} subscribers", flush=True)
            result = run_fanout(stack, push_service, keys, arguments.subscribers, arguments.fanout_timeout)
            print("\n".join(fanout_lines(result)), flush=True)
            complete = result.endpoints_reached == result.subscribers and result.done_seconds is not None
    finally:
        stack.stop()
        push_service.stop()
    print(f"\nerrors: {errors}; fan-out {'complete' if complete else 'INCOMPLETE'}", flush=True)
    return 0 if errors == 0 and complete else 1


if __name__ == "__main__":
    sys.exit(main())
