"""Topic names (docs/api.md §4): exactly `^[a-zA-Z0-9-_.]{1,100}$`, the whole string, wherever a
name comes in (topic subscriptions and `to: /topics/NAME` of a push)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pushgate.errors import InvalidValue
from pushgate.pushes import TargetKind, parse_targets
from pushgate.services.topics import check_topics
from pushgate.validation import TOPIC_NAME
from tests.fuzz.budget import property_settings

ALLOWED = frozenset(string.ascii_letters + string.digits + "-_.")


def is_topic_name(name: str) -> bool:
    """The rule as docs/api.md words it, without a regular expression."""
    return 1 <= len(name) <= 100 and all(character in ALLOWED for character in name)


names = st.one_of(
    st.text(alphabet=st.sampled_from(sorted(ALLOWED)), min_size=0, max_size=102),
    st.text(max_size=110),
    # A valid name with something around it: the anchors are what is tested.
    st.tuples(st.sampled_from(["", "\n", " ", "\r\n", "\x00", "/", "é"]), st.text(alphabet=sorted(ALLOWED), min_size=1, max_size=100), st.sampled_from(["", "\n", " ", "\t", "\x00", "/", "ß"]))
    .map("".join),
)


@property_settings(2000)
@given(names)
def test_topic_name_pattern_is_exactly_the_documented_rule(name: str) -> None:
    assert bool(TOPIC_NAME.match(name)) is is_topic_name(name)


@property_settings(500)
@given(names)
def test_topic_subscriptions_take_exactly_the_valid_names(name: str) -> None:
    if is_topic_name(name):
        assert check_topics([name]) == [name]
    else:
        with pytest.raises(InvalidValue):
            check_topics([name])


@property_settings(500)
@given(names)
def test_push_topic_targets_take_exactly_the_valid_names(name: str) -> None:
    if is_topic_name(name):
        [target] = parse_targets(f"/topics/{name}")
        assert target.kind is TargetKind.TOPIC and target.topic == name
    else:
        try:
            targets = parse_targets(f"/topics/{name}")
        except InvalidValue:
            return
        # Only a name the topic pattern cannot start (empty) leaves the string a device token.
        assert [target.kind for target in targets] == [TargetKind.TOKENS] and name == ""


@pytest.mark.parametrize("name", ["news\n", "/topics/news\n"])
def test_a_final_newline_is_not_part_of_a_valid_name(name: str) -> None:
    """Finding: `$` also matches before a final newline, so "news\\n" passed for a topic name and
    "/topics/news\\n" targeted the topic "news"."""
    with pytest.raises(InvalidValue):
        if name.startswith("/topics/"):
            parse_targets(name)
        else:
            check_topics([name])
