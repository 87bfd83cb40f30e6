"""`python -m tests.faults.report [pytest args]`: runs the fault-injection suite and prints the
table of its figures (what docs/security.md quotes). The figures come back through a file, so the
suite may run under pytest-xdist too (`python -m tests.faults.report -n 2`)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.faults.figures import FIGURES_FILE_ENV, read_figures_file, table

REPO = Path(__file__).resolve().parents[2]


def main(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as directory:
        figures_file = Path(directory) / "figures.jsonl"
        env = {**os.environ, FIGURES_FILE_ENV: str(figures_file)}
        command = [sys.executable, "-m", "pytest", "tests/faults", *(argv or ["-p", "no:xdist"])]
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
        rows = read_figures_file(figures_file)
    print(result.stdout.strip().splitlines()[-1] if result.stdout.strip() else result.stderr[-2000:])
    if result.returncode != 0:
        print(result.stdout[-6000:], file=sys.stderr)
    print(table(rows))
    violations = [row for row in rows if row.lost or row.wrongly_pruned]
    print(f"\n{len(rows)} rows; lost or wrongly pruned in {len(violations)} of them")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
