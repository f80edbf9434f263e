#!/usr/bin/env bash
# Fine-tuning recipe: one trained model -> a new target set, four ways (full, transfer, LoRA)
# and from scratch on the same data; dev WER on held-out speakers before and after, trainable
# parameters, wall time and int8 model size (table.py prints the table).
# Usage: recipes/finetune/run.sh [INIT_RUN] [OUT_DIR]
#   INIT_RUN: the model to start from (default runs/synthetic/run, from scripts/demo.sh)
# Environment: TARGET=speechocean762 (default, Kaldi dir in ../shared/data) or fsdd;
#   EPOCHS (12), TRAIN_UTTERANCES (300), DEV_UTTERANCES (100), MAX_SECONDS (3): a CPU-sized
#   subset, drawn with a fixed seed; EXPORT=0 skips the int8 exports.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
repo="$(cd "$here/../.." && pwd)"
shared="$repo/../shared/data"
init="${1:-$repo/runs/synthetic/run}"
out="${2:-$repo/runs/finetune}"
target="${TARGET:-speechocean762}"
epochs="${EPOCHS:-12}"
mkdir -p "$out"

case "$target" in
  speechocean762) edgeasr prepare kaldi --src "$shared/speechocean762" --out "$out/data" ;;
  fsdd) edgeasr prepare fsdd --src "$shared/fsdd" --out "$out/data" ;;
  *) echo "TARGET must be speechocean762 or fsdd" >&2; exit 2 ;;
esac
# The subset: utterances up to MAX_SECONDS, a seeded sample of train; dev stays speaker-disjoint.
python "$here/subset.py" "$out/data/train.jsonl" "$out/train_subset.jsonl" \
  "${TRAIN_UTTERANCES:-300}" "${MAX_SECONDS:-3}"
python "$here/subset.py" "$out/data/dev.jsonl" "$out/dev_subset.jsonl" \
  "${DEV_UTTERANCES:-100}" "${MAX_SECONDS:-3}"

edgeasr evaluate --model "$init" --manifest "$out/dev_subset.jsonl" --report "$out/before.json"

train_one() {  # NAME [train options...]: resumable
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

train_one scratch --preset small
train_one full --init "$init"
train_one transfer --init "$init" --freeze 'encoder/input_norm' --freeze 'encoder/prologue*' \
  --freeze 'encoder/blocks/[0-2]'
train_one lora --init "$init" --lora 8
python "$here/table.py" "$out" scratch full transfer lora
