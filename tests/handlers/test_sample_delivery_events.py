"""The SQS sample events of events/ (for `sam local invoke FcmSenderFunction -e events/sqs-fcm-delivery.json`)
carry messages the consumers accept: a fan-out message, and a delivery batch of the provider's own
device types for each sender."""

from __future__ import annotations

import json

import pytest

from pushgate.models import CHANNEL_FOR_DEVICE, ChannelType, DeviceType
from pushgate.pushes import DeliveryMessage, FanoutMessage
from tests.conftest import load_event

SENDER_EVENTS = {
    "sqs-webpush-delivery.json": ChannelType.WEBPUSH,
    "sqs-fcm-delivery.json": ChannelType.FCM,
    "sqs-apns-delivery.json": ChannelType.APNS,
}


@pytest.mark.parametrize(("name", "provider"), SENDER_EVENTS.items())
def test_each_senders_sample_event_is_a_batch_of_its_own_devices(name: str, provider: ChannelType) -> None:
    [record] = load_event(name)["Records"]
    assert record["eventSource"] == "aws:sqs"
    message = DeliveryMessage.model_validate_json(record["body"])
    assert message.devices and {CHANNEL_FOR_DEVICE[DeviceType(device.type)] for device in message.devices} == {provider}


def test_the_fanout_sample_event_is_a_fanout_message() -> None:
    [record] = load_event("sqs-fanout.json")["Records"]
    assert FanoutMessage.model_validate(json.loads(record["body"])).target.user_id == "alice"
