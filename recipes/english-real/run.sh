#!/usr/bin/env bash
# english-real: the best English model this machine trains from real speech (speechocean762,
# FSDD, the Asterisk prompts) plus synthetic speech (every installed TTS engine), with the
# real noise recordings mixed in -> int8 export -> dev WER per source, greedy and with an LM.
# Usage: recipes/english-real/run.sh [DATA_DIR] [OUT_DIR]
#   DATA_DIR: the folder holding speechocean762/ fsdd/ asterisk-prompts/ noise/ text/
#             (default ../shared/data beside the repo); OUT_DIR default runs/english-real.
# Knobs: CONFIG (training YAML, default config.yaml here), EPOCHS (a new total for the
# current stage: its learning rate goes on decaying from where it is, for a run stopped
# early), MORE_EPOCHS (after a finished stage: a warm restart for N more epochs, a new stage
# run-2, run-3, ... fine-tuned from the last one's final epoch), LR (a MORE_EPOCHS stage's
# peak learning rate, default the config's), FREEZE (glob patterns of layers a MORE_EPOCHS
# stage keeps frozen, space-separated: '*norm*' keeps every batch norm's statistics, for a
# stage from an imported file; docs/benchmarks.md, "Stage 8"), NUM_FAST / NUM_SLOW
# (synthetic utterances from espeak+flite / piper+festival), FSDD_REPEAT (times FSDD's
# training part is in train.jsonl, default 2), DIGIT_STRINGS (connected digit strings glued
# from FSDD's training recordings, default 800), NONSPEECH (non-speech clips with empty text
# cut from the first 70% of each noise recording, which is then all the augmentation mixes
# in; default 300; 0 leaves them out and mixes in the whole recordings, as stages 1-3 of
# the shipped model did), WORKERS (synthesis processes), MARGIN (seconds of silence the
# exported file asks to be decoded between, default 0.2), AVERAGE=N (export the mean of the
# stage's last N epochs and, for a warm restart, the checkpoint it started from, instead of
# its best epoch: `edgeasr average`), DATA_ONLY=1 (stop after step 3: the manifests, e.g. to
# carry them to another machine).
# Rerunning with the same OUT_DIR reuses every finished step and resumes training.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/../env.sh"
repo="$(cd "$here/../.." && pwd)"
data="$(cd "${1:-$repo/../shared/data}" && pwd)"
out="$(mkdir -p "${2:-$repo/runs/english-real}" && cd "${2:-$repo/runs/english-real}" && pwd)"
config="${CONFIG:-$here/config.yaml}"
workers="${WORKERS:-2}"
step() { python "$here/data.py" "$@"; }
d="$out/data"
mkdir -p "$d"

echo "== 1/6 real speech: speechocean762 (speaker-disjoint), FSDD (by index), Asterisk prompts"
[ -f "$d/so762/prepare_report.json" ] || edgeasr prepare kaldi --src "$data/speechocean762" --out "$d/so762"
[ -f "$d/fsdd_prepared/prepare_report.json" ] || edgeasr prepare fsdd --src "$data/fsdd" --out "$d/fsdd_prepared"
[ -f "$d/fsdd/dev.jsonl" ] || step fsdd-split "$d/fsdd_prepared" "$d/fsdd"
[ -f "$d/digits/digits_dev.jsonl" ] || step digit-strings "$d/fsdd/dev.jsonl" "$d/digits" 200 0
# The same kind of strings from FSDD's training recordings, for training (stage 3 on).
[ -f "$d/digits/digits_train.jsonl" ] || step digit-strings "$d/fsdd/train.jsonl" "$d/digits" \
  "${DIGIT_STRINGS:-800}" 1 digits_train
if [ ! -f "$d/asterisk.jsonl" ]; then  # one voice: training only, all of it
  edgeasr prepare table --src "$data/asterisk-prompts" --out "$d/asterisk_prepared" --no-speaker-disjoint
  step combine "$d/asterisk.jsonl" "$d/asterisk_prepared/train.jsonl" \
    "$d/asterisk_prepared/dev.jsonl" "$d/asterisk_prepared/test.jsonl"
fi

echo "== 2/6 synthetic speech: LJSpeech + Home Assistant sentences, commands, digit strings"
if [ ! -f "$d/synth_texts.txt" ]; then
  if python -c "import home_assistant_intents, hassil" 2>/dev/null; then
    python "$here/ha_sentences.py" "$d/ha_sentences.txt" 200
  else
    echo "skipping Home Assistant sentences: pip install home-assistant-intents hassil" >&2
    : > "$d/ha_sentences.txt"
  fi
  step texts "$d/synth_texts.txt" "$data/text/ljspeech_sentences.txt" "$d/ha_sentences.txt" 20
fi
# Fast engines (espeak, flite) for volume, slow natural ones (piper, festival) for quality;
# engines that are not installed are skipped and named.
[ -f "$d/synth_fast.yaml" ] || step synth-config "$d/synth_fast.yaml" "$d/synth_texts.txt" "${NUM_FAST:-3000}" 0 espeak flite
[ -f "$d/synth_slow.yaml" ] || step synth-config "$d/synth_slow.yaml" "$d/synth_texts.txt" "${NUM_SLOW:-1000}" 1 piper festival
synth=()
for part in fast slow; do
  if grep -q "engines: \[\]" "$d/synth_$part.yaml"; then continue; fi
  edgeasr prepare synthetic --config "$d/synth_$part.yaml" --out "$d/synth_$part" --workers "$workers"
  synth+=("$d/synth_$part/train.jsonl")
done

echo "== 3/6 manifests: train = real + synthetic (+ non-speech); dev = speechocean762 dev speakers + FSDD 5-9"
noise="$data/noise"
nonspeech=()
if [ "${NONSPEECH:-300}" -gt 0 ]; then  # the noise recordings' last 30% stay unheard
  [ -f "$d/nonspeech/nonspeech_train.jsonl" ] || step nonspeech "$data/noise" "$d/nonspeech" "${NONSPEECH:-300}" 0
  noise="$d/nonspeech/noise_train"
  nonspeech=("$d/nonspeech/nonspeech_train.jsonl")
fi
step combine "$d/train_real.jsonl" "$d/so762/train.jsonl" "$d/fsdd/train.jsonl" "$d/asterisk.jsonl"
repeat=$(( ${FSDD_REPEAT:-2} - 1 ))  # digits are a goal and 3% of the audio: FSDD twice
step combine "$d/train.jsonl" "$d/train_real.jsonl" "$d/fsdd/train.jsonlx$repeat" \
  "$d/digits/digits_train.jsonl" "${synth[@]}" "${nonspeech[@]}"
step combine "$d/dev.jsonl" "$d/so762/dev.jsonl" "$d/fsdd/dev.jsonl"
if [ -n "${DATA_ONLY:-}" ]; then echo "DATA_ONLY: the manifests are in $d"; exit 0; fi

echo "== 4/6 train ($config; real noise from $noise)"
sed "s#\.\./shared/data/noise#$noise#" "$config" > "$out/config.yaml"
# Stages: run, run-2, run-3, ... Each later stage is a warm restart: a full fine-tune of the
# previous stage's last epoch with a fresh warm-up + cosine schedule (MORE_EPOCHS=N starts
# one once the current stage has finished). EPOCHS=N instead stretches the current stage's
# own schedule to N epochs (its rate goes on decaying from where it is).
stage=run
for k in $(seq 2 99); do [ -f "$out/run-$k/run.json" ] && stage="run-$k"; done
finished() {  # the current stage has trained all the epochs its run.json asks for
  python -c "import json, sys; state, info = (json.load(open(p)) for p in sys.argv[1:])
sys.exit(state.get('epoch', 0) < info['train']['epochs'])" \
    "$out/$stage/state.json" "$out/$stage/run.json" 2>/dev/null
}
if [ -n "${MORE_EPOCHS:-}" ] && [ -f "$out/$stage/run.json" ] && finished; then
  if [ "$stage" = run ]; then next=run-2; else next="run-$(( ${stage#run-} + 1 ))"; fi
  last=$(python -c "import json,sys; print(json.load(open(sys.argv[1]))['last'])" "$out/$stage/state.json")
  step stage-config "$out/config.yaml" "$out/$next.yaml" "$MORE_EPOCHS"
  options=(${LR:+--lr "$LR"})  # run.json records the rate, so --resume keeps it
  read -r -a patterns <<< "${FREEZE:-}"  # split on spaces, never globbed against files here
  for pattern in "${patterns[@]}"; do options+=(--freeze "$pattern"); done
  edgeasr train --train "$d/train.jsonl" --dev "$d/dev.jsonl" --out "$out/$next" \
    --config "$out/$next.yaml" --init "$out/$stage/checkpoints/$last" "${options[@]}"
  stage="$next"
elif [ -f "$out/$stage/run.json" ]; then
  edgeasr train --out "$out/$stage" --resume ${EPOCHS:+--epochs "$EPOCHS"}
else
  edgeasr train --train "$d/train.jsonl" --dev "$d/dev.jsonl" --out "$out/run" \
    --config "$out/config.yaml" ${EPOCHS:+--epochs "$EPOCHS"}
fi

echo "== 5/6 export int8 (calibrated on real training speech) + LM from the training text"
# --margin: the file asks the device to decode each utterance between 0.2 s of silence, so
# clips cut tight keep their first and last sounds (chosen on dev: docs/benchmarks.md,
# "Silence margins").
checkpoint=best
if [ -n "${AVERAGE:-}" ]; then  # docs/benchmarks.md, "Checkpoint averaging"
  init=$(python -c "import json, sys
print((json.load(open(sys.argv[1]))['train'].get('finetune') or {}).get('init') or '')" \
    "$out/$stage/run.json")
  edgeasr average --run "$out/$stage" --last "$AVERAGE" ${init:+--checkpoint "$init"} --name average
  checkpoint=average
fi
edgeasr export --run "$out/$stage" --checkpoint "$checkpoint" --out "$out/en-starter.tflite" \
  --quantize int8 --calibration "$d/train_real.jsonl" --margin "${MARGIN:-0.2}"
step exported "$out/export.json" "$stage" "$checkpoint"  # for card.py
edgeasr lm build --text "$d/train.jsonl" --order 3 --out "$out/lm.arpa"

echo "== 6/6 dev WER per source: greedy, and beam search with the LM"
devs=(--manifest "$d/so762/dev.jsonl" --manifest "$d/fsdd/dev.jsonl" --manifest "$d/digits/digits_dev.jsonl")
edgeasr evaluate --model "$out/en-starter.tflite" "${devs[@]}" --report "$out/wer_greedy.json"
edgeasr evaluate --model "$out/en-starter.tflite" "${devs[@]}" --beam-width 32 \
  --lm "$out/lm.arpa" --report "$out/wer_lm.json"
if [ "${#nonspeech[@]}" -gt 0 ]; then  # what it says on the held-out noise, silence, a tone
  python "$repo/benchmarks/nonspeech.py" --model "$out/en-starter.tflite" \
    --manifest "$d/nonspeech/nonspeech_dev.jsonl" --json "$out/nonspeech.json"
fi
ls -l "$out/en-starter.tflite"
