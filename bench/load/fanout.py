"""Phase 2 of the load test: one push to a topic of N subscribers, timed from `POST /push` until
the loopback push service has received a message for every one of them.

The subscribers are written through the shared layer's services (SubscriptionService.register and
TopicService.subscribe, the code every surface and POST /topics/subscribe run), in this process,
against the local stack's own DynamoDB endpoint: the same items as N API calls would write, without
spending minutes of the stack's Lambda workers on set-up that is not what is measured."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import requests
from botocore.config import Config

from pushgate.models import Caller
from pushgate.repository import Repository
from pushgate.services.subscriptions import Registration, SubscriptionService, WebSubscription
from pushgate.services.topics import TopicService
from pushgate.validation import EndpointPolicy

SEED_THREADS = 16
POLL_INTERVAL_SECONDS = 0.25
TOPIC_PATH_PREFIX = "/topic/"


@dataclass(frozen=True)
class FanoutResult:
    subscribers: int
    seed_seconds: float
    delivered_seconds: float | None  # every endpoint has its message at the push service
    done_seconds: float | None  # GET /pushes/{id} says done, nothing pending
    counts: dict[str, Any]  # GET /pushes/{id} counts at the end
    endpoints_reached: int
    deliveries: int


def _repository(discovery: dict[str, Any]) -> Repository:
    client = boto3.client(
        "dynamodb",
        endpoint_url=discovery["aws_endpoint_url"],
        region_name=discovery["region"],
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(max_pool_connections=SEED_THREADS * 2, retries={"max_attempts": 5}),
    )
    return Repository(client, discovery["table_name"])


def seed_topic(discovery: dict[str, Any], app_id: str, push_service: Any, keys: list[list[str]], topic: str, count: int) -> float:
    """Subscribe `count` new browsers (one user each) to `topic`; returns the seconds it took."""
    repository = _repository(discovery)
    app = repository.get_app(app_id)
    assert app is not None
    subscriptions = SubscriptionService(repository, EndpointPolicy.from_setting((push_service.host,)))
    topics = TopicService(repository)

    def subscribe(index: int) -> None:
        p256dh, auth = keys[index % len(keys)]
        endpoint = push_service.url(f"{TOPIC_PATH_PREFIX}{topic}/{index}")
        web = WebSubscription.parse(subscriptions.policy, endpoint, p256dh, auth)
        subscriptions.register(Caller(app=app, user_id=f"fan-{topic}-{index}"), Registration.web(web))
        topics.subscribe(app, endpoint, [topic])

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=SEED_THREADS) as pool:
        list(pool.map(subscribe, range(count)))
    return time.perf_counter() - started


def push_and_wait(http_url: str, secret_key: str, push_service: Any, topic: str, count: int, timeout: float) -> tuple[str, float | None, float | None]:
    """POST /push to the topic; the push id and the seconds until every endpoint had its message
    and until the push was done (None: not within `timeout`)."""
    started = time.perf_counter()
    response = requests.post(
        f"{http_url}/push",
        params={"api_key": secret_key},
        json={"to": f"/topics/{topic}", "notification": {"title": "Load test", "body": "one push, many devices"}},
        timeout=60,
    )
    if response.status_code != 200:
        raise RuntimeError(f"POST /push answered {response.status_code}")
    push_id = response.json()["id"]
    delivered_at = done_at = None
    prefix = f"{TOPIC_PATH_PREFIX}{topic}/"
    while time.perf_counter() - started < timeout and (delivered_at is None or done_at is None):
        if delivered_at is None and push_service.counts(prefix)["endpoints"] >= count:
            delivered_at = time.perf_counter() - started
        if done_at is None and (_push(http_url, secret_key, push_id) or {}).get("status") == "done":
            done_at = time.perf_counter() - started
        time.sleep(POLL_INTERVAL_SECONDS)
    return push_id, delivered_at, done_at


def _push(http_url: str, secret_key: str, push_id: str) -> dict[str, Any] | None:
    """GET /pushes/{id}; None when the saturated stack answers 5xx (polled again later). No
    exception carries the URL: its query holds the secret key."""
    response = requests.get(f"{http_url}/pushes/{push_id}", params={"api_key": secret_key}, timeout=60)
    return response.json()["push"] if response.status_code == 200 else None


def run_fanout(stack: Any, push_service: Any, keys: list[list[str]], count: int, timeout: float) -> FanoutResult:
    demo = stack.demo()
    topic = f"load-{int(time.time())}"
    seed_seconds = seed_topic(stack.discovery, demo["app_id"], push_service, keys, topic, count)
    push_id, delivered, done = push_and_wait(stack.http_url, demo["secret_key"], push_service, topic, count, timeout)
    reached = push_service.counts(f"{TOPIC_PATH_PREFIX}{topic}/")
    return FanoutResult(
        subscribers=count,
        seed_seconds=seed_seconds,
        delivered_seconds=delivered,
        done_seconds=done,
        counts=(_push(stack.http_url, demo["secret_key"], push_id) or {}).get("counts", {}),
        endpoints_reached=reached["endpoints"],
        deliveries=reached["deliveries"],
    )
