"""Topics (docs/api.md §4, Pushy): server-side subscription of tokens to topics, exact counts, and
paginated subscriber lists. A token is any active subscription of the app, from any surface."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pushgate.errors import FieldMissing, InvalidCursor, InvalidValue, UnknownDeviceToken
from pushgate.identifiers import token_hash
from pushgate.models import App, Device
from pushgate.pagination import decode_cursor, encode_cursor
from pushgate.repository import ConditionFailed, Repository
from pushgate.validation import TOPIC_NAME

MAX_TOPICS_PER_REQUEST = 100
SUBSCRIBERS_PAGE_SIZE = 1000
ALL_TOPICS = "*"


def check_topics(topics: object, allow_wildcard: bool = False) -> list[str]:
    if topics is None or topics == []:
        raise FieldMissing("topics")
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise InvalidValue("topics", "an array of strings")
    if allow_wildcard and topics == [ALL_TOPICS]:
        return topics
    if len(topics) > MAX_TOPICS_PER_REQUEST:
        raise InvalidValue("topics", f"at most {MAX_TOPICS_PER_REQUEST} topics per request")
    for topic in topics:
        if not TOPIC_NAME.match(topic):
            raise InvalidValue("topics", "topic names match [a-zA-Z0-9-_.]{1,100}")
    return list(dict.fromkeys(topics))  # de-duplicated, order kept


def check_token(token: object) -> str:
    if token is None or token == "":
        raise FieldMissing("token")
    if not isinstance(token, str):
        raise InvalidValue("token", "a string")
    return token


@dataclass(frozen=True)
class SubscriberPage:
    tokens: list[str]
    next_cursor: str | None


class TopicService:
    def __init__(self, repository: Repository, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._clock = clock

    def _active_device(self, app: App, token: object) -> Device:
        device = self._repository.get_device(app.app_id, token_hash(check_token(token)))
        if device is None or not device.active:
            raise UnknownDeviceToken()
        return device

    def subscribe(self, app: App, token: object, topics: object) -> None:
        names = check_topics(topics)
        device = self._active_device(app, token)
        now = self._clock()
        for topic in names:
            try:
                self._repository.add_topic(device, topic, now)
            except ConditionFailed as error:
                raise UnknownDeviceToken() from error  # removed while we were subscribing it

    def unsubscribe(self, app: App, token: object, topics: object) -> None:
        names = check_topics(topics, allow_wildcard=True)
        device = self._active_device(app, token)
        if names == [ALL_TOPICS]:
            names = self._repository.device_topics(app.app_id, device.token_hash)
        for topic in names:
            self._repository.remove_topic(app.app_id, device.token_hash, topic)

    def list_topics(self, app: App) -> list[tuple[str, int]]:
        return [(name, count) for name, count in self._repository.list_topics(app.app_id) if count > 0]

    def subscribers(self, app: App, topic: str, cursor: object = None) -> SubscriberPage:
        if not TOPIC_NAME.match(topic):
            raise InvalidValue("topic", "topic names match [a-zA-Z0-9-_.]{1,100}")
        try:
            rows, last = self._repository.topic_page(app.app_id, topic, SUBSCRIBERS_PAGE_SIZE, decode_cursor(cursor))
        except ValueError as error:
            raise InvalidCursor() from error
        return SubscriberPage([row["token"] for row in rows], encode_cursor(last) if last else None)

    def device(self, app: App, token: object) -> tuple[Device, list[str]]:
        """A token's record and its topics; removed and expired ones included (their status says so)."""
        device = self._repository.get_device(app.app_id, token_hash(check_token(token)))
        if device is None:
            raise UnknownDeviceToken()
        return device, self._repository.device_topics(app.app_id, device.token_hash)
