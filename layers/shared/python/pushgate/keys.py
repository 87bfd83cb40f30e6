"""Primary and index keys of the single table (docs/data-model.md explains each pattern).

Every key starts with a type prefix; app ids never contain '#', so keys built from them stay
unambiguous even when a user id does."""

from __future__ import annotations

APP_SK = "APP"


def app_pk(app_id: str) -> str:
    return f"APP#{app_id}"


def api_key_pk(key_hash: str) -> str:
    return f"APIKEY#{key_hash}"


def account_pk(account_id: int) -> str:
    return f"ACCOUNT#{account_id}"


ACCOUNT_COUNTER_PK = "COUNTER#ACCOUNT"


def channel_sk(channel_id: str) -> str:
    return f"CHANNEL#{channel_id}"


def channel_type_sk(channel_type: str) -> str:
    """The marker that keeps an app to one channel of each provider (it names the channel)."""
    return f"CHANNELTYPE#{channel_type}"


def session_pk(session_hash: str) -> str:
    return f"SESSION#{session_hash}"


def device_pk(app_id: str, token_hash: str) -> str:
    return f"DEVICE#{app_id}#{token_hash}"


DEVICE_SK = "DEVICE"


def user_gsi_pk(app_id: str, user_id: str) -> str:
    return f"USER#{app_id}#{user_id}"


def device_gsi_sk(token_hash: str) -> str:
    return f"DEVICE#{token_hash}"


def device_pointer_pk(app_id: str, pointer_hash: str) -> str:
    """(user, type, deviceId) of the device API -> the device record it names."""
    return f"DEVICEID#{app_id}#{pointer_hash}"


DEVICE_POINTER_SK = "DEVICEID"


def topic_sk(topic: str) -> str:
    return f"TOPIC#{topic}"


def topic_gsi_pk(app_id: str, topic: str) -> str:
    return f"TOPIC#{app_id}#{topic}"


def connection_pk(connection_id: str) -> str:
    return f"CONN#{connection_id}"


CONNECTION_SK = "CONN"


def push_pk(push_id: str) -> str:
    return f"PUSH#{push_id}"


PUSH_SK = "PUSH"
