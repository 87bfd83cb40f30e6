"""Private keys (VAPID, development user-token keys, later provider credentials) live in SSM
Parameter Store as SecureString, never in the table, the template or the repository."""

from __future__ import annotations

from typing import Any, Protocol


class SecretStore(Protocol):
    def put_secret(self, name: str, value: str) -> None: ...

    def get_secret(self, name: str) -> str: ...


class SsmSecretStore:
    def __init__(self, client: Any) -> None:
        self._client = client

    def put_secret(self, name: str, value: str) -> None:
        self._client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=False, Tier="Standard")

    def get_secret(self, name: str) -> str:
        return self._client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
