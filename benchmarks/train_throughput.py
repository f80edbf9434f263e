"""Training throughput per model preset: audio seconds trained per wall second, peak memory.

Usage: [KERAS_BACKEND=jax|tensorflow|torch] python benchmarks/train_throughput.py
           [--preset NAME ...] [--batch 8] [--seconds 10] [--steps 6] [--warmup 2]
           [--precision float32|mixed_bfloat16|mixed_float16] [--timeout S] [--json OUT]

Each preset runs in its own child process (a clean peak-memory figure and a clean Keras
state): the real ``CTCModel`` with its CTC loss, AdamW, on random audio (``--batch``
utterances of ``--seconds`` s, labels of a plausible length for that much speech: 15
characters per second). The first ``--warmup`` steps (graph tracing, XLA compilation) are
timed apart; the figure is ``batch x seconds x steps / time`` over the next ``--steps``.
Peak memory is the child's maximum resident set size and, on an accelerator, the device's
own peak; TFLOP/s is ``6 x MACs per audio second x audio s/s`` (a training step is about
three forward passes; MACs from ``edgeasr.models.cost`` at ``--seconds``), to set beside the
chip's peak.

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
    from edgeasr.models.cost import model_cost

    macs = model_cost(config, seconds).macs_per_second
    audio_rate = batch * seconds * steps / elapsed
    return {"preset": preset, "backend": keras.backend.backend(), "precision": precision,
            "device": _device_name(), "accelerator_peak_mb": _accelerator_peak_mb(),
            # a training step costs about 3 forward passes, 2 FLOPs per multiply-accumulate
            "train_tflops": round(6 * macs * audio_rate / 1e12, 2),
            "parameters": int(model.count_params()), "batch": batch, "seconds": seconds,
            "steps": steps, "first_steps_s": round(compile_s, 2),
            "step_s": round(elapsed / steps, 3),
            "audio_s_per_s": round(audio_rate, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
            "loss_finite": bool(np.isfinite(loss))}


def _device_name() -> str:
    """What the backend trains on: ``cpu`` or the accelerator's name."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        device = jax.devices()[0]
        return "cpu" if device.platform == "cpu" else str(device.device_kind)
    if keras.backend.backend() == "torch":
        import torch

        return torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return gpus[0].name if gpus else "cpu"


def _accelerator_peak_mb() -> int | None:
    """Peak accelerator memory of this process (None on a CPU)."""
    import keras

    if keras.backend.backend() == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() or {}
        peak = stats.get("peak_bytes_in_use")
    elif keras.backend.backend() == "torch":
        import torch

        peak = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else None
    else:
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        peak = tf.config.experimental.get_memory_info("GPU:0")["peak"] if gpus else None
    return None if not peak else round(peak / 2**20)


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
    parser.add_argument("--timeout", type=float, help="Seconds one preset may take.")
    parser.add_argument("--json", help="Write the rows here too.")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        row = measure(args.child, args.batch, args.seconds, args.steps, args.warmup,
                      args.precision)
        print(json.dumps(row))
        return
    rows = []
    print(f"| preset | backend | device | precision | params | batch x s | first {args.warmup} "
          f"steps s | s/step | audio s/s | TFLOP/s | peak RSS MB | accelerator peak MB |")
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for preset in args.preset or list(PRESETS):
        command = [sys.executable, __file__, "--child", preset, "--batch", str(args.batch),
                   "--seconds", str(args.seconds), "--steps", str(args.steps),
                   "--warmup", str(args.warmup), "--precision", args.precision]
        try:
            done = subprocess.run(command, capture_output=True, text=True, env=os.environ,
                                  timeout=args.timeout)
        except subprocess.TimeoutExpired:
            print(f"| {preset} | timed out after {args.timeout:g} s |||||||||||", flush=True)
            continue
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            print(f"| {preset} | failed: {tail} |||||||||||", flush=True)
            continue
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append(row)
        print(f"| {preset} | {row['backend']} | {row['device']} | {row['precision']} | "
              f"{row['parameters'] / 1e6:.2f} M | {row['batch']} x {row['seconds']:g} | "
              f"{row['first_steps_s']} | {row['step_s']} | {row['audio_s_per_s']} | "
              f"{row['train_tflops']} | {row['peak_rss_mb']} | "
              f"{row['accelerator_peak_mb'] or '-'} |", flush=True)
        if args.json:  # after every preset: a run cut short keeps what it measured
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
