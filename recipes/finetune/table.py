"""Markdown table of a fine-tuning recipe's runs: dev WER/CER, trainable and total parameters,
wall time, int8 size. Usage: table.py [--epoch K] OUT_DIR NAME...

Reads OUT/before.json, OUT/NAME/state.json, OUT/NAME.log and
OUT/NAME_int8.tflite. WER/CER are the best epoch's, or with ``--epoch K`` those after epoch K
(to compare runs stopped at different points); wall time is scaled to the epochs shown.
"""

import json
import re
import sys
from pathlib import Path

args = sys.argv[1:]
at_epoch = None
if args[:1] == ["--epoch"]:
    at_epoch, args = int(args[1]), args[2:]
out = Path(args[0])
print("| run | dev WER | dev CER | trainable / total parameters | wall time | int8 size |")
print("|---|---|---|---|---|---|")
before = out / "before.json"
if before.exists():
    report = json.loads(before.read_text())
    print(f"| initial model, no training | {100 * report['wer']:.1f}% | {100 * report['cer']:.1f}% "
          "| - | - | - |")
for name in args[1:]:
    state = json.loads((out / name / "state.json").read_text())
    history = {h["epoch"]: h for h in state.get("history", [])}
    if at_epoch is not None:
        row, label = history.get(at_epoch, {}), f"after epoch {at_epoch}"
    else:
        best = state.get("best") or {}
        row, label = history.get(best.get("epoch"), {}), f"best: epoch {best.get('epoch')}"
    log = (out / f"{name}.log").read_text(errors="replace") if (out / f"{name}.log").exists() else ""
    found = re.search(r"\(([\d,]+) trainable of ([\d,]+) parameters", log)
    params = f"{found.group(1)} / {found.group(2)}" if found else "?"
    seconds = sum(h.get("epoch_seconds", 0) for e, h in history.items()
                  if at_epoch is None or e <= (at_epoch or 0))
    wall = f"{seconds / 60:.1f} min" if seconds else "?"
    model = out / f"{name}_int8.tflite"
    size = f"{model.stat().st_size / 1e6:.2f} MB" if model.exists() else "-"
    wer = f"{100 * row['dev_wer']:.1f}%" if "dev_wer" in row else "?"
    cer = f"{100 * row['dev_cer']:.1f}%" if "dev_cer" in row else "?"
    print(f"| {name} ({label} of {state.get('epoch', 0)}) | {wer} | {cer} | {params} | {wall} "
          f"| {size} |")
print("\nwall time: the sum of the epochs' training + dev-evaluation seconds (log.csv)")
