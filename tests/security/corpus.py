"""The hostile push-endpoint corpus (hostile_endpoints.json): one entry per form, with what it tries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

CORPUS_FILE = Path(__file__).with_name("hostile_endpoints.json")


@dataclass(frozen=True)
class HostileEndpoint:
    endpoint: str
    tries: str

    def __str__(self) -> str:  # pytest ids and failure lists show the label, not control characters
        return self.tries


def hostile_endpoints() -> list[HostileEndpoint]:
    entries = json.loads(CORPUS_FILE.read_text(encoding="utf-8"))["endpoints"]
    return [HostileEndpoint(entry["endpoint"], entry["tries"]) for entry in entries]
