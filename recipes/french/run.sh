#!/usr/bin/env bash
# A second language: French IVR prompts (Asterisk, one voice) by transfer learning from an
# English model (English encoder kept, new classifier for the French alphabet with its
# accents) and the same data from scratch; French dev WER/CER (table.py).
# Usage: recipes/french/run.sh [ENGLISH_RUN] [OUT_DIR]
#   ENGLISH_RUN: default runs/synthetic/run (scripts/demo.sh)
# Environment: EPOCHS (12), TRAIN_UTTERANCES (300), DEV_UTTERANCES (40), MAX_SECONDS (3),
#   EXPORT=0 skips the int8 exports.
# One voice only: the split is by utterance, so dev has no held-out speaker.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
repo="$(cd "$here/../.." && pwd)"
init="${1:-$repo/runs/synthetic/run}"
out="${2:-$repo/runs/french}"
epochs="${EPOCHS:-12}"
mkdir -p "$out"

edgeasr prepare table --language fr --src "$repo/../shared/data/asterisk-prompts-fr/prompts.tsv" \
  --out "$out/data"
subset="$here/../finetune/subset.py"
python "$subset" "$out/data/train.jsonl" "$out/train_subset.jsonl" "${TRAIN_UTTERANCES:-300}" "${MAX_SECONDS:-3}"
python "$subset" "$out/data/dev.jsonl" "$out/dev_subset.jsonl" "${DEV_UTTERANCES:-40}" "${MAX_SECONDS:-3}"

train_one() {  # NAME [train options...]
  local name="$1"; shift
  if [ -f "$out/$name/run.json" ]; then
    edgeasr train --out "$out/$name" --resume | tee -a "$out/$name.log"
  else
    edgeasr train --train "$out/train_subset.jsonl" --dev "$out/dev_subset.jsonl" \
      --out "$out/$name" --epochs "$epochs" --batch-size 16 "$@" | tee "$out/$name.log"
  fi
  if [ "${EXPORT:-1}" != 0 ] && [ ! -f "$out/${name}_int8.tflite" ]; then
    edgeasr export --run "$out/$name" --out "$out/${name}_int8.tflite" --quantize int8
  fi
}

train_one transfer --init "$init" --new-vocabulary fr --freeze 'encoder/input_norm' \
  --freeze 'encoder/prologue*' --freeze 'encoder/blocks/[0-1]'
train_one scratch --preset small --language fr
python "$here/../finetune/table.py" "$out" transfer scratch
