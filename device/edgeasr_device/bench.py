"""Real-time factor and memory of a model on this machine: ``edgeasr-device bench``."""

from __future__ import annotations

import os
import resource
import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np

from edgeasr_device.audio import load_audio
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.model import TfliteModel
from edgeasr_device.recognizer import Recognizer


@dataclass(frozen=True)
class BenchResult:
    model: str
    size_bytes: int
    quantization: str
    threads: int
    audio_seconds: float
    runs: int
    rtf_median: float  # (network + decoder seconds) / audio seconds
    rtf_min: float
    network_ms_median: float
    decode_ms_median: float
    peak_rss_mb: float  # whole process, after the runs

    def to_dict(self) -> dict:
        return asdict(self)


def bench_audio(seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Speech-shaped test signal: noise bursts with a syllable-rate envelope (content does not
    change the cost of a CTC network, only its length does)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) ** 2
    return (0.1 * envelope * rng.standard_normal(n)).astype(np.float32)


def time_recognizer(recognizer: Recognizer, waveform: np.ndarray, runs: int = 5,
                    warmup: int = 1) -> tuple[list[float], list[float]]:
    """Seconds taken by the recogniser's model and by its decoder on ``waveform`` (N,) at the
    model rate: two lists of ``runs`` timings, taken after ``warmup`` untimed runs."""
    network, decode = [], []
    for i in range(warmup + runs):
        started = time.perf_counter()
        log_probs = recognizer.model.log_probs(waveform)
        middle = time.perf_counter()
        recognizer.decoder.decode(log_probs)
        ended = time.perf_counter()
        if i >= warmup:
            network.append(middle - started)
            decode.append(ended - middle)
    return network, decode


def run_bench(model_path: str, audio_path: str | None = None, seconds: float = 10.0,
              threads: int = 1, runs: int = 5, warmup: int = 1,
              options: DecodingOptions | None = None, native_info: bool = False) -> BenchResult:
    """Time the network and the decoder of a recogniser for ``model_path`` (``runs`` timed
    runs after ``warmup`` untimed ones) on a file or on ``seconds`` of generated audio."""
    model = TfliteModel(model_path, num_threads=threads, native_info=native_info)
    recognizer = Recognizer(model, options=options)
    rate = recognizer.sample_rate
    waveform = load_audio(audio_path, rate) if audio_path else bench_audio(seconds, rate)
    audio_seconds = waveform.shape[0] / rate
    network, decode = time_recognizer(recognizer, waveform, runs, warmup)
    totals = [a + b for a, b in zip(network, decode)]
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return BenchResult(
        model=str(model_path),
        size_bytes=os.path.getsize(model_path),
        quantization=model.metadata.quantization,
        threads=threads,
        audio_seconds=audio_seconds,
        runs=runs,
        rtf_median=statistics.median(totals) / audio_seconds,
        rtf_min=min(totals) / audio_seconds,
        network_ms_median=1000 * statistics.median(network),
        decode_ms_median=1000 * statistics.median(decode),
        peak_rss_mb=peak_kb / 1024,
    )
