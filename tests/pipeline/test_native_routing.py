"""Fan-out sends each device to its provider's queue through the app's channel of that provider, and
counts a device it cannot route as failed with its reason (docs/api.md §7), under moto."""

from __future__ import annotations

import pytest

from pushgate.models import ApnsEnvironment, Caller, Channel, ChannelType, DeviceType
from pushgate.pushes import FanoutMessage
from pushgate.services.subscriptions import Registration, WebSubscription
from tests.keys import browser_keys
from tests.pipeline.conftest import bodies, drain
from tests.pipeline.test_pipeline import http_event, push_status, run_fanout

APNS_TOKEN = "a" * 64
VOIP_TOKEN = "b" * 64
ANDROID_TOKEN = "android-registration-token:APA91b"
FCM_TOKEN = "fcm-registration-token:APA91c"
WEB_ENDPOINT = "https://fcm.googleapis.com/wp/native-routing"


@pytest.fixture
def bob(queues, pushgate, demo_app, import_handler):  # noqa: ANN001, ANN201
    """bob with one device of every type."""
    caller = Caller(app=demo_app.app, user_id="bob")
    p256dh, auth = browser_keys()
    pushgate.subscriptions.subscribe_web(caller, WebSubscription.parse(pushgate.subscriptions.policy, WEB_ENDPOINT, p256dh, auth))
    for device_type, token in ((DeviceType.IOS, APNS_TOKEN), (DeviceType.IOS_VOIP, VOIP_TOKEN), (DeviceType.ANDROID, ANDROID_TOKEN), (DeviceType.FCM, FCM_TOKEN)):
        pushgate.subscriptions.subscribe_device(caller, Registration(type=device_type, token=token, device_id=f"bob-{device_type.value}"))
    return {"queues": queues, "send": import_handler("send_push"), "get": import_handler("get_push"), "fanout": import_handler("fanout")}


def push_to_bob(world, demo_app, lambda_context) -> str:  # noqa: ANN001
    import json

    event = http_event("POST", "/push", "/push", f"api_key={demo_app.secret_key}", {"to": "/users/bob", "notification": {"title": "Hi", "body": "bob"}})
    response = world["send"].lambda_handler(event, lambda_context)
    assert response["statusCode"] == 200, response
    return json.loads(response["body"])["id"]


def add_native_channels(pushgate, app_id: str) -> dict[ChannelType, str]:  # noqa: ANN001
    fcm = Channel(channel_id="fcm-channel", app_id=app_id, type=ChannelType.FCM, created_at=1, fcm_project_id="demo-project",
                  fcm_client_email="sender@demo-project.iam.gserviceaccount.com", fcm_private_key_id="k1", private_key_parameter="/p/fcm")
    apns = Channel(channel_id="apns-channel", app_id=app_id, type=ChannelType.APNS, created_at=1, apns_key_id="ABCDE12345", apns_team_id="TEAM123456",
                   apns_bundle_id="com.example.demo", apns_environment=ApnsEnvironment.SANDBOX, private_key_parameter="/p/apns")
    pushgate.repository.add_channel(fcm)
    pushgate.repository.add_channel(apns)
    return {ChannelType.FCM: fcm.channel_id, ChannelType.APNS: apns.channel_id}


def test_native_devices_of_an_app_without_channels_are_failed_with_no_channel(bob, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    push_id = push_to_bob(bob, demo_app, lambda_context)
    run_fanout(bob, aws, lambda_context)
    web = [device["token"] for message in bodies(drain(aws["sqs"], bob["queues"]["DeliveryQueue"])) for device in message["devices"]]
    assert web == [WEB_ENDPOINT]
    assert drain(aws["sqs"], bob["queues"]["FcmDeliveryQueue"]) == [] and drain(aws["sqs"], bob["queues"]["ApnsDeliveryQueue"]) == []
    status = push_status(bob, demo_app, push_id, lambda_context)["push"]
    assert status["counts"]["targeted"] == 5 and status["counts"]["failed"] == 4 and status["counts"]["pending"] == 1
    assert status["failed_reasons"] == {"no_channel": 4}


def test_each_native_device_goes_to_its_providers_queue_with_the_apps_channel(bob, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    channels = add_native_channels(pushgate, demo_app.app.app_id)
    push_id = push_to_bob(bob, demo_app, lambda_context)
    run_fanout(bob, aws, lambda_context)
    routed = {
        name: sorted((device["type"], device["token"], device["channel_id"]) for message in bodies(drain(aws["sqs"], bob["queues"][name])) for device in message["devices"])
        for name in ("DeliveryQueue", "FcmDeliveryQueue", "ApnsDeliveryQueue")
    }
    assert routed["FcmDeliveryQueue"] == [("android", ANDROID_TOKEN, channels[ChannelType.FCM]), ("fcm", FCM_TOKEN, channels[ChannelType.FCM])]
    assert routed["ApnsDeliveryQueue"] == [("ios", APNS_TOKEN, channels[ChannelType.APNS]), ("ios-voip", VOIP_TOKEN, channels[ChannelType.APNS])]
    assert [token for _, token, _ in routed["DeliveryQueue"]] == [WEB_ENDPOINT]
    status = push_status(bob, demo_app, push_id, lambda_context)["push"]
    assert status["counts"] == {"targeted": 5, "sent": 0, "failed": 0, "pruned": 0, "pending": 5, "cancelled": 0}
    assert status["failed_reasons"] == {}


def test_a_deployment_without_a_providers_sender_counts_its_devices_failed(bob, aws, pushgate, demo_app, lambda_context, monkeypatch) -> None:  # noqa: ANN001
    from pushgate import config, wiring

    add_native_channels(pushgate, demo_app.app.app_id)
    monkeypatch.delenv("APNS_DELIVERY_QUEUE_URL")
    config.settings.cache_clear()
    wiring.fanout_service.cache_clear()
    push_id = push_to_bob(bob, demo_app, lambda_context)
    messages = drain(aws["sqs"], bob["queues"]["FanoutQueue"])
    for message in bodies(messages):
        wiring.fanout_service().expand(FanoutMessage.model_validate(message))
    status = push_status(bob, demo_app, push_id, lambda_context)["push"]
    assert status["failed_reasons"] == {"no_sender": 2}
    assert len([device for message in bodies(drain(aws["sqs"], bob["queues"]["FcmDeliveryQueue"])) for device in message["devices"]]) == 2


def test_a_fanout_message_processed_twice_queues_the_same_native_batches(bob, aws, pushgate, demo_app, lambda_context) -> None:  # noqa: ANN001
    add_native_channels(pushgate, demo_app.app.app_id)
    push_to_bob(bob, demo_app, lambda_context)
    fanout = drain(aws["sqs"], bob["queues"]["FanoutQueue"])
    from pushgate.wiring import fanout_service

    for _ in range(2):
        for message in bodies(fanout):
            fanout_service().expand(FanoutMessage.model_validate(message))
    ids = [message["batch_id"] for message in bodies(drain(aws["sqs"], bob["queues"]["ApnsDeliveryQueue"]))]
    assert len(ids) == 2 and ids[0] == ids[1]  # the sender's idempotency drops the copy


def test_a_push_must_fit_every_provider_before_it_is_queued(bob, aws, demo_app, lambda_context) -> None:  # noqa: ANN001
    import json

    from tests.pipeline.test_pipeline import post_push

    # Fits Web Push's 3993 bytes, but FCM sends data values as strings: every quote of the nested
    # object is escaped again, and the message is over FCM's 4096.
    nested = {"k": [{"q": "x"}] * 380}
    assert len(json.dumps({"id": "p" * 26, "data": nested}, separators=(",", ":"))) <= 3993
    status, body = post_push(bob, demo_app, {"to": "/users/bob", "data": nested}, lambda_context)
    assert (status, body["code"]) == (400, "PAYLOAD_TOO_LARGE")
    # FCM reserves some data keys; a push that uses one is refused, not dropped at delivery
    status, body = post_push(bob, demo_app, {"to": "/users/bob", "data": {"google.sent_time": "1"}}, lambda_context)
    assert (status, body["code"]) == (400, "INVALID_PARAM")
    assert drain(aws["sqs"], bob["queues"]["FanoutQueue"]) == []
