#!/usr/bin/env bash
# Train on the single LDC93S1 utterance until the int8 model, run by edgeasr-device,
# transcribes it exactly. Leaves OUT_DIR/ldc93s1_int8.tflite.
# Usage: recipes/ldc93s1/run.sh [SRC_DIR] [OUT_DIR]
#   SRC_DIR holds LDC93S1.wav and LDC93S1.txt (default: ../shared/data/ldc93s1 beside the repo)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
repo="$(cd "$here/../.." && pwd)"
src="${1:-$repo/../shared/data/ldc93s1}"
out="${2:-$repo/runs/ldc93s1}"
rounds="${LDC_ROUNDS:-5}"
mkdir -p "$out"

edgeasr prepare ldc93s1 --src "$src" --out "$out/data"
manifest="$out/data/ldc93s1.jsonl"
want="$(edgeasr normalize --file "$src/LDC93S1.txt")"
if [ -f "$out/run/run.json" ]; then
  edgeasr train --out "$out/run" --resume
else
  edgeasr train --train "$manifest" --dev "$manifest" --out "$out/run" --config "$here/config.yaml"
fi
epochs="$(python -c 'import json,sys; print(json.load(open(sys.argv[1]))["train"]["epochs"])' "$out/run/run.json")"
model="$out/ldc93s1_int8.tflite"
for round in $(seq 1 "$rounds"); do
  edgeasr export --run "$out/run" --out "$model" --quantize int8 --calibration "$manifest" --checkpoint last
  got="$(edgeasr-device transcribe --model "$model" "$src/LDC93S1.wav")"
  echo "want: $want"
  echo "got:  $got"
  if [ "$got" = "$want" ]; then
    echo "OK: the int8 model transcribes LDC93S1 exactly ($model)"
    exit 0
  fi
  epochs=$((epochs + 20))
  echo "not exact yet: training on to $epochs epochs (round $round of $rounds)"
  edgeasr train --out "$out/run" --resume --epochs "$epochs"
done
echo "FAILED: no exact transcript after $rounds rounds" >&2
exit 1
