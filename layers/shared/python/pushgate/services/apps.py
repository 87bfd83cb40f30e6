"""Creating an app (tenant): its keys, account number, webpush channel and development key."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pushgate import identifiers
from pushgate.keygen import new_user_token_key_pair, new_vapid_key_pair
from pushgate.models import App, Channel, ChannelType
from pushgate.repository import Repository
from pushgate.secret_store import SecretStore


@dataclass(frozen=True)
class CreatedApp:
    app: App
    secret_key: str
    public_key: str
    channels: list[Channel]
    user_token_private_key: str

    def credentials(self) -> dict[str, object]:
        """What `pushgate app create --json` prints (docs/api.md §0), shown once, never stored."""
        return {
            "app_id": self.app.app_id,
            "account_id": self.app.account_id,
            "secret_key": self.secret_key,
            "public_key": self.public_key,
            "channels": [
                {"id": channel.channel_id, "type": channel.type.value, "vapid_public_key": channel.vapid_public_key}
                for channel in self.channels
            ],
            "user_token_private_key": self.user_token_private_key,
        }


class AppService:
    def __init__(self, repository: Repository, secrets: SecretStore, ssm_prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._repository = repository
        self._secrets = secrets
        self._prefix = ssm_prefix.rstrip("/")
        self._clock = clock

    def user_token_key_parameter(self, app_id: str) -> str:
        return f"{self._prefix}/apps/{app_id}/user-token-private-key"

    def create_app(self, name: str) -> CreatedApp:
        now = int(self._clock())
        app_id = identifiers.new_app_id()
        secret_key, public_key = identifiers.new_secret_key(), identifiers.new_public_key()
        vapid, user_key = new_vapid_key_pair(), new_user_token_key_pair()
        channel_id = identifiers.new_channel_id()
        vapid_parameter = f"{self._prefix}/apps/{app_id}/channels/{channel_id}/vapid-private-key"
        channel = Channel(
            channel_id=channel_id,
            app_id=app_id,
            type=ChannelType.WEBPUSH,
            vapid_public_key=vapid.public,
            vapid_private_key_parameter=vapid_parameter,
            created_at=now,
        )
        app = App(
            app_id=app_id,
            name=name,
            account_id=self._repository.next_account_id(),
            secret_key_hash=identifiers.credential_hash(secret_key),
            public_key_hash=identifiers.credential_hash(public_key),
            user_token_keys=(user_key.public,),
            webpush_channel_id=channel_id,
            created_at=now,
        )
        # Secrets first: an app row never points at a key that does not exist.
        self._secrets.put_secret(vapid_parameter, vapid.private_pem)
        self._secrets.put_secret(self.user_token_key_parameter(app_id), user_key.private_pem)
        self._repository.create_app(app, [channel])
        return CreatedApp(app, secret_key, public_key, [channel], user_key.private_pem)
