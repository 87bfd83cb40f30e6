"""What each fault test measures, and the table the suite prints at its end (conftest.py's
terminal summary; `python -m tests.faults.report` runs the suite for it).

Definitions (docs/security.md "Fault injection in the delivery pipeline"):
- lost: a targeted device that neither got the push (the push service accepted a request carrying
  its payload id) nor is counted failed or pruned on the push, nor is parked, once every queue is
  drained and every retry done.
- parked: a device of a message that SQS moved to its queue's dead-letter queue after
  maxReceiveCount failed receives: still pending on the push, behind the dead-letter alarm every
  queue has, and delivered when an operator redrives the queue (not lost, not yet counted).
- duplicated: a request with the same payload id accepted more than once for one device.
- wrongly pruned: a device whose subscription is expired although the push service never answered
  404/410 for it.
- counts off: how far the push's counters (sent + failed + pruned, and parked as pending) are from
  the devices targeted."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

# pytest-xdist workers and `python -m tests.faults.report` share the figures through this file.
FIGURES_FILE_ENV = "PUSHGATE_FAULT_FIGURES"


@dataclass(frozen=True)
class Figures:
    fault: str
    targeted: int
    delivered: int  # devices that got the push at least once
    lost: int
    duplicated: int
    wrongly_pruned: int
    counts_off: int
    parked: int = 0
    note: str = ""

    @property
    def clean(self) -> bool:
        return self.lost == 0 and self.duplicated == 0 and self.wrongly_pruned == 0 and self.counts_off == 0


_RECORDED: list[Figures] = []


def record(figures: Figures) -> Figures:
    _RECORDED.append(figures)
    path = os.environ.get(FIGURES_FILE_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as file:
            file.write(json.dumps(asdict(figures)) + "\n")
    return figures


def recorded() -> list[Figures]:
    return list(_RECORDED)


def read_figures_file(path: Path) -> list[Figures]:
    if not path.exists():
        return []
    return [Figures(**json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def table(rows: list[Figures]) -> str:
    header = ("fault", "targeted", "delivered", "lost", "duplicated", "wrongly pruned", "counts off", "parked", "note")
    cells = [header] + [
        (r.fault, str(r.targeted), str(r.delivered), str(r.lost), str(r.duplicated), str(r.wrongly_pruned), str(r.counts_off), str(r.parked), r.note)
        for r in rows
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)
