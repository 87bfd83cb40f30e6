"""An SQS consumer never starts a message its Lambda timeout could cut off half-done: a sender
stopped in the middle of a batch would send part of it again when SQS redelivers it. Here, the
figures against template.yaml; the behaviour is in test_pipeline.py."""

from __future__ import annotations

from pushgate.delivery.webpush.client import MAX_CONNECT_TIMEOUT, MAX_READ_TIMEOUT
from pushgate.delivery.transport.http2 import DEFAULT_CONNECT_TIMEOUT, DEFAULT_READ_TIMEOUT
from pushgate.wiring import FANOUT_MESSAGE_SECONDS, NATIVE_SEND_DEADLINE_SECONDS, SENDER_MESSAGE_SECONDS, SENDER_MESSAGES_AT_ONCE
from pushgate_local.template import functions, resources, sqs_event_sources

MESSAGE_SECONDS = {
    "WebPushSenderFunction": SENDER_MESSAGE_SECONDS,
    "FcmSenderFunction": SENDER_MESSAGE_SECONDS,
    "ApnsSenderFunction": SENDER_MESSAGE_SECONDS,
    "FanoutFunction": FANOUT_MESSAGE_SECONDS,
}


def test_every_sqs_consumer_has_time_for_a_message_and_its_queue_outwaits_the_function() -> None:
    sources = sqs_event_sources()
    assert {source.function for source in sources} == set(MESSAGE_SECONDS)  # a new consumer needs its own figure
    specs, queues = functions(), resources(kind="AWS::SQS::Queue")
    for source in sources:
        timeout = specs[source.function].timeout
        assert timeout >= 2 * MESSAGE_SECONDS[source.function], source.function
        queue = queues[source.queue["Fn::GetAtt"][0]]
        # AWS's guidance for Lambda event sources: at least six times the function's timeout.
        assert queue["Properties"]["VisibilityTimeout"] >= 6 * timeout, source.function


def test_the_senders_figure_covers_its_slowest_send() -> None:
    # A message's sends run at once; an endpoint's host may be tried over IPv6 and then IPv4. The
    # sending loop may be busy with a batch of other messages' requests when a message's arrive:
    # they wait for it, then go in the next.
    slowest_batch = 2 * MAX_CONNECT_TIMEOUT + MAX_READ_TIMEOUT
    assert SENDER_MESSAGE_SECONDS >= 2 * slowest_batch + 5


def test_the_native_senders_figure_covers_a_token_fetch_and_a_resend() -> None:
    # A batch's requests all wait at most the deadline; after a 401 / ExpiredProviderToken the
    # token is fetched again (FCM's OAuth round trip: one connect and one read) and those requests
    # sent once more; the writes that follow get the rest.
    token_fetch = DEFAULT_CONNECT_TIMEOUT + DEFAULT_READ_TIMEOUT
    assert SENDER_MESSAGE_SECONDS >= 2 * NATIVE_SEND_DEADLINE_SECONDS + token_fetch + 5


def test_every_sqs_consumer_has_a_bounded_concurrency() -> None:
    # Unbounded, SQS scales a consumer to hundreds of functions: the sender would open that many
    # connection pools to the same push services, and a big topic's fan-out parts would all read
    # one DynamoDB partition at once.
    for source in sqs_event_sources():
        assert source.maximum_concurrency is not None and 2 <= source.maximum_concurrency <= 50, source.function


def test_the_senders_connection_pool_holds_an_invocations_messages() -> None:
    # The messages of one invocation are sent side by side, their requests by one sending loop;
    # the wiring sizes its pool for the batch size the template gives the sender.
    for sender in (source for source in sqs_event_sources() if source.function.endswith("SenderFunction")):
        assert sender.batch_size == SENDER_MESSAGES_AT_ONCE, sender.function
