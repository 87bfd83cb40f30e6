"""The subscription use cases on in-memory fakes: upsert, reactivation, ownership (docs/api.md §6)."""

from __future__ import annotations

import pytest

from pushgate.errors import ConcurrentUpdate, FieldMissing, FieldTooLong, InvalidAuthSecret, InvalidEndpoint, InvalidP256dh, OwnedByAnotherUser
from pushgate.identifiers import token_hash
from pushgate.models import Caller, SubscriptionStatus
from pushgate.services.apps import AppService
from pushgate.services.subscriptions import SubscriptionService, WebSubscription, check_unsubscribe_endpoint
from pushgate.validation import EndpointPolicy
from tests.fakes import FakeClock, InMemoryRepository, InMemorySecretStore
from tests.keys import browser_keys

ENDPOINT = "https://fcm.googleapis.com/fcm/send/browser-1"
POLICY = EndpointPolicy()


@pytest.fixture
def setup():  # noqa: ANN201
    repo, clock = InMemoryRepository(), FakeClock()
    app = AppService(repo, InMemorySecretStore(), "/p", clock).create_app("demo").app
    service = SubscriptionService(repo, POLICY, clock)
    return repo, clock, service, app


def subscription(endpoint: str = ENDPOINT, keys: tuple[str, str] | None = None) -> WebSubscription:
    p256dh, auth = keys or browser_keys()
    return WebSubscription.parse(POLICY, endpoint, p256dh, auth)


def test_subscribe_creates_then_reactivates_with_the_same_id(setup) -> None:  # noqa: ANN001
    repo, clock, service, app = setup
    alice = Caller(app=app, user_id="alice")
    first = service.subscribe_web(alice, subscription())
    assert first.subscription_id >= 1 and first.active
    assert service.unsubscribe_web(alice, ENDPOINT) is True
    assert repo.get_device(app.app_id, token_hash(ENDPOINT)).status is SubscriptionStatus.REMOVED
    clock.advance(10)
    new_keys = browser_keys()
    again = service.subscribe_web(alice, subscription(keys=new_keys))
    assert again.subscription_id == first.subscription_id
    assert again.active and again.keys.p256dh == new_keys[0] and again.created_at == first.created_at


def test_each_new_endpoint_gets_a_new_id_and_one_user_has_many(setup) -> None:  # noqa: ANN001
    _, _, service, app = setup
    alice = Caller(app=app, user_id="alice")
    ids = {service.subscribe_web(alice, subscription(f"{ENDPOINT}-{i}")).subscription_id for i in range(3)}
    assert len(ids) == 3


def test_another_users_endpoint_is_a_conflict_and_changes_nothing(setup) -> None:  # noqa: ANN001
    repo, _, service, app = setup
    owner = service.subscribe_web(Caller(app=app, user_id="alice"), subscription())
    with pytest.raises(OwnedByAnotherUser):
        service.subscribe_web(Caller(app=app, user_id="mallory"), subscription())
    assert repo.get_device(app.app_id, owner.token_hash) == owner


def test_same_browser_moves_to_the_new_user(setup) -> None:  # noqa: ANN001
    repo, _, service, app = setup
    keys = browser_keys()
    owner = service.subscribe_web(Caller(app=app, user_id="alice"), subscription(keys=keys))
    moved = service.subscribe_web(Caller(app=app, user_id="bob"), subscription(keys=keys))
    assert moved.user_id == "bob" and moved.subscription_id == owner.subscription_id
    assert repo.get_device(app.app_id, owner.token_hash).user_id == "bob"


def test_a_browser_that_moves_takes_its_topic_edges_to_the_new_user(setup) -> None:  # noqa: ANN001
    """Fan-out reads the edges, not the device: skip_online must see the new owner there."""
    repo, clock, service, app = setup
    keys = browser_keys()
    owner = service.subscribe_web(Caller(app=app, user_id="alice"), subscription(keys=keys))
    repo.add_topic(owner, "news", clock())
    service.subscribe_web(Caller(app=app, user_id="bob"), subscription(keys=keys))
    assert [edge["user_id"] for edge in repo.edges[(app.app_id, owner.token_hash)].values()] == ["bob"]


def test_a_removed_subscription_of_another_user_can_be_taken(setup) -> None:  # noqa: ANN001
    _, _, service, app = setup
    alice = Caller(app=app, user_id="alice")
    service.subscribe_web(alice, subscription())
    service.unsubscribe_web(alice, ENDPOINT)
    assert service.subscribe_web(Caller(app=app, user_id="bob"), subscription()).user_id == "bob"


def test_unsubscribe_is_scoped_to_the_caller_and_idempotent(setup) -> None:  # noqa: ANN001
    repo, _, service, app = setup
    owner = service.subscribe_web(Caller(app=app, user_id="alice"), subscription())
    assert service.unsubscribe_web(Caller(app=app, user_id="mallory"), ENDPOINT) is False
    assert repo.get_device(app.app_id, owner.token_hash).active
    assert service.unsubscribe_web(Caller(app=app, user_id="alice"), "https://fcm.googleapis.com/never") is False


def test_a_lost_race_is_decided_again_on_fresh_state(setup) -> None:  # noqa: ANN001
    repo, _, service, app = setup
    repo.fail_next_saves = 2
    assert service.subscribe_web(Caller(app=app, user_id="alice"), subscription()).active
    repo.fail_next_saves = 10
    with pytest.raises(ConcurrentUpdate):
        service.subscribe_web(Caller(app=app, user_id="alice"), subscription(f"{ENDPOINT}-2"))


def test_delivery_counters_survive_a_resubscribe(setup) -> None:  # noqa: ANN001
    repo, _, service, app = setup
    alice = Caller(app=app, user_id="alice")
    device = service.subscribe_web(alice, subscription())
    key = (app.app_id, device.token_hash)
    repo.devices[key] = device.model_copy(update={"failure_count": 3, "last_failure_at": 5})
    service.subscribe_web(alice, subscription())
    assert repo.devices[key].failure_count == 3


def test_fields_are_checked_required_then_length_then_validity() -> None:
    p256dh, auth = browser_keys()
    with pytest.raises(FieldMissing) as missing:
        WebSubscription.parse(POLICY, "https://x" * 200, "", auth)
    assert missing.value.field == "p256dh"
    with pytest.raises(FieldTooLong) as long:
        WebSubscription.parse(POLICY, "not-a-url", p256dh, "a" * 256)
    assert long.value.field == "auth"
    cases = [
        (("http://fcm.googleapis.com/x", p256dh, auth), InvalidEndpoint),
        ((ENDPOINT, auth, auth), InvalidP256dh),
        ((ENDPOINT, p256dh, p256dh), InvalidAuthSecret),
        ((42, p256dh, auth), InvalidEndpoint),
        ((ENDPOINT, ["x"], auth), InvalidP256dh),
    ]
    for args, error in cases:
        with pytest.raises(error):
            WebSubscription.parse(POLICY, *args)


def test_unsubscribe_endpoint_checks() -> None:
    with pytest.raises(FieldMissing):
        check_unsubscribe_endpoint(None)
    with pytest.raises(FieldTooLong):
        check_unsubscribe_endpoint("x" * 1025)
    assert check_unsubscribe_endpoint("https://anything/at/all") == "https://anything/at/all"


def test_device_repr_hides_endpoint_and_keys(setup) -> None:  # noqa: ANN001
    _, _, service, app = setup
    device = service.subscribe_web(Caller(app=app, user_id="alice"), subscription())
    text = repr(device) + str(device)
    assert ENDPOINT not in text and device.keys.auth not in text and device.keys.p256dh not in text
