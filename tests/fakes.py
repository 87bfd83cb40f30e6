"""In-memory stand-ins for the core's ports, for fast unit tests.

`InMemoryRepository` keeps the same conditional-write semantics as the DynamoDB repository;
tests/unit/test_repository_contract.py runs the same cases against both, so the fake cannot drift."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

from pushgate import keys
from pushgate.models import App, Channel, Device, Session, SubscriptionStatus
from pushgate.repository import ConditionFailed, subscribed_ms


class InMemoryRepository:
    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self.api_keys: dict[str, tuple[str, str]] = {}
        self.accounts: dict[int, str] = {}
        self.channels: dict[tuple[str, str], Channel] = {}
        self.sessions: dict[str, Session] = {}
        self.devices: dict[tuple[str, str], Device] = {}
        self.counters: defaultdict[str, int] = defaultdict(int)
        self.pointers: dict[tuple[str, str], str] = {}
        self.edges: dict[tuple[str, str], dict[str, dict]] = defaultdict(dict)  # (app, token hash) -> topic -> edge
        self.topic_counts: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.fail_next_saves = 0  # simulate a concurrent writer winning the race

    def next_account_id(self) -> int:
        self.counters["account"] += 1
        return self.counters["account"]

    def create_app(self, app: App, channels: list[Channel]) -> None:
        if app.app_id in self.apps or app.account_id in self.accounts:
            raise ConditionFailed()
        self.apps[app.app_id] = app
        self.api_keys[app.secret_key_hash] = (app.app_id, "secret")
        self.api_keys[app.public_key_hash] = (app.app_id, "public")
        self.accounts[app.account_id] = app.app_id
        for channel in channels:
            self.channels[(app.app_id, channel.channel_id)] = channel

    def get_app(self, app_id: str) -> App | None:
        return self.apps.get(app_id)

    def app_id_for_key(self, key_hash: str) -> tuple[str, str] | None:
        return self.api_keys.get(key_hash)

    def app_id_for_account(self, account_id: int) -> str | None:
        return self.accounts.get(account_id)

    def get_channel(self, app_id: str, channel_id: str) -> Channel | None:
        return self.channels.get((app_id, channel_id))

    def list_channels(self, app_id: str) -> list[Channel]:
        return [c for (a, _), c in self.channels.items() if a == app_id]

    def put_session(self, session_hash: str, session: Session) -> None:
        if session_hash in self.sessions:
            raise ConditionFailed()
        self.sessions[session_hash] = session

    def get_session(self, session_hash: str) -> Session | None:
        return self.sessions.get(session_hash)

    def next_subscription_id(self, app_id: str) -> int:
        self.counters[f"sub#{app_id}"] += 1
        return self.counters[f"sub#{app_id}"]

    def get_device(self, app_id: str, token_hash: str) -> Device | None:
        return self.devices.get((app_id, token_hash))

    def save_device(self, device: Device, expected_version: int | None) -> None:
        key = (device.app_id, device.token_hash)
        current = self.devices.get(key)
        if self.fail_next_saves:
            self.fail_next_saves -= 1
            raise ConditionFailed()
        if expected_version is None and current is not None:
            raise ConditionFailed()
        if expected_version is not None and (current is None or current.version != expected_version):
            raise ConditionFailed()
        if current is not None:  # delivery counters are not registration fields
            device = device.model_copy(
                update={
                    "last_success_at": current.last_success_at,
                    "last_failure_at": current.last_failure_at,
                    "failure_count": current.failure_count,
                }
            )
        self.devices[key] = device

    def set_device_status(self, app_id: str, token_hash: str, user_id: str, status: SubscriptionStatus, now: int) -> bool:
        current = self.devices.get((app_id, token_hash))
        if current is None or current.user_id != user_id or not current.active:
            return False
        self.devices[(app_id, token_hash)] = current.model_copy(
            update={"status": status, "updated_at": now, "version": current.version + 1}
        )
        return True


    def user_devices(self, app_id: str, user_id: str) -> list[Device]:
        return [d for (a, _), d in self.devices.items() if a == app_id and d.user_id == user_id]

    def get_device_pointer(self, app_id: str, pointer_hash: str) -> str | None:
        return self.pointers.get((app_id, pointer_hash))

    def set_device_pointer(self, app_id: str, pointer_hash: str, token_hash: str, expected: str | None) -> None:
        if self.pointers.get((app_id, pointer_hash)) != expected:
            raise ConditionFailed()
        self.pointers[(app_id, pointer_hash)] = token_hash

    def delete_device_pointer(self, app_id: str, pointer_hash: str, expected: str) -> None:
        if self.pointers.get((app_id, pointer_hash)) == expected:
            del self.pointers[(app_id, pointer_hash)]

    def add_topic(self, device: Device, topic: str, now: float) -> bool:
        current = self.devices.get((device.app_id, device.token_hash))
        if current is None or not current.active:
            raise ConditionFailed({0})
        edges = self.edges[(device.app_id, device.token_hash)]
        if topic in edges:
            return False
        edges[topic] = {"PK": keys.device_pk(device.app_id, device.token_hash), "SK": keys.topic_sk(topic),
                        "GSI1PK": keys.topic_gsi_pk(device.app_id, topic), "GSI1SK": keys.device_gsi_sk(device.token_hash),
                        "topic": topic, "token": device.token, "type": device.type.value, "user_id": device.user_id,
                        "keys": device.keys.model_dump() if device.keys else None, "channel_id": device.channel_id,
                        "created_at": int(now), "subscribed_at_ms": int(now * 1000)}
        self.topic_counts[(device.app_id, topic)] += 1
        return True

    def remove_topic(self, app_id: str, token_hash: str, topic: str) -> bool:
        edges = self.edges[(app_id, token_hash)]
        if topic not in edges:
            return False
        del edges[topic]
        self.topic_counts[(app_id, topic)] -= 1
        return True

    def subscribed_before(self, app_id: str, token_hashes: Sequence[str], topics: Collection[str], before_ms: int) -> set[str]:
        return {
            th for th in token_hashes
            if any(name in topics and subscribed_ms(edge) < before_ms for name, edge in self.edges[(app_id, th)].items())
        }

    def device_topics(self, app_id: str, token_hash: str) -> list[str]:
        return sorted(self.edges[(app_id, token_hash)])

    def refresh_topic_edges(self, device: Device) -> None:
        for edge in self.edges[(device.app_id, device.token_hash)].values():
            edge.update(token=device.token, type=device.type.value, keys=device.keys.model_dump() if device.keys else None, user_id=device.user_id)

    def list_topics(self, app_id: str) -> list[tuple[str, int]]:
        return sorted((topic, count) for (a, topic), count in self.topic_counts.items() if a == app_id)

    def topic_subscriber_count(self, app_id: str, topic: str) -> int:
        return self.topic_counts.get((app_id, topic), 0)

    def topic_page(self, app_id: str, topic: str, limit: int, start: dict | None, between: tuple[str, str] | None = None) -> tuple[list[dict], dict | None]:
        def key_of(th: str) -> dict:
            return {"PK": keys.device_pk(app_id, th), "SK": keys.topic_sk(topic),
                    "GSI1PK": keys.topic_gsi_pk(app_id, topic), "GSI1SK": keys.device_gsi_sk(th)}

        low, high = between or ("", "\U0010ffff")
        if start and (set(start) != {"PK", "SK", "GSI1PK", "GSI1SK"} or start["GSI1PK"] != keys.topic_gsi_pk(app_id, topic)
                      or not low <= start["GSI1SK"] <= high):
            raise ValueError("cursor of another listing")
        rows = sorted((th, edges[topic]) for (a, th), edges in self.edges.items()
                      if a == app_id and topic in edges and low <= keys.device_gsi_sk(th) <= high)
        after = start["GSI1SK"] if start else ""
        remaining = [(th, edge) for th, edge in rows if keys.device_gsi_sk(th) > after]
        page = remaining[:limit]
        more = len(remaining) > limit
        return [dict(edge) for _, edge in page], (key_of(page[-1][0]) if more and page else None)


class InMemorySecretStore:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def put_secret(self, name: str, value: str) -> None:
        if name in self.values:
            raise ValueError(f"{name} exists")
        self.values[name] = value

    def get_secret(self, name: str) -> str:
        return self.values[name]

    def delete_secret(self, name: str) -> None:
        self.values.pop(name, None)


class FakeClock:
    def __init__(self, now: float = 1_795_449_600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
