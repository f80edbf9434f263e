"""Speed and memory of a model on this machine: ``edgeasr-device bench``.

- :func:`run_bench`: load time, real-time factor (network + decoder) and peak memory at one
  thread count.
- :func:`bench_streaming`: latency of live recognition. The audio is fed in chunks as a
  microphone or a Wyoming client would send it, on a simulated clock: chunk ``k`` arrives at
  ``(k + 1) * chunk`` seconds of audio, and is processed when it has arrived and the previous
  chunk is done (measured compute times). ``final_ms`` is the time from the last audio to
  the final transcript (what ``audio-stop`` -> ``transcript`` costs); ``first_partial_ms``
  the time from the start of the audio until the first non-empty partial text is ready.
- :func:`run_report`: both, for several thread counts.
"""

from __future__ import annotations

import os
import resource
import statistics
import time
from dataclasses import asdict, dataclass

import numpy as np

from edgeasr_device.audio import load_audio
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.recognizer import Recognizer

__all__ = ["BenchReport", "BenchResult", "StreamingResult", "bench_audio", "bench_streaming",
           "peak_rss_mb", "run_bench", "run_report", "time_recognizer"]


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
    load_ms: float = 0.0  # reading, checking and opening the model (interpreter created)
    first_run_ms: float = 0.0  # the first inference, tensor allocation included

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class StreamingResult:
    """Live recognition latency on a simulated real-time clock (see the module docstring)."""

    threads: int
    chunk_ms: float
    partial_interval: float
    audio_seconds: float
    runs: int
    final_ms_median: float  # last audio -> final transcript
    final_ms_max: float
    first_partial_ms: float | None  # start of audio -> first non-empty partial (median)
    feed_ms_median: float  # compute per chunk
    feed_ms_max: float
    max_lag_ms: float  # worst time a chunk's processing ended after the chunk had arrived
    text: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class BenchReport:
    """:func:`run_report`: per thread count, the batch and the streaming figures."""

    batch: tuple[BenchResult, ...]
    streaming: tuple[StreamingResult, ...]
    peak_rss_mb: float

    def to_dict(self) -> dict:
        return {"batch": [b.to_dict() for b in self.batch],
                "streaming": [s.to_dict() for s in self.streaming],
                "peak_rss_mb": self.peak_rss_mb}


def bench_audio(seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """Speech-shaped test signal: noise bursts with a syllable-rate envelope (content does not
    change the cost of a CTC network, only its length does)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    t = np.arange(n) / sample_rate
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 4 * t)) ** 2
    return (0.1 * envelope * rng.standard_normal(n)).astype(np.float32)


def peak_rss_mb() -> float:
    """The process's peak resident memory so far (Linux reports kB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


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
    """Time loading, the network and the decoder of a recogniser for ``model_path`` (``runs``
    timed runs after ``warmup`` untimed ones) on a file or ``seconds`` of generated audio.
    A streaming export is timed as a whole waveform run chunk by chunk."""
    from edgeasr_device.streaming_model import open_model

    started = time.perf_counter()
    model = open_model(model_path, num_threads=threads, native_info=native_info)
    load_ms = 1000 * (time.perf_counter() - started)
    recognizer = Recognizer(model, options=options)
    rate = recognizer.sample_rate
    waveform = load_audio(audio_path, rate) if audio_path else bench_audio(seconds, rate)
    audio_seconds = waveform.shape[0] / rate
    started = time.perf_counter()
    recognizer.model.log_probs(waveform)
    first_run_ms = 1000 * (time.perf_counter() - started)
    network, decode = time_recognizer(recognizer, waveform, runs, warmup)
    totals = [a + b for a, b in zip(network, decode)]
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
        peak_rss_mb=peak_rss_mb(),
        load_ms=load_ms,
        first_run_ms=first_run_ms,
    )


def bench_streaming(recognizer: Recognizer, waveform: np.ndarray, chunk_seconds: float = 0.1,
                    partial_interval: float = 0.4, runs: int = 3) -> StreamingResult:
    """Feed ``waveform`` (float32 ``(N,)`` at the model rate) to ``recognizer.stream()`` in
    chunks, ``runs`` times (after one warm-up), one utterance per run (no endpointing, as a
    Wyoming request), and measure the latencies on the simulated clock."""
    from edgeasr_device.streaming import EndpointOptions

    endpoint = EndpointOptions(trailing_silence=None, max_utterance=None,
                               partial_interval=partial_interval)
    rate = recognizer.sample_rate
    step = max(int(chunk_seconds * rate), 1)
    audio_seconds = waveform.shape[0] / rate
    finals, partials, feeds, lags, text = [], [], [], [], ""
    for run in range(runs + 1):
        stream = recognizer.stream(endpoint=endpoint)
        clock = 0.0  # simulated seconds since the audio started
        first_partial = None
        run_feeds = []
        for start in range(0, waveform.shape[0], step):
            arrives = min(start + step, waveform.shape[0]) / rate
            began = time.perf_counter()
            update = stream.feed(waveform[start:start + step])
            spent = time.perf_counter() - began
            clock = max(clock, arrives) + spent
            run_feeds.append(spent)
            if run:
                lags.append(clock - arrives)
            if first_partial is None and update.partial:
                first_partial = clock
        began = time.perf_counter()
        final = stream.finish()
        clock = max(clock, audio_seconds) + time.perf_counter() - began
        if run:  # the first run warms up the interpreter
            finals.append(clock - audio_seconds)
            feeds += run_feeds
            if first_partial is not None:
                partials.append(first_partial)
        text = final.text if final is not None else ""
    return StreamingResult(
        threads=getattr(recognizer.model, "num_threads", 1), chunk_ms=1000 * step / rate,
        partial_interval=partial_interval, audio_seconds=audio_seconds, runs=runs,
        final_ms_median=1000 * statistics.median(finals), final_ms_max=1000 * max(finals),
        first_partial_ms=1000 * statistics.median(partials) if partials else None,
        feed_ms_median=1000 * statistics.median(feeds), feed_ms_max=1000 * max(feeds),
        max_lag_ms=1000 * max(lags, default=0.0), text=text)


def run_report(model_path: str, audio_path: str | None = None, seconds: float = 10.0,
               threads: tuple[int, ...] = (1, 2, 4), runs: int = 5,
               chunk_seconds: float = 0.1, streaming: bool = True,
               options: DecodingOptions | None = None,
               native_info: bool = False) -> BenchReport:
    """:func:`run_bench` and :func:`bench_streaming` at each thread count."""
    batch, live = [], []
    for count in threads:
        result = run_bench(model_path, audio_path, seconds, count, runs, options=options,
                           native_info=native_info)
        batch.append(result)
        if streaming:
            recognizer = Recognizer(model_path, num_threads=count, options=options)
            rate = recognizer.sample_rate
            waveform = load_audio(audio_path, rate) if audio_path else bench_audio(seconds, rate)
            live.append(bench_streaming(recognizer, waveform, chunk_seconds,
                                        runs=max(1, min(runs, 3))))
    return BenchReport(tuple(batch), tuple(live), peak_rss_mb())
