#!/usr/bin/env bash
# The prepared GPU check (issue 9, docs/benchmarks.md "Model family and training throughput"):
# training throughput and peak accelerator memory of the model presets in bfloat16 on the
# JAX backend, batch 32 and 128 x 10 s of random audio, on a machine lent by the `device`
# tool (no TensorFlow, no network there), in one call.
#
#   bash scripts/gpu_bench.sh prepare        # here, with PyPI: wheels the machine lacks -> .whl/
#   device run: command "bash scripts/gpu_bench.sh run", carry [".whl"], timeout_s 580
#       -> $OUT/throughput_b32.json, $OUT/throughput_b128.json, $OUT/gpu_bench.log
#   bash scripts/gpu_bench.sh run            # the same anywhere JAX is installed (a dry run on
#                                            # a CPU: GPU_BENCH_QUICK=1 for two tiny presets)
#
# "prepare" downloads CPython 3.12 manylinux wheels of keras and of what edgeasr imports that
# the machine's image does not hold (KINDS.md of the device tool lists its packages), with
# their own needs, into .whl/ (ignored through .git/info/exclude; about 20 MB, well under the
# 64 MB a call may carry). "run" installs them into /tmp/site, then runs
# benchmarks/train_throughput.py once per batch size, each preset in its own process with a
# time limit, larger batch second (each row is written as soon as it is measured, so a run cut
# short keeps what it got). Knobs: GPU_BENCH_PRESETS, GPU_BENCH_STEPS (timed steps, default
# 30), GPU_BENCH_LIMIT (seconds per preset, default 100), GPU_BENCH_BACKEND (default jax).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
wheels="$repo/.whl"
# what the image lacks (numpy, pyyaml, click, scipy, ml-dtypes, h5py, rich, absl-py, tqdm,
# matplotlib and sentencepiece are there), at the versions of the project's own venv
needs=(keras==3.15.1 namex==0.1.0 optree==0.20.0 soundfile==0.14.0 cffi==2.1.1
       pycparser==3.12 soxr==1.1.0 jiwer==4.0.0 rapidfuzz==3.14.6)

case "${1:-}" in
  prepare)
    grep -qx '/.whl/' .git/info/exclude 2>/dev/null || echo '/.whl/' >> .git/info/exclude
    mkdir -p "$wheels"
    platforms=()
    for tag in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 \
               manylinux2014_x86_64 manylinux1_x86_64 manylinux_2_24_x86_64 \
               manylinux_2_31_x86_64 manylinux_2_34_x86_64 manylinux_2_35_x86_64; do
      platforms+=(--platform "$tag")
    done
    for need in "${needs[@]}"; do
      python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
        --implementation cp "${platforms[@]}" -d "$wheels" "$need"
    done
    du -sh "$wheels"
    ls "$wheels"
    ;;
  run)
    out="${OUT:-$repo/runs/gpu_bench}"
    mkdir -p "$out"
    exec > >(tee "$out/gpu_bench.log") 2>&1
    if compgen -G "$wheels/*.whl" > /dev/null; then
      python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site "$wheels"/*.whl
      export PYTHONPATH="/tmp/site:$repo:$repo/device${PYTHONPATH:+:$PYTHONPATH}"
    else
      export PYTHONPATH="$repo:$repo/device${PYTHONPATH:+:$PYTHONPATH}"
    fi
    export KERAS_BACKEND="${GPU_BENCH_BACKEND:-jax}" PYTHONUNBUFFERED=1
    export XLA_PYTHON_CLIENT_PREALLOCATE=false  # peak memory is what the model needs, not 75%
    python3 -c "import keras, jax; print('keras', keras.__version__, 'jax', jax.__version__, jax.devices())" || true
    nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv 2>/dev/null || true
    if [ "${GPU_BENCH_QUICK:-}" = 1 ]; then
      presets="${GPU_BENCH_PRESETS:-tiny conformer-tiny}"; batches="4"; steps=2; seconds=2
    else
      presets="${GPU_BENCH_PRESETS:-small edge-1m edge-3m edge-10m conformer-small deepspeech2 deepspeech2-streaming deepspeech}"
      batches="32 128"; steps="${GPU_BENCH_STEPS:-30}"; seconds=10
    fi
    args=()
    for preset in $presets; do args+=(--preset "$preset"); done
    for batch in $batches; do
      echo "== batch $batch x ${seconds} s, mixed_bfloat16, $KERAS_BACKEND"
      python3 benchmarks/train_throughput.py "${args[@]}" --batch "$batch" --seconds "$seconds" \
        --steps "$steps" --warmup 3 --precision mixed_bfloat16 \
        --timeout "${GPU_BENCH_LIMIT:-100}" --json "$out/throughput_b$batch.json"
    done
    ;;
  *)
    sed -n '2,20p' "$0" >&2
    exit 2
    ;;
esac
