"""The pyctcdecode side of benchmarks/decoding.py. Runs in its own virtual environment
(pyctcdecode 0.5 + kenlm pin numpy < 2), so it imports nothing from edgeasr.

Usage: VENV/bin/python benchmarks/decoding_pyctcdecode.py LOG_PROBS.npz --out OUT.json
           [--lm LM.arpa --alpha 0.5 --beta 1.0] [--beam-width 32] [--repeat 3]

Writes {"hypotheses": [...], "decode_seconds": s, "decode_cpu_seconds": s, "build_seconds": s,
"versions": {...}}; decode_seconds (wall clock) and decode_cpu_seconds (this process's CPU
time) cover the decode calls only (the decoder and the LM are built before).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("log_probs")
    parser.add_argument("--out", required=True)
    parser.add_argument("--lm")
    parser.add_argument("--alpha", type=float, default=0.5)
    parser.add_argument("--beta", type=float, default=1.0)
    parser.add_argument("--beam-width", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=1, help="decode the set this many "
                        "times and report the fastest (wall and CPU separately)")
    args = parser.parse_args()

    import pyctcdecode
    from pyctcdecode import build_ctcdecoder

    data = np.load(args.log_probs)
    meta = json.loads(str(data["meta"]))
    labels = ["" if i == meta["blank_index"] else t for i, t in enumerate(meta["tokens"])]
    started = time.perf_counter()
    decoder = build_ctcdecoder(labels, kenlm_model_path=args.lm, alpha=args.alpha,
                               beta=args.beta)
    build = time.perf_counter() - started
    arrays = [data[f"lp_{i}"] for i in range(len(meta["references"]))]
    seconds = cpu = float("inf")
    for _ in range(max(1, args.repeat)):
        started, used = time.perf_counter(), time.process_time()
        hyps = [decoder.decode(lp, beam_width=args.beam_width) for lp in arrays]
        seconds = min(seconds, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - used)
    with open(args.out, "w") as handle:
        json.dump({"hypotheses": hyps, "decode_seconds": seconds, "decode_cpu_seconds": cpu,
                   "build_seconds": build,
                   "versions": {"pyctcdecode": getattr(pyctcdecode, "__version__", "0.5"),
                                "numpy": np.__version__}}, handle)


if __name__ == "__main__":
    main()
