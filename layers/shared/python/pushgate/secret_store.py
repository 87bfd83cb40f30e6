"""Private keys (VAPID, development user-token keys, FCM and APNs provider keys) live in SSM
Parameter Store as SecureString, never in the table, the template or the repository."""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import ClientError


class SecretStore(Protocol):
    def put_secret(self, name: str, value: str) -> None: ...

    def get_secret(self, name: str) -> str: ...

    def delete_secret(self, name: str) -> None: ...


class SsmSecretStore:
    def __init__(self, client: Any) -> None:
        self._client = client

    def put_secret(self, name: str, value: str) -> None:
        self._client.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=False, Tier="Standard")

    def get_secret(self, name: str) -> str:
        return self._client.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]

    def delete_secret(self, name: str) -> None:
        """Absent afterwards, whether or not it was there: callers clean up after partial work,
        and a parameter already gone is the state they want."""
        try:
            self._client.delete_parameter(Name=name)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "ParameterNotFound":
                raise
