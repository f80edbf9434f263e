#!/usr/bin/env bash
# The embedded default, end to end, on the CPU: synthesise -> train -> export int8 ->
# transcribe both test sets with the device runtime -> WER table (Keras vs int8 TFLite).
# Exits non-zero if the int8 model's WER on unseen voice variants is above MAX_WER (10%).
# Usage: recipes/synthetic/run.sh [OUT_DIR]     (from any shell: ../env.sh finds or makes the venv)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
out="${1:-runs/synthetic}"
config="${CONFIG:-$here/config.yaml}"
max_wer="${MAX_WER:-0.10}"
mkdir -p "$out"
start=$(date +%s)

echo "== 1/4 synthesise the corpus (espeak-ng) into $out/data"
edgeasr prepare synthetic --config "$config" --out "$out/data" --workers "${WORKERS:-2}"

echo "== 2/4 train"
if [ -f "$out/run/run.json" ]; then
  edgeasr train --out "$out/run" --resume   # an interrupted run continues; a finished one is kept
else
  edgeasr train --train "$out/data/train.jsonl" --dev "$out/data/dev.jsonl" --out "$out/run" --config "$config"
fi
trained=$(date +%s)

echo "== 3/4 export int8"
edgeasr export --run "$out/run" --out "$out/model_int8.tflite" --quantize int8

echo "== 4/4 evaluate: Keras model vs int8 TFLite (device runtime), per test split"
edgeasr evaluate --model "$out/run" --model "$out/model_int8.tflite" \
  --manifest "$out/data/test_variants.jsonl" --manifest "$out/data/test_accents.jsonl" \
  --report "$out/wer_report.json"
echo "sample (edgeasr-device, int8):"
first=$(head -n 1 "$out/data/test_accents.jsonl" | python -c 'import json,sys; print(json.load(sys.stdin)["audio_filepath"])')
edgeasr-device transcribe --model "$out/model_int8.tflite" --json "$out/data/$first"
echo "training took $((trained - start)) s; everything took $(( $(date +%s) - start )) s"
echo "== gate: int8 WER on unseen voice variants must be <= $max_wer"
edgeasr evaluate --model "$out/model_int8.tflite" --manifest "$out/data/test_variants.jsonl" --max-wer "$max_wer"
