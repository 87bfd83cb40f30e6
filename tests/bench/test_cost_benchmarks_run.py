"""The DynamoDB cost benchmarks (bench/fanout_cost.py, bench/stale_sweep.py) at a tiny size: each
runs the real services to the end and prints its figures. No figure is asserted (they come from
the full runs, docs/performance.md and docs/lifecycle.md); this keeps the benchmarks runnable as
the code under them changes (a cap on devices per user once broke the fan-out benchmark's set-up)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN_TIMEOUT_SECONDS = 300


def run(script: str, *argv: str) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO / "layers/shared/python")])}
    result = subprocess.run([sys.executable, f"bench/{script}", *argv], cwd=REPO, env=env, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_SECONDS, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result.stdout


def test_the_fanout_cost_benchmark_runs_every_scenario() -> None:
    output = run("fanout_cost.py", "--devices", "24")  # more than one user may hold (20)
    summary = output[output.index("summary, $ per million deliveries"):]
    for scenario in ("first push after subscribing", "steady state", "first push of a later window", "before: first push"):
        assert scenario in summary, output[-3000:]


def test_the_stale_sweep_benchmark_runs_without_a_scan() -> None:
    output = run("stale_sweep.py", "--subscriptions", "400")
    assert "Scan requests: 0" in output and "DynamoDB cost per run: $" in output, output[-3000:]
