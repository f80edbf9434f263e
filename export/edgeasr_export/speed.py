"""A preset's measured int8 speed on this machine, for ``edgeasr models --rtf``.

The preset is built with random weights, exported full-int8 (calibrated on generated
speech-shaped audio) exactly as ``edgeasr export --quantize int8`` writes a trained run, and
timed by the device runtime (:func:`edgeasr_device.bench.run_bench`: network + greedy decoder,
median of ``runs`` after a warm-up) at the given thread count. A CTC network's cost depends on
its shapes and the audio's length, not on what its weights learned, so the figure is the one
a trained model of that preset gets on this machine (its greedy decoder, a small share, may
emit a little more or less).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from edgeasr.models.config import ModelConfig

__all__ = ["PresetSpeed", "measure_int8_speed"]


@dataclass(frozen=True)
class PresetSpeed:
    rtf: float  # median (network + greedy decoder) seconds per audio second
    size_bytes: int  # the int8 .tflite file


def measure_int8_speed(config: ModelConfig, seconds: float = 10.0, threads: int = 1,
                       runs: int = 3, calibration: int = 4) -> PresetSpeed:
    """Export ``config``'s model (random weights) to int8 and time it on ``seconds`` of audio.

    ``calibration``: generated waveforms (3 s each) for the int8 ranges."""
    from edgeasr.models.ctc_model import CTCModel
    from edgeasr_device.bench import bench_audio, run_bench
    from edgeasr_device.vocab import Vocabulary
    from edgeasr_export.convert import convert
    from edgeasr_export.exporter import artifact_metadata
    from edgeasr_export.metadata import embed_metadata

    rate = config.frontend.sample_rate
    model = CTCModel(config).build_weights()
    audio = [bench_audio(3.0, rate, seed=seed) for seed in range(calibration)]
    content = convert(model, "int8", calibration=audio)
    content = embed_metadata(content, artifact_metadata(config, Vocabulary.english(), "int8"))
    with tempfile.TemporaryDirectory(prefix="edgeasr-speed-") as tmp:
        path = os.path.join(tmp, "model.tflite")
        with open(path, "wb") as handle:
            handle.write(content)
        result = run_bench(path, seconds=seconds, threads=threads, runs=runs)
    return PresetSpeed(result.rtf_median, len(content))
