"""Fault 5, Web Push: the push service resets connections, answers after the read timeout, or
answers garbage (non-HTTP bytes, a truncated status line, an invalid one), through the sender's
own HTTP/1.1 transport (KeepAliveTransport, under the sending loop). Each misbehaviour hits one
device of the topic, once (then the push service recovers) or on every attempt. Target: nothing
lost, nothing wrongly pruned (none of these is a 404/410), nothing duplicated, except a request
the push service took in and answered too late, which the sender cannot tell from one it never
got. The cases run one after the other on one world (reset between them), to keep the suite fast."""

from __future__ import annotations

from tests.faults.figures import Figures, record
from tests.faults.web_world import Misbehaviour, WebWorld, path_of

RETRIED_AS_TRANSIENT = [Misbehaviour.RESET, Misbehaviour.GARBAGE, Misbehaviour.TRUNCATED, Misbehaviour.BAD_STATUS, Misbehaviour.SERVER_ERROR]


def run(world: WebWorld, misbehaviour: Misbehaviour, every_attempt: bool, note: str = "") -> tuple[str, str, Figures]:
    world.reset()
    victim = path_of(world.endpoints[1])
    world.push_service.trouble[victim] = [misbehaviour]
    if every_attempt:
        world.push_service.persistent.add(victim)
    push_id = world.post_push()
    world.settle()
    times = "every attempt" if every_attempt else "once"
    return push_id, victim, record(world.figures(f"web push: {misbehaviour.value}, {times}", push_id, note=note))


def test_a_push_service_misbehaving_once_delays_one_delivery(web_world: WebWorld) -> None:
    for misbehaviour in RETRIED_AS_TRANSIENT:
        _, _, figures = run(web_world, misbehaviour, every_attempt=False)
        assert figures.clean and figures.delivered == web_world.devices, figures


def test_a_request_answered_after_the_read_timeout_is_sent_again_with_the_same_topic(web_world: WebWorld) -> None:
    push_id, victim, figures = run(web_world, Misbehaviour.SLOW, every_attempt=False, note="taken in, answered late: sent again, same Topic")
    # The one duplicate at-least-once delivery allows: the push service took the first copy in,
    # and the sender, its read timed out, cannot tell. Both copies carry the same Topic header, so
    # a push service still holding the first replaces it with the second (RFC 8030 §5.4).
    assert (figures.lost, figures.wrongly_pruned, figures.counts_off, figures.delivered) == (0, 0, 0, web_world.devices), figures
    assert figures.duplicated == 1
    assert len(web_world.push_service.log.accepted[victim]) == 2 and len(web_world.push_service.log.topics[(victim, push_id)]) == 1


def test_a_push_service_misbehaving_on_every_attempt_fails_the_delivery_with_its_reason(web_world: WebWorld) -> None:
    for misbehaviour in RETRIED_AS_TRANSIENT:
        push_id, victim, figures = run(web_world, misbehaviour, every_attempt=True, note="failed: retries_exhausted")
        assert figures.clean and figures.delivered == web_world.devices - 1, (misbehaviour, figures)
        push = web_world.push(push_id)
        assert (push.failed, push.failed_reasons) == (1, {"retries_exhausted": 1}), misbehaviour
        assert web_world.push_service.log.accepted[victim] == []
