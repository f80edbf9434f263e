#!/usr/bin/env bash
# The main job on the embedded default: synthesise a speech corpus, train the small model on
# the CPU, export int8, transcribe both test sets on the device runtime, print the WER table.
# Usage: bash scripts/demo.sh [OUT_DIR]      (default: runs/synthetic)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$(bash "$repo/scripts/venv.sh")"
export PATH="$venv/bin:$PATH"
exec bash "$repo/recipes/synthetic/run.sh" "${1:-$repo/runs/synthetic}"
