"""Streaming benchmarks: peak memory of long recordings and final-text latency, 1 thread.

Usage: python benchmarks/streaming.py --streaming-model STREAM.tflite
           [--whole-model WHOLE.tflite] [--manifest TEST.jsonl] [--lengths 10 120 1800]
           [--json OUT]

Memory: each measurement is a fresh child process (``python -c``) that transcribes one
generated recording the way ``edgeasr-device transcribe`` does (block reader + stream, or the
whole-file path) and reports ``resource.getrusage(RUSAGE_SELF).ru_maxrss``: the peak resident
set of the whole process, interpreter and libraries included. Recordings are utterances of
the manifest concatenated with 0.4-1.6 s of quiet noise (-80 dBFS) between them (seeded), written once to
/tmp/edgeasr-bench/long_<seconds>s.wav (16 kHz, 16-bit) with their text beside them
(long_<seconds>s.txt); ``wer`` is the whole recording's WER against it.

Latency: each manifest utterance plus 0.3 s of silence is fed in 0.1 s blocks; the figure is
the wall time of ``stream.finish()`` (flush of the lookahead + decoding), i.e. the time from
the last sample to the final text, when the end of speech is signalled (as a Wyoming
client's audio-stop does). Median and 90th percentile over the utterances.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path("/tmp/edgeasr-bench")

CHILD = """
import resource, sys, time
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.cli import transcribe_file
from edgeasr_device.streaming import EndpointOptions
rec = Recognizer(sys.argv[1], num_threads=1)
t = time.perf_counter()
options = EndpointOptions(trailing_silence=float(sys.argv[5]), max_utterance=float(sys.argv[3]))
utts, seconds = transcribe_file(rec, sys.argv[2], options)
elapsed = time.perf_counter() - t
words = sum(len(u.words) for u in utts)
open(sys.argv[4], "w").write(" ".join(u.text for u in utts if u.text))
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, seconds, elapsed, len(utts), words)
"""


def read_manifest(path: str) -> list[tuple[Path, str]]:
    base = Path(path).parent
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    return [(base / r["audio_filepath"], r["text"]) for r in rows]


def long_recording(manifest: str, seconds: int, rate: int = 16000) -> Path:
    """A ``seconds``-long 16 kHz file of concatenated utterances and pauses (cached)."""
    import soundfile as sf

    from edgeasr_device.audio import load_audio

    ROOT.mkdir(parents=True, exist_ok=True)
    out = ROOT / f"long_{seconds}s.wav"
    if out.exists() and out.with_suffix(".txt").exists():
        return out
    rng = np.random.default_rng(seconds)
    rows = read_manifest(manifest)
    utterances = [load_audio(p, rate) for p, _ in rows]
    total = seconds * rate
    texts = []
    with sf.SoundFile(out, "w", samplerate=rate, channels=1, subtype="PCM_16") as f:
        written = 0
        while written < total:
            pause = (rng.normal(0, 1e-4, int(rng.uniform(0.4, 1.6) * rate))).astype(np.float32)
            pick = int(rng.integers(len(utterances)))
            block = np.concatenate([pause, utterances[pick]])
            if written + block.shape[0] > total:  # the last utterance must fit whole
                block = np.zeros(total - written, np.float32)
            else:
                texts.append(rows[pick][1])
            f.write(block)
            written += block.shape[0]
    out.with_suffix(".txt").write_text(" ".join(texts) + "\n")
    return out


def peak_rss(model: str, audio: Path, max_utterance: float, silence: float) -> dict:
    import tempfile

    import jiwer

    with tempfile.NamedTemporaryFile("r", suffix=".txt") as hyp:
        out = subprocess.run([sys.executable, "-c", CHILD, model, str(audio), str(max_utterance),
                              hyp.name, str(silence)], capture_output=True, text=True,
                             check=True)
        hypothesis = Path(hyp.name).read_text()
    rss, seconds, elapsed, utterances, words = out.stdout.split()[-5:]
    reference = audio.with_suffix(".txt").read_text().strip()
    return {"peak_rss_mb": round(float(rss), 1), "audio_seconds": round(float(seconds), 1),
            "wall_seconds": round(float(elapsed), 2), "utterances": int(utterances),
            "words": int(words), "wer": round(jiwer.wer(reference, hypothesis or "-"), 4)}


def latency(model: str, manifest: str, limit: int = 40) -> dict:
    from edgeasr_device.audio import load_audio
    from edgeasr_device.recognizer import Recognizer
    from edgeasr_device.streaming import EndpointOptions

    rec = Recognizer(model, num_threads=1)
    times = []
    for path, _ in read_manifest(manifest)[:limit]:
        audio = np.concatenate([load_audio(path, rec.sample_rate),
                                np.zeros(int(0.3 * rec.sample_rate), np.float32)])
        stream = rec.stream(EndpointOptions(trailing_silence=None))
        block = rec.sample_rate // 10
        for i in range(0, audio.shape[0], block):
            stream.feed(audio[i:i + block])
        started = time.perf_counter()
        stream.finish()
        times.append(time.perf_counter() - started)
    ms = np.asarray(times) * 1000
    return {"utterances": len(times), "finish_ms_median": round(float(np.median(ms)), 1),
            "finish_ms_p90": round(float(np.percentile(ms, 90)), 1),
            "finish_ms_max": round(float(ms.max()), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--streaming-model", required=True)
    parser.add_argument("--whole-model")
    parser.add_argument("--manifest", default="/work/demo/base/data/test_variants.jsonl")
    parser.add_argument("--lengths", type=int, nargs="+", default=[10, 120, 1800])
    parser.add_argument("--whole-lengths", type=int, nargs="+", default=[10, 120])
    parser.add_argument("--silence", type=float, default=0.5,
                        help="trailing silence (s) that ends an utterance (transcribe's default)")
    parser.add_argument("--json")
    args = parser.parse_args()
    results: dict = {"memory": [], "latency": None}
    for seconds in args.lengths:
        audio = long_recording(args.manifest, seconds)
        row = {"model": "streaming", "seconds": seconds,
               **peak_rss(args.streaming_model, audio, 30.0, args.silence)}
        results["memory"].append(row)
        print(json.dumps(row), flush=True)
    if args.whole_model:
        for seconds in args.whole_lengths:
            audio = long_recording(args.manifest, seconds)
            for max_utt in (30.0, 1e9):
                row = {"model": "whole-file" + (" (VAD, max 30 s)" if max_utt == 30.0 else ""),
                       "seconds": seconds, **peak_rss(args.whole_model, audio, max_utt, args.silence)}
                results["memory"].append(row)
                print(json.dumps(row), flush=True)
    results["latency"] = latency(args.streaming_model, args.manifest)
    print(json.dumps(results["latency"]), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
