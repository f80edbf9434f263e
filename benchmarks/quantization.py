"""Size, WER and device speed of one training run exported in every quantisation mode.

Usage: python benchmarks/quantization.py RUN_DIR OUT_DIR --manifest TEST.jsonl [--manifest ...]
           [--calibration M.jsonl] [--seconds 10] [--runs 5]

Prints a markdown table (paste into docs/benchmarks.md) and writes OUT_DIR/quantization.json.
Timings are 1 interpreter thread on this machine, all modes measured in the same process,
one after another.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir")
    parser.add_argument("out_dir")
    parser.add_argument("--manifest", action="append", required=True)
    parser.add_argument("--calibration")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from edgeasr.evaluation.evaluate import evaluate
    from edgeasr_device.bench import run_bench
    from edgeasr_export.exporter import export_run

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    keras_wer = {m: evaluate(args.run_dir, m).rates.wer for m in args.manifest}
    for mode in ("float32", "float16", "dynamic", "int8"):
        report = export_run(args.run_dir, out / f"model_{mode}.tflite", mode, args.calibration)
        wers = {m: evaluate(report.path, m).rates.wer for m in args.manifest}
        bench = run_bench(str(report.path), seconds=args.seconds, threads=1, runs=args.runs)
        rows.append({"mode": mode, "size_bytes": report.size_bytes, "wer": wers,
                     "rtf": bench.rtf_median, "network_ms": bench.network_ms_median,
                     "peak_rss_mb": bench.peak_rss_mb,
                     "parity_max_delta": report.parity.max_abs_delta if report.parity else None})
    names = [Path(m).stem for m in args.manifest]
    print(f"| model | size | {' | '.join(f'WER {n}' for n in names)} | RTF (1 thread, {args.seconds:.0f} s) |")
    print("|---|---:|" + "---:|" * len(names) + "---:|")
    print(f"| Keras (float32) | - | " + " | ".join(f"{100 * keras_wer[m]:.2f}%" for m in args.manifest) + " | - |")
    for row in rows:
        cells = " | ".join(f"{100 * row['wer'][m]:.2f}%" for m in args.manifest)
        print(f"| TFLite {row['mode']} | {row['size_bytes'] / 1e6:.2f} MB | {cells} | {row['rtf']:.4f} |")
    (out / "quantization.json").write_text(json.dumps({"keras_wer": keras_wer, "modes": rows}, indent=2))


if __name__ == "__main__":
    main()
