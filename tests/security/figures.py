"""The figures the security tests measure, printed as tables at the end of every run of
tests/security (conftest.py's terminal summary), so the numbers in docs/security.md come from a
command anyone can run: `.venv/bin/python -m pytest tests/security -p no:xdist`."""

from __future__ import annotations

from collections import defaultdict

_TABLES: defaultdict[str, list[dict[str, object]]] = defaultdict(list)


def record(table: str, **row: object) -> None:
    _TABLES[table].append(row)


def tables() -> dict[str, list[dict[str, object]]]:
    return {name: list(rows) for name, rows in _TABLES.items()}


def render(rows: list[dict[str, object]]) -> str:
    header = list(rows[0])
    cells = [header] + [[str(row[column]) for column in header] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = ["| " + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)) + " |" for row in cells]
    lines.insert(1, "|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)
