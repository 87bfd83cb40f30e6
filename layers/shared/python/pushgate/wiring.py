"""Builds the services once per Lambda container (module scope in each handler).

boto3 honours AWS_ENDPOINT_URL, so the same code reaches AWS, moto, or the local stack."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import boto3

from pushgate.config import Settings, settings
from pushgate.credentials import Authenticator
from pushgate.events import publisher_from_env
from pushgate.models import ChannelType
from pushgate.observability import app_metrics
from pushgate.repository import Repository
from pushgate.secret_store import SsmSecretStore
from pushgate.services.apps import AppService
from pushgate.services.channels import ChannelSubscriptionService
from pushgate.services.connections import ConnectionService
from pushgate.services.device_cap import DeviceCap
from pushgate.services.limits import SEND, SUBSCRIBE, Rate, RateLimiter
from pushgate.services.sessions import SessionService
from pushgate.services.subscriptions import SubscriptionService
from pushgate.queues import Queue
from pushgate.services.fanout import FanoutService
from pushgate.services.pushes import PushService
from pushgate.services.topics import TopicService
from pushgate.validation import EndpointPolicy

if TYPE_CHECKING:
    from pushgate.services.delivery import DeliveryService
    from pushgate.services.stale_sweep import StaleSweepService


@dataclass(frozen=True)
class Services:
    settings: Settings
    repository: Repository
    authenticator: Authenticator
    sessions: SessionService
    subscriptions: SubscriptionService
    topics: TopicService
    channel_subscriptions: ChannelSubscriptionService
    connections: ConnectionService
    limiter: RateLimiter

    def apps(self, ssm_client: object | None = None) -> AppService:
        """Only the CLI and the local stack create apps; the Lambda functions have no SSM write
        permission."""
        return AppService(self.repository, SsmSecretStore(ssm_client or boto3.client("ssm")), self.settings.ssm_prefix)


def build_services(config: Settings, dynamodb_client: object) -> Services:
    app_metrics.track(config.metrics_apps)  # every function builds these, so each knows the apps
    repository = Repository(dynamodb_client, config.table_name)
    limiter = rate_limiter(config, repository)
    authenticator = Authenticator(repository, on_admitted=limiter.admit)
    # The event bus's client is built only when a device is evicted (most invocations evict none).
    device_cap = DeviceCap(repository, config.max_devices_per_user, events=publisher_from_env)
    subscriptions = SubscriptionService(repository, EndpointPolicy.from_setting(config.extra_push_hosts), device_cap=device_cap)
    return Services(
        settings=config,
        repository=repository,
        authenticator=authenticator,
        sessions=SessionService(repository),
        subscriptions=subscriptions,
        topics=TopicService(repository),
        channel_subscriptions=ChannelSubscriptionService(repository, subscriptions),
        connections=ConnectionService(repository, authenticator),
        limiter=limiter,
    )


def rate_limiter(config: Settings, repository: Repository) -> RateLimiter:
    """The deployment's per-app request rates (docs/limits.md); a rate of 0 leaves its group unlimited."""
    rates = {SEND: config.send_rate_per_second, SUBSCRIBE: config.subscribe_rate_per_second}
    return RateLimiter(repository, {group: Rate.per_second_with_burst(rate) if rate else None for group, rate in rates.items()})


@lru_cache(maxsize=1)
def services() -> Services:
    return build_services(settings(), boto3.client("dynamodb"))


def _queue(url: str | None, name: str) -> Queue:
    if not url:
        raise RuntimeError(f"{name} is not set: this function is not wired to that queue")
    return Queue(sqs_client(), url)


@lru_cache(maxsize=1)
def sqs_client():  # noqa: ANN201 - a boto3 SQS client
    return boto3.client("sqs")


@lru_cache(maxsize=1)
def push_service() -> PushService:
    """Functions that only read or cancel pushes have no queue to send to."""
    url = settings().fanout_queue_url
    return PushService(services().repository, _queue(url, "FANOUT_QUEUE_URL") if url else None)


def stale_sweep_service(stale_after_days: int) -> StaleSweepService:
    """The stale sweep as its function runs it: expiries announced on the bus and, with
    StaleWarningPush, warning pushes made as POST /push makes them (docs/lifecycle.md). Imported
    here: the API functions never load the sweep."""
    from pushgate.services.stale_sweep import StaleSweepService, expiry_warning_sender

    repository = services().repository
    warn = expiry_warning_sender(repository, push_service()) if settings().stale_warning_push else None
    return StaleSweepService(repository, stale_after_days, events=publisher_from_env(), warn=warn)


@lru_cache(maxsize=1)
def fanout_service() -> FanoutService:
    config = settings()
    native = {ChannelType.FCM: config.fcm_delivery_queue_url, ChannelType.APNS: config.apns_delivery_queue_url}
    return FanoutService(
        services().repository,
        _queue(config.delivery_queue_url, "DELIVERY_QUEUE_URL"),
        _queue(config.fanout_queue_url, "FANOUT_QUEUE_URL"),
        # A deployment without a provider's sender counts its devices failed (no_sender).
        native_queues={provider: Queue(sqs_client(), url) for provider, url in native.items() if url},
        events=publisher_from_env(),
    )


SENDER_CONCURRENCY = 50  # requests in flight per delivery message (its 50 devices at once)
# The sender's BatchSize in template.yaml (tests/pipeline/test_consumer_time.py holds them equal):
# the messages of one invocation are processed side by side and their requests sent by one loop.
SENDER_MESSAGES_AT_ONCE = 5
# The longest one SQS message can take, so a consumer never starts one its timeout could cut off
# (tests/pipeline/test_consumer_time.py holds these against template.yaml's timeouts).
# Sender: its 50 sends run at once, so one connect per address family and one read at their
# longest (delivery.webpush MAX_CONNECT_TIMEOUT, MAX_READ_TIMEOUT), then the writes that follow;
# twice over, since its requests may have to wait for a batch of other messages' already in flight.
SENDER_MESSAGE_SECONDS = 45
# Fan-out: one page of 1,000 (one Query, or a Query per device for a later topic) and its batches.
FANOUT_MESSAGE_SECONDS = 10


def read_private_key(parameter: str) -> str:
    """A channel's private key (SSM SecureString), cached per container as long as a channel."""
    from aws_lambda_powertools.utilities import parameters

    return parameters.get_parameter(parameter, decrypt=True, max_age=300)


@lru_cache(maxsize=1)
def delivery_service() -> DeliveryService:
    """The Web Push sender's use case. Its modules are imported here, not at the top, so the API
    functions never load delivery code at cold start."""
    from pushgate.delivery.transport.keepalive import KeepAliveTransport
    from pushgate.delivery.transport.sending_loop import SendingLoop
    from pushgate.delivery.webpush.transport import ChannelTransport
    from pushgate.services.delivery import DeliveryService

    config, core = settings(), services()
    transport = ChannelTransport(
        core.repository,
        read_secret=read_private_key,
        subject=config.vapid_subject,
        policy=core.subscriptions.policy,
        # One sending loop and connection pool per container, reused across invocations, with
        # room for every request of an invocation's messages at once.
        session=SendingLoop(KeepAliveTransport(pool_size=SENDER_CONCURRENCY * SENDER_MESSAGES_AT_ONCE)),
        concurrency=SENDER_CONCURRENCY,
    )
    return DeliveryService(
        core.repository,
        _queue(config.delivery_queue_url, "DELIVERY_QUEUE_URL"),
        _queue(config.delivery_dead_letter_queue_url, "DELIVERY_DLQ_URL"),
        transport,
        success_stamp_seconds=config.success_stamp_seconds,
        events=publisher_from_env(),
    )


# The native senders' whole batch (every request in flight at once) gets this long for its answers;
# a stalled provider costs the batch no more, and a resend after a token refresh as much again.
NATIVE_SEND_DEADLINE_SECONDS = 12.0
NATIVE_METRIC_PREFIX = {ChannelType.FCM: "Fcm", ChannelType.APNS: "Apns"}


@lru_cache(maxsize=2)
def native_delivery_service(provider: ChannelType) -> DeliveryService:
    """The FCM or APNs sender's use case: the same DeliveryService as Web Push, over HTTP/2. One
    transport (connections and event loop) per container; h2 is imported only here."""
    from pushgate.delivery.provider_urls import provider_urls
    from pushgate.delivery.transport.h2_transport import H2Transport
    from pushgate.services.delivery import DeliveryService

    config, core = settings(), services()
    http = H2Transport(ca_file=config.provider_ca_file)
    options = {
        "read_secret": read_private_key,
        "http": http,
        "urls": provider_urls(config.provider_urls),
        "deadline_seconds": NATIVE_SEND_DEADLINE_SECONDS,
    }
    if provider is ChannelType.FCM:
        from pushgate.delivery.fcm.transport import FcmTransport

        transport = FcmTransport(core.repository, **options)
    elif provider is ChannelType.APNS:
        from pushgate.delivery.apns.transport import ApnsTransport

        transport = ApnsTransport(core.repository, **options)
    else:
        raise ValueError(f"no native sender for {provider}")
    return DeliveryService(
        core.repository,
        _queue(config.delivery_queue_url, "DELIVERY_QUEUE_URL"),
        _queue(config.delivery_dead_letter_queue_url, "DELIVERY_DLQ_URL"),
        transport,
        success_stamp_seconds=config.success_stamp_seconds,
        metric_prefix=NATIVE_METRIC_PREFIX[provider],
        events=publisher_from_env(),
    )


def sender_entry(provider: ChannelType):  # noqa: ANN201 - the Lambda entry point
    """A sender function's handler (one per provider): its queue's batches, idempotent per
    (push, batch), an invocation's messages side by side, partial batch failures reported."""
    from pushgate.pushes import DeliveryMessage
    from pushgate.sqs import consumer_name, idempotency_store, sqs_entry

    service = delivery_service() if provider is ChannelType.WEBPUSH else native_delivery_service(provider)
    return sqs_entry(
        DeliveryMessage,
        service.process,
        idempotency_key="[push_id, batch_id]",
        store=idempotency_store(settings().table_name, consumer_name()),
        message_seconds=SENDER_MESSAGE_SECONDS,
        side_by_side=True,
        requeue=_queue(settings().delivery_queue_url, "DELIVERY_QUEUE_URL"),
    )


def fanout_entry():  # noqa: ANN201 - the Lambda entry point
    """The fan-out function's handler: its queue's messages one after the other, idempotent per
    (push, target); one there is no time left for is handed on to its own queue."""
    from pushgate.pushes import FanoutMessage
    from pushgate.sqs import consumer_name, idempotency_store, sqs_entry

    return sqs_entry(
        FanoutMessage,
        fanout_service().expand,
        idempotency_key="[push_id, target]",
        store=idempotency_store(settings().table_name, consumer_name()),
        message_seconds=FANOUT_MESSAGE_SECONDS,
        requeue=_queue(settings().fanout_queue_url, "FANOUT_QUEUE_URL"),
    )
