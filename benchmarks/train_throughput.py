"""Training throughput per model preset: audio seconds trained per wall second, peak memory.

Usage: [KERAS_BACKEND=jax|tensorflow|torch] python benchmarks/train_throughput.py
           [--preset NAME ...] [--batch 8] [--seconds 10] [--steps 6] [--warmup 2]
           [--precision float32|mixed_bfloat16|mixed_float16] [--json OUT]

Each preset runs in its own child process (a clean peak-memory figure and a clean Keras
state): the real ``CTCModel`` with its CTC loss, AdamW, on random audio (``--batch``
utterances of ``--seconds`` s, labels of a plausible length for that much speech: 15
characters per second). The first ``--warmup`` steps (graph tracing, XLA compilation) are
timed apart; the figure is ``batch x seconds x steps / time`` over the next ``--steps``.
Peak memory is the child's maximum resident set size (on a GPU the device's own figure is
what matters: see the GPU section of docs/benchmarks.md).

The numbers depend on the machine and on what else runs on it: compare presets within one
run, and quote the command with them.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

CHARS_PER_SECOND = 15


def measure(preset: str, batch: int, seconds: float, steps: int, warmup: int,
            precision: str) -> dict:
    """Train ``preset`` on random batches in this process; the figures."""
    import keras
    import numpy as np

    from edgeasr.models.presets import get_preset
    from edgeasr.runs import build_model
    from edgeasr_device.vocab import Vocabulary

    keras.mixed_precision.set_dtype_policy(precision)
    vocabulary = Vocabulary.english()
    config = get_preset(preset)
    model = build_model(config, vocabulary, seed=0)
    model.compile(optimizer=keras.optimizers.AdamW(1e-4, clipnorm=5.0),
                  jit_compile=keras.backend.backend() == "jax")
    rng = np.random.default_rng(0)
    samples = int(seconds * config.frontend.sample_rate)
    labels = int(seconds * CHARS_PER_SECOND)
    x = {"audio": (0.1 * rng.standard_normal((batch, samples))).astype(np.float32),
         "audio_lengths": np.full((batch,), samples, np.int32)}
    y = {"labels": rng.integers(1, vocabulary.size, (batch, labels)).astype(np.int32),
         "label_lengths": np.full((batch,), labels, np.int32)}
    started = time.perf_counter()
    for _ in range(warmup):
        loss = model.train_on_batch(x, y)
    compile_s = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(steps):
        loss = model.train_on_batch(x, y)
    elapsed = time.perf_counter() - started
    loss = float(np.asarray(loss).reshape(-1)[0])
    return {"preset": preset, "backend": keras.backend.backend(), "precision": precision,
            "parameters": int(model.count_params()), "batch": batch, "seconds": seconds,
            "steps": steps, "first_steps_s": round(compile_s, 2),
            "step_s": round(elapsed / steps, 3),
            "audio_s_per_s": round(batch * seconds * steps / elapsed, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "loss_finite": bool(np.isfinite(loss))}


def main() -> None:
    from edgeasr.models.presets import PRESETS

    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", action="append", help="Default: every preset.")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--precision", default="float32",
                        choices=["float32", "mixed_bfloat16", "mixed_float16"])
    parser.add_argument("--json", help="Write the rows here too.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        row = measure(args.child, args.batch, args.seconds, args.steps, args.warmup,
                      args.precision)
        print(json.dumps(row))
        return
    rows = []
    print(f"| preset | backend | precision | params | batch x s | first {args.warmup} steps s "
          f"| s/step | audio s/s | peak RSS MB |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for preset in args.preset or list(PRESETS):
        command = [sys.executable, __file__, "--child", preset, "--batch", str(args.batch),
                   "--seconds", str(args.seconds), "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--precision", args.precision]
        done = subprocess.run(command, capture_output=True, text=True, env=os.environ)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            print(f"| {preset} | failed: {tail} |||||||")
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"| {preset} | {row['backend']} | {row['precision']} | "
              f"{row['parameters'] / 1e6:.2f} M | {row['batch']} x {row['seconds']:g} | "
              f"{row['first_steps_s']} | {row['step_s']} | {row['audio_s_per_s']} | "
              f"{row['peak_rss_mb']} |", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
