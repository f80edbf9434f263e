#!/usr/bin/env bash
# Real speech end to end: prepare FSDD (speaker-disjoint) -> train the small model with the
# default augmentation -> export int8 -> WER of Keras and int8 TFLite on the unseen speaker.
# Usage: recipes/fsdd/run.sh [SRC_DIR] [OUT_DIR]
#   SRC_DIR: the FSDD folder holding recordings/ (default ../shared/data/fsdd beside the repo)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
repo="$(cd "$here/../.." && pwd)"
src="${1:-$repo/../shared/data/fsdd}"
out="${2:-$repo/runs/fsdd}"
config="${CONFIG:-$here/config.yaml}"
mkdir -p "$out"

edgeasr prepare fsdd --src "$src" --out "$out/data"
if [ -f "$out/run/run.json" ]; then
  edgeasr train --out "$out/run" --resume
else
  edgeasr train --train "$out/data/train.jsonl" --dev "$out/data/dev.jsonl" --out "$out/run" --config "$config"
fi
edgeasr export --run "$out/run" --out "$out/fsdd_int8.tflite" --quantize int8
edgeasr evaluate --model "$out/run" --model "$out/fsdd_int8.tflite" \
  --manifest "$out/data/dev.jsonl" --manifest "$out/data/test.jsonl" --report "$out/wer_report.json"
