"""Builds the services once per Lambda container (module scope in each handler).

boto3 honours AWS_ENDPOINT_URL, so the same code reaches AWS, moto, or the local stack."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import boto3

from pushgate.config import Settings, settings
from pushgate.credentials import Authenticator
from pushgate.repository import Repository
from pushgate.secret_store import SsmSecretStore
from pushgate.services.apps import AppService
from pushgate.services.channels import ChannelSubscriptionService
from pushgate.services.connections import ConnectionService
from pushgate.services.sessions import SessionService
from pushgate.services.subscriptions import SubscriptionService
from pushgate.services.topics import TopicService
from pushgate.validation import EndpointPolicy


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

    def apps(self, ssm_client: object | None = None) -> AppService:
        """Only the CLI and the local stack create apps; the Lambda functions have no SSM write
        permission."""
        return AppService(self.repository, SsmSecretStore(ssm_client or boto3.client("ssm")), self.settings.ssm_prefix)


def build_services(config: Settings, dynamodb_client: object) -> Services:
    repository = Repository(dynamodb_client, config.table_name)
    authenticator = Authenticator(repository)
    subscriptions = SubscriptionService(repository, EndpointPolicy.from_setting(config.extra_push_hosts))
    return Services(
        settings=config,
        repository=repository,
        authenticator=authenticator,
        sessions=SessionService(repository),
        subscriptions=subscriptions,
        topics=TopicService(repository),
        channel_subscriptions=ChannelSubscriptionService(repository, subscriptions),
        connections=ConnectionService(repository, authenticator),
    )


@lru_cache(maxsize=1)
def services() -> Services:
    return build_services(settings(), boto3.client("dynamodb"))
