"""Moving an app's subscriptions out and in (`pushgate subscriptions export|import`, docs/import-export.md).

Export gives one record per device: its type, user, endpoint and keys (web) or token (native),
device id, topics, status and dates. Import takes such records, from whatever file format the CLI
read them, and puts each one through the checks and the registration every API runs (the endpoint
policy of docs/api.md §6, the P-256 and auth keys, the user id, native tokens, topic names; the
ownership rule), so an imported subscription is exactly what the same client registering through
the API would have made. Re-importing the same records changes nothing that matters: a
registration is an upsert and a topic edge already there is left alone."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pushgate.errors import FieldError, OwnedByAnotherUser, PushgateError
from pushgate.identifiers import token_hash
from pushgate.models import App, Caller, Device, DeviceType, SubscriptionStatus
from pushgate.repository import ConditionFailed, Repository
from pushgate.services.subscriptions import (
    Registration,
    SubscriptionService,
    WebSubscription,
    check_device_id,
    check_native_token,
)
from pushgate.services.topics import check_topics
from pushgate.validation import check_user_id


@dataclass(frozen=True)
class ImportRecord:
    """One subscription read from a file; `line` is where it was, for error reports."""

    line: int
    type: str | None
    user_id: object
    endpoint: object = None  # web
    p256dh: object = None
    auth: object = None
    token: object = None  # native
    device_id: object = None
    topics: tuple[object, ...] = ()
    status: str = SubscriptionStatus.ACTIVE.value


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0  # already there for the same user: registered again (an upsert), topics added
    skipped: int = 0  # not ACTIVE in the file: a removed or expired subscription is not brought back
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "failed": len(self.errors),
            "errors": [{"line": error.line, "error": error.message} for error in self.errors],
        }


def _iso(epoch_seconds: int) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def export_record(device: Device, topics: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {"type": device.type.value, "user_id": device.user_id}
    if device.type is DeviceType.WEB:
        record["endpoint"] = device.token
        record["keys"] = device.keys.model_dump() if device.keys else None
    else:
        record["token"] = device.token
    record.update(
        device_id=device.device_id,
        topics=sorted(topics),
        status=device.status.value,
        created_at=_iso(device.created_at),
        updated_at=_iso(device.updated_at),
    )
    return record


class TransferService:
    def __init__(
        self, repository: Repository, subscriptions: SubscriptionService, clock: Callable[[], float] = time.time
    ) -> None:
        self._repository = repository
        self._subscriptions = subscriptions
        self._clock = clock

    # -- export --------------------------------------------------------------------------------

    def export(self, app: App, user_ids: Iterable[str] | None = None) -> Iterator[dict[str, Any]]:
        """Every subscription of the app (any status), or of the named users, a record at a time."""
        for device in self._devices(app.app_id, user_ids):
            yield export_record(device, self._repository.device_topics(app.app_id, device.token_hash))

    def _devices(self, app_id: str, user_ids: Iterable[str] | None) -> Iterator[Device]:
        if user_ids is not None:
            for user_id in user_ids:
                yield from self._repository.user_devices(app_id, user_id)
            return
        start: dict[str, Any] | None = None
        while True:
            devices, start = self._repository.app_devices_page(app_id, start)
            yield from devices
            if start is None:
                return

    # -- import --------------------------------------------------------------------------------

    def import_records(
        self, app: App, records: Iterable[ImportRecord | RowError], progress: Callable[[int], None] | None = None
    ) -> ImportReport:
        """Registers each valid record; a record that fails is reported with its line and does
        not stop the others. `progress` is told how many records have been handled so far."""
        report = ImportReport()
        for handled, record in enumerate(records, start=1):
            if isinstance(record, RowError):
                report.errors.append(record)
            else:
                try:
                    self._import_one(app, record, report)
                except (FieldError, OwnedByAnotherUser) as error:
                    report.errors.append(RowError(record.line, _describe(error)))
                except PushgateError as error:
                    report.errors.append(RowError(record.line, str(error)))
            if progress is not None:
                progress(handled)
        return report

    def _import_one(self, app: App, record: ImportRecord, report: ImportReport) -> None:
        registration = self.registration(record)
        topics = check_topics(list(record.topics)) if record.topics else []
        user_id = check_user_id(record.user_id)
        if record.status != SubscriptionStatus.ACTIVE.value:
            report.skipped += 1
            return
        caller = Caller(app=app, user_id=user_id)
        before = self._repository.get_device(app.app_id, token_hash(registration.token))
        if registration.device_id is not None:
            device = self._subscriptions.subscribe_device(caller, registration)
        else:
            device = self._subscriptions.register(caller, registration).device
        already = before is not None and before.active and before.user_id == user_id
        if already:
            report.updated += 1
        else:
            report.created += 1
        now = self._clock()
        for topic in topics:
            try:
                self._repository.add_topic(device, topic, now)
            except ConditionFailed:
                raise PushgateError("removed while its topics were being added") from None

    def registration(self, record: ImportRecord) -> Registration:
        """The record checked as the APIs check it (docs/api.md §6), as a registration."""
        try:
            device_type = DeviceType(record.type or ("web" if record.endpoint is not None else ""))
        except ValueError:
            types = ", ".join(t.value for t in DeviceType)
            raise PushgateError(f"type: must be one of {types}") from None
        device_id = check_device_id(record.device_id, "device_id") if record.device_id not in (None, "") else None
        if device_type is DeviceType.WEB:
            web = WebSubscription.parse(self._subscriptions.policy, record.endpoint, record.p256dh, record.auth)
            return Registration.web(web, device_id=device_id)
        return Registration(device_type, check_native_token(record.token), device_id=device_id)


def _describe(error: PushgateError) -> str:
    if isinstance(error, OwnedByAnotherUser):
        return "endpoint or token belongs to another user of the app (different keys)"
    return str(error)
