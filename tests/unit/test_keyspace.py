"""Key ranges cut a topic into parts by device key: each device must fall in exactly one part, and
the DynamoDB bounds of a part must select exactly its devices."""

from __future__ import annotations

import random

import pytest

from pushgate import keyspace
from pushgate.identifiers import token_hash
from pushgate.keys import device_gsi_sk

HASHES = [token_hash(f"https://fcm.googleapis.com/wp/{i}") for i in range(2000)]


def test_digits_are_base64url_in_byte_order() -> None:
    assert len(set(keyspace.DIGITS)) == 64 and list(keyspace.DIGITS) == sorted(keyspace.DIGITS)
    assert all(char in keyspace.DIGITS for th in HASHES for char in th)


def test_prefix_and_position_are_inverse_and_keep_the_sort_order() -> None:
    rng = random.Random(7)
    positions = sorted(rng.randrange(keyspace.SPACE) for _ in range(500)) + [0, keyspace.SPACE - 1]
    assert all(keyspace.position(keyspace.prefix(p)) == p for p in positions)
    assert sorted(positions, key=keyspace.prefix) == sorted(positions)
    with pytest.raises(ValueError):
        keyspace.prefix(keyspace.SPACE)


def test_the_bounds_of_a_range_select_exactly_the_devices_in_it() -> None:
    rng = random.Random(11)
    ranges = [keyspace.WHOLE, (0, 1), (keyspace.SPACE - 1, keyspace.SPACE)]
    ranges += [tuple(sorted(rng.sample(range(keyspace.SPACE), 2))) for _ in range(200)]
    ranges += [(keyspace.position(th), keyspace.position(th) + 1) for th in HASHES[:50]]  # a device's own prefix
    for key_range in ranges:
        low, high = keyspace.sort_key_bounds(key_range)
        for th in HASHES:
            assert (low <= device_gsi_sk(th) <= high) == (key_range[0] <= keyspace.position(th) < key_range[1])


@pytest.mark.parametrize("parts", [1, 2, 3, 7, 100])
def test_split_parts_adjoin_and_cover_the_range(parts: int) -> None:
    for key_range in (keyspace.WHOLE, (5, 12), (1000, 1003)):
        pieces = keyspace.split(key_range, parts)
        assert pieces[0][0] == key_range[0] and pieces[-1][1] == key_range[1]
        assert all(a[1] == b[0] for a, b in zip(pieces, pieces[1:]))
        assert len(pieces) == min(parts, key_range[1] - key_range[0])
        sizes = [high - low for low, high in pieces]
        assert max(sizes) - min(sizes) <= 1


def test_devices_spread_evenly_over_the_parts() -> None:
    counts = [sum(low <= keyspace.position(th) < high for th in HASHES) for low, high in keyspace.split(keyspace.WHOLE, 4)]
    assert sum(counts) == len(HASHES)
    assert all(400 <= count <= 600 for count in counts)  # 500 expected, spread about 22
