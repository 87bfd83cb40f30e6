"""`make load` (bench/load/run.py) at a tiny size: it starts its own local stack and push service,
runs every surface's subscribe load and one topic push, prints each figure, and nothing fails.
No figure is asserted: speeds come from the full run (docs/load-test.md), not from tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.load.surfaces import SURFACE_NAMES

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT_SECONDS = 400
SUBSCRIBERS = 20


def test_a_tiny_load_run_completes_with_every_figure_and_no_error(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "src"), str(REPO / "layers/shared/python")])}
    result = subprocess.run(
        # 8 s, not less: on a loaded machine locust's users may all be running only seconds after
        # the start, and the stats are reset then; a shorter run left surfaces with no row at all.
        [sys.executable, "-m", "bench.load.run", "--duration", "8", "--rate", "8", "--identities", "4",
         "--subscribers", str(SUBSCRIBERS), "--work-dir", str(tmp_path)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=SMOKE_TIMEOUT_SECONDS, check=False,
    )
    output = result.stdout
    assert result.returncode == 0, output + result.stderr + (tmp_path / "locust.log").read_text(errors="replace")[-3000:]
    rows = {line.split("  ")[0].strip(): line.split() for line in output.splitlines() if line.split("  ")[0].strip() in SURFACE_NAMES}
    assert set(rows) == set(SURFACE_NAMES)
    for name, columns in rows.items():
        requests_made, errors = int(columns[-5]), int(columns[-4])
        assert requests_made > 0 and errors == 0, (name, output)
    assert f"{SUBSCRIBERS} endpoints reached, {SUBSCRIBERS} requests" in output
    assert "every device has its message: " in output and "not within the timeout" not in output
    assert '"sent": 20' in output and '"failed": 0' in output
    assert output.rstrip().endswith("errors: 0; fan-out complete")
