"""benchmarks/train_throughput.py (what scripts/gpu_bench.sh runs on a lent GPU) measures a
preset in its own process and writes every row as soon as it has it."""

from __future__ import annotations

import json
import subprocess
import sys

from support import REPO


def test_throughput_rows_have_the_figures_the_gpu_tables_need(tmp_path):
    out = tmp_path / "rows.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "benchmarks/train_throughput.py"), "--preset", "tiny",
         "--preset", "no-such-preset", "--batch", "2", "--seconds", "1", "--steps", "1",
         "--warmup", "1", "--timeout", "300", "--json", str(out)],
        check=False, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert lines[1].startswith("| tiny | ") and lines[2].startswith("| no-such-preset | failed")
    (row,) = json.loads(out.read_text())
    assert row["preset"] == "tiny" and row["device"] == "cpu" and row["loss_finite"]
    assert row["audio_s_per_s"] > 0 and row["train_tflops"] >= 0
    assert row["accelerator_peak_mb"] is None  # no accelerator here
