"""The `POST /push` request (docs/api.md §4, pushgate.pushes): any body either parses into a push
within the documented limits, whose Web Push payload is strict JSON of at most 3993 bytes, or is
refused with the server API's 400 INVALID_PARAM or PAYLOAD_TOO_LARGE - never a 500. Bodies are read
as the send_push function reads them (pushgate.http.request.json_body) and errors mapped by its
envelope (pushgate.http.envelopes.pushy_errors)."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from pushgate.errors import PushgateError
from pushgate.http.envelopes import pushy_errors
from pushgate.http.request import MAX_BODY_BYTES, json_body
from pushgate.pushes import (
    MAX_COLLAPSE_KEY_LENGTH,
    MAX_PAYLOAD_BYTES,
    MAX_TOKENS_PER_PUSH,
    MAX_TOPICS_PER_PUSH,
    MAX_TTL,
    PUSH_ID_LENGTH,
    URGENCIES,
    TargetKind,
    parse_push_request,
)
from pushgate.validation import TOPIC_NAME
from tests.fuzz.budget import property_settings

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40))
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4), max_leaves=12)
targets = st.one_of(
    st.text(max_size=30),
    st.from_regex(r"\A/topics/[a-zA-Z0-9._-]{0,101}\n?\Z"),
    st.from_regex(r"\A/users/.{0,20}\Z"),
    st.lists(st.one_of(st.text(min_size=1, max_size=20), st.from_regex(r"\A/topics/[a-z]{1,5}\Z")), max_size=120),
    json_values,
)
notifications = st.one_of(
    st.fixed_dictionaries({"title": st.text(max_size=30), "body": st.text(max_size=30)}, optional={"icon": json_scalars, "url": json_scalars, "extra": json_values}),
    st.fixed_dictionaries({"title": st.text(max_size=2000), "body": st.text(max_size=3000)}),
    json_values,
)
push_bodies = st.fixed_dictionaries(
    {"to": targets},
    optional={
        "notification": notifications,
        "data": st.one_of(json_values, st.dictionaries(st.text(max_size=12), st.text(max_size=600), max_size=8)),
        "time_to_live": st.one_of(st.integers(-5, MAX_TTL + 5), json_scalars),
        "urgency": st.one_of(st.sampled_from([*URGENCIES, "HIGH", ""]), json_scalars),
        "collapse_key": st.one_of(st.text(max_size=MAX_COLLAPSE_KEY_LENGTH + 2), json_scalars),
    },
)
raw_bodies = st.one_of(
    push_bodies.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=200),
    # JSON that Python reads but no other JSON reader would: NaN, Infinity, numbers beyond a double.
    st.sampled_from(['{"to": "t", "data": NaN}', '{"to": "t", "data": {"x": Infinity}}', '{"to": "t", "data": 1e400}', '{"to": "t", "time_to_live": 1e2}', '{"to": "t", "data": -Infinity}']),
)


def strict_json(text: str) -> object:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


@property_settings(1500)
@given(raw_bodies)
def test_any_body_is_a_push_within_limits_or_a_documented_400(body: str) -> None:
    event = {"body": body, "isBase64Encoded": False, "headers": {"content-type": "application/json"}}
    try:
        request = parse_push_request(json_body(event))
    except PushgateError as error:
        response = pushy_errors(error, event)
        assert response.status_code == 400, response.body
        assert json.loads(response.body)["code"] in ("INVALID_PARAM", "PAYLOAD_TOO_LARGE")
        return
    assert len(body.encode()) <= MAX_BODY_BYTES
    assert request.targets
    kinds = {target.kind for target in request.targets}
    assert not {TargetKind.TOPIC, TargetKind.TOKENS} <= kinds
    topics = [target.topic for target in request.targets if target.kind is TargetKind.TOPIC]
    assert len(topics) <= MAX_TOPICS_PER_PUSH and all(TOPIC_NAME.match(topic) for topic in topics)
    assert sum(len(target.tokens) for target in request.targets) <= MAX_TOKENS_PER_PUSH
    assert isinstance(request.time_to_live, int) and not isinstance(request.time_to_live, bool) and 0 <= request.time_to_live <= MAX_TTL
    assert request.urgency in URGENCIES
    assert request.collapse_key is None or 0 < len(request.collapse_key) <= MAX_COLLAPSE_KEY_LENGTH
    payload = request.payload("p" * PUSH_ID_LENGTH)
    assert len(payload.encode()) <= MAX_PAYLOAD_BYTES
    assert strict_json(payload)["id"] == "p" * PUSH_ID_LENGTH, "the payload a browser parses is strict JSON"


@property_settings(300)
@given(push_bodies)
def test_a_push_body_under_its_base64_encoding_reads_the_same(body: dict) -> None:
    """API Gateway hands some bodies base64-encoded: the push read is the same."""
    import base64

    text = json.dumps(body)
    plain = {"body": text, "isBase64Encoded": False}
    encoded = {"body": base64.b64encode(text.encode()).decode(), "isBase64Encoded": True}
    assert json_body(plain) == json_body(encoded)
