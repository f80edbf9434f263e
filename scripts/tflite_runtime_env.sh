#!/usr/bin/env bash
# Build (once) a virtual environment that runs edgeasr-device on tflite-runtime 2.14 instead of
# LiteRT: numpy < 2, tflite-runtime, the device package's other dependencies and pytest, but
# no ai-edge-litert. Prints the environment's path on stdout (progress goes to stderr).
#
# The environment lives outside the repository, in a cache folder that later runs reuse:
#   EDGEASR_TFLITE_RUNTIME_ENV (default: ~/.cache/edgeasr/tflite-runtime-env)
# It is rebuilt only when device/pyproject.toml or this script changes; a cached run takes
# about a second. The first build downloads about 30 MB from PyPI.
#
# Usage: bash scripts/tflite_runtime_env.sh         # build or reuse, print the path
#        EDGEASR_OFFLINE=1 bash scripts/...          # reuse only: exit 3 if not built yet
# Used by device/tests/test_tflite_runtime.py (which skips when the build fails offline).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
env_dir="${EDGEASR_TFLITE_RUNTIME_ENV:-${XDG_CACHE_HOME:-$HOME/.cache}/edgeasr/tflite-runtime-env}"

# tflite-runtime 2.14.0 (its last release) has wheels for CPython 3.8-3.11 only.
python="${PYTHON:-}"
if [ -z "$python" ]; then
  for candidate in python3.11 python3.10 python3; do
    if command -v "$candidate" >/dev/null 2>&1; then python="$candidate"; break; fi
  done
fi
[ -n "$python" ] || { echo "error: no python3.10/3.11 found (tflite-runtime 2.14 needs CPython <= 3.11)" >&2; exit 2; }

# What the environment holds (the extra's pins plus the device package's other dependencies).
requirements=("numpy<2" "tflite-runtime==2.14.0" "soundfile>=0.12" "soxr>=0.3" "click>=8.1"
              "pytest>=8" "hypothesis>=6")
want="$( (cat "$repo/device/pyproject.toml" "${BASH_SOURCE[0]}"; "$python" --version) | sha256sum | cut -d' ' -f1)"
stamp="$env_dir/.edgeasr-tflite-runtime"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$env_dir/bin/python" ]; then
  echo "$env_dir"
  exit 0
fi
if [ -n "${EDGEASR_OFFLINE:-}" ]; then
  echo "error: $env_dir is not built (EDGEASR_OFFLINE is set)" >&2
  exit 3
fi

echo "building the tflite-runtime environment in $env_dir (first time: about a minute)" >&2
rm -rf "$env_dir"
mkdir -p "$(dirname "$env_dir")"
"$python" -m venv "$env_dir" >&2
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" >&2
# The device package itself, from this checkout, without its dependency list (which names
# ai-edge-litert on x86_64/aarch64): the fallback must work without LiteRT.
"$env_dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -e "$repo/device" >&2
if "$env_dir/bin/python" -c "import ai_edge_litert" 2>/dev/null; then
  echo "error: ai-edge-litert ended up in $env_dir; the fallback test would not test the fallback" >&2
  exit 1
fi
echo "$want" > "$stamp"
echo "$env_dir"
