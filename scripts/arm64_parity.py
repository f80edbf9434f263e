"""Same model, same input, two machines: the numbers scripts/arm64.sh compares.

Runs with nothing but the device package (numpy, soundfile, soxr, a TFLite interpreter), so
the x86 host and the emulated arm64 system execute exactly this file.

    python scripts/arm64_parity.py wav OUT_DIR
        write the test recordings (deterministic, no randomness from the machine)
    python scripts/arm64_parity.py run FIXTURES WAV_DIR OUT_DIR
        per model: log-probabilities of FIXTURES/input.npy and of each recording, the greedy
        text of each recording, and what the machine says about itself -> OUT_DIR
    python scripts/arm64_parity.py compare HOST_DIR GUEST_DIR LABEL
        print one table row per model and recording; exit 1 on any difference beyond
        the model's tolerance or on any text difference

Tolerance: every log-probability within 1e-5 + 2e-6 x its magnitude (``ATOL`` per model,
``RTOL``), for the convolutional ``tiny``, the LSTM ``deepspeech-tiny`` (both float32
fixtures) and the shipped int8 starter model ``en-starter`` (as installed in each system).
The results are not bit-identical: LiteRT's x86 (AVX) and Arm (NEON) kernels sum in
different orders and fuse multiply-adds differently, which moves a log-probability by a few
float32 steps, and a float32 step grows with the value. Measured: up to 5e-6 at magnitudes
~1-10 for the float fixtures; up to 2.3e-5 for the starter, whose float output layer
(2026-12-02 exporter) gives log-probabilities down to -84, where one step is 7.6e-6 (its
worst element is at magnitude ~15: 2.3e-5 there fits 1e-5 + 2e-6 x 15 with a little room;
a quantisation difference would be 1e-2 or more).
The greedy text must be equal for every model and recording.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

import numpy as np

#: model (a fixture file, or a packaged model's name) -> allowed |delta| of a log-probability
#: near 0 (``ATOL``); ``RTOL`` x its magnitude is added. ``en-starter`` is the shipped int8
#: model, run as installed.
MODELS = {"tiny-float32.tflite": 1e-5, "deepspeech-tiny-float32.tflite": 1e-5,
          "en-starter": 1e-5}
RTOL = 2e-6

#: recording name -> sample rate (16 kHz is the models' rate; 44.1 kHz goes through soxr)
RECORDINGS = {"sweep-16k.wav": 16000, "sweep-44k.wav": 44100}

#: AT_HWCAP bits of arm64 Linux that tell the emulated CPU models apart
_HWCAP_BITS = {"atomics": 1 << 8, "fphp": 1 << 9, "asimdhp": 1 << 10, "asimddp": 1 << 20}


def make_recordings(out_dir: Path) -> None:
    """Write 1.5 s of a rising tone with two harmonics and a pause, as 16-bit PCM WAV."""
    import soundfile as sf

    out_dir.mkdir(parents=True, exist_ok=True)
    for name, rate in RECORDINGS.items():
        t = np.arange(int(1.5 * rate)) / rate
        phase = 2 * np.pi * (200 * t + 400 * t**2)  # 200 Hz rising to 1400 Hz
        wave = 0.4 * np.sin(phase) + 0.15 * np.sin(2 * phase) + 0.05 * np.sin(3 * phase)
        wave[(t > 0.6) & (t < 0.8)] = 0.0
        sf.write(out_dir / name, wave.astype(np.float32), rate, subtype="PCM_16")


def machine() -> dict:
    """What this process runs on: architecture, CPU features (arm64), package versions."""
    from importlib.metadata import PackageNotFoundError, version

    info: dict = {"machine": platform.machine(), "python": platform.python_version()}
    for package in ("numpy", "ai-edge-litert", "tflite-runtime", "soxr", "soundfile"):
        try:
            info[package] = version(package)
        except PackageNotFoundError:
            pass
    if platform.machine() == "aarch64":
        import ctypes

        libc = ctypes.CDLL(None)
        libc.getauxval.restype = ctypes.c_ulong
        hwcap = libc.getauxval(16)  # AT_HWCAP
        info["cpu_features"] = [name for name, bit in _HWCAP_BITS.items() if hwcap & bit]
    return info


def run(fixtures: Path, wav_dir: Path, out_dir: Path) -> None:
    from edgeasr_device.model import TfliteModel
    from edgeasr_device.recognizer import Recognizer

    out_dir.mkdir(parents=True, exist_ok=True)
    noise = np.load(fixtures / "input.npy")
    texts: dict[str, dict[str, str]] = {}
    from edgeasr_device.models import resolve_model

    for model_file in MODELS:
        stem = model_file.removesuffix(".tflite")
        path = fixtures / model_file if model_file.endswith(".tflite") else resolve_model(model_file)
        model = TfliteModel(path, num_threads=1)
        recognizer = Recognizer(model)
        np.save(out_dir / f"{stem}.input.npy.npy", model.log_probs(noise))
        texts[stem] = {}
        for name in RECORDINGS:
            log_probs = recognizer.log_probs(recognizer.waveform(wav_dir / name))
            np.save(out_dir / f"{stem}.{name}.npy", log_probs)
            texts[stem][name] = recognizer.decode(log_probs).text
    result = {"machine": machine(), "texts": texts}
    (out_dir / "result.json").write_text(json.dumps(result, indent=1) + "\n")


def compare(host_dir: Path, guest_dir: Path, label: str) -> int:
    """Print ``label | model | input | max |delta| | tolerance | text equal``; 1 if any fail.
    The tolerance shown is the one at the element closest to its limit."""
    host = json.loads((host_dir / "result.json").read_text())
    guest = json.loads((guest_dir / "result.json").read_text())
    features = ",".join(guest["machine"].get("cpu_features", [])) or "-"
    print(f"# {label}: {guest['machine']['machine']}, Python {guest['machine']['python']}, "
          f"numpy {guest['machine'].get('numpy')}, "
          f"ai-edge-litert {guest['machine'].get('ai-edge-litert', '-')}, cpu features {features}")
    failed = 0
    for model_file, atol in MODELS.items():
        stem = model_file.removesuffix(".tflite")
        for source in ("input.npy", *RECORDINGS):
            tolerance = atol
            a = np.load(host_dir / f"{stem}.{source}.npy")
            b = np.load(guest_dir / f"{stem}.{source}.npy")
            if a.shape != b.shape:
                delta, ok = float("inf"), False
            else:
                diff = np.abs(a.astype(np.float64) - b)
                delta = float(diff.max())
                allowed = tolerance + RTOL * np.abs(a.astype(np.float64))
                ok = bool(np.all(diff <= allowed))
                tolerance = float(allowed.flat[int(np.argmax(diff / allowed))])
            text = "-"
            if source in RECORDINGS:
                same = host["texts"][stem][source] == guest["texts"][stem][source]
                text = "yes" if same else "NO"
                ok = ok and same
            failed += not ok
            print(f"| {label} | {stem} | {source} | {delta:.3g} | {tolerance:g} | {text} |"
                  f"{'' if ok else ' MISMATCH'}")
    return 1 if failed else 0


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "wav":
        make_recordings(Path(argv[1]))
    elif len(argv) == 4 and argv[0] == "run":
        run(Path(argv[1]), Path(argv[2]), Path(argv[3]))
    elif len(argv) == 4 and argv[0] == "compare":
        return compare(Path(argv[1]), Path(argv[2]), argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
