"""Ranges of device keys, for cutting a topic's fan-out into parts that run side by side.

A device's key is its token hash, the base64url of a SHA-256 (`identifiers.token_hash`), so its
first characters are uniform: a range over the first PREFIX_CHARS characters holds its share of a
topic's subscribers, give or take the usual statistical spread. Ranges are [low, high) over the
integers those characters spell, digit by digit in DynamoDB's sort order (bytes)."""

from __future__ import annotations

import string

from pushgate.keys import device_gsi_sk

DIGITS = "".join(sorted(string.ascii_letters + string.digits + "-_"))  # base64url, in byte order
PREFIX_CHARS = 5
SPACE = len(DIGITS) ** PREFIX_CHARS  # about 1.07e9 prefixes
_AFTER_EVERY_DIGIT = "~"  # sorts after each of DIGITS

KeyRange = tuple[int, int]
WHOLE: KeyRange = (0, SPACE)


def prefix(position: int) -> str:
    """The PREFIX_CHARS characters at this position of the key space."""
    if not 0 <= position < SPACE:
        raise ValueError("outside the key space")
    chars = []
    for _ in range(PREFIX_CHARS):
        position, digit = divmod(position, len(DIGITS))
        chars.append(DIGITS[digit])
    return "".join(reversed(chars))


def position(token_hash: str) -> int:
    """Where a token hash falls in the key space (the inverse of `prefix` on its first characters)."""
    value = 0
    for char in token_hash[:PREFIX_CHARS]:
        value = value * len(DIGITS) + DIGITS.index(char)
    return value


def sort_key_bounds(key_range: KeyRange) -> tuple[str, str]:
    """Inclusive GSI1SK bounds (for BETWEEN) holding exactly the devices whose key is in the range."""
    low, high = key_range
    if not 0 <= low < high <= SPACE:
        raise ValueError("not a range of the key space")
    return device_gsi_sk(prefix(low)), device_gsi_sk(prefix(high - 1) + _AFTER_EVERY_DIGIT)


def share(key_range: KeyRange) -> float:
    low, high = key_range
    return (high - low) / SPACE


def split(key_range: KeyRange, parts: int) -> list[KeyRange]:
    """`parts` adjoining ranges covering `key_range`, as equal as integers allow."""
    low, high = key_range
    parts = max(1, min(parts, high - low))
    cuts = [low + (high - low) * i // parts for i in range(parts + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(parts)]
