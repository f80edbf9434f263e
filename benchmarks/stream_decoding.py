"""Beam search while the audio arrives vs. at the end of the utterance, on a streaming export.

Usage: python benchmarks/stream_decoding.py --model STREAM.tflite --manifest DEV.jsonl
           [--lm LM.arpa] [--beam-width 16] [--block 0.1] [--join N] [--limit N] [--json OUT]

Each utterance (or, with ``--join N``, each run of N consecutive ones, 0.3 s of silence
between them: longer speech without an endpoint) plus 0.3 s of silence is fed to
``Recognizer.stream()`` in ``--block`` second blocks (no endpointing: one utterance, closed
by ``finish()``, as a Wyoming audio-stop closes it), twice with the same recogniser:

* incremental: the default since the beam search can be fed frames
  (:class:`~edgeasr_device.decoding.beam_decoder.BeamStream`): each block's new frames
  are searched at once, so ``finish()`` is the lookahead flush plus the last frames, word
  times and confidences;
* at the end: the same decoder hidden behind an object without ``stream()``, so the
  closed utterance is decoded whole in ``finish()``, as before.

Both modes run twice, alternating, and the second pass is reported: the first fills the
language model's transition caches, which the two modes share. Reported per mode: the wall
time of ``finish()`` (from the last sample to the final text: median, 90th percentile, max)
and the CPU seconds of the whole feed + finish per audio second; and whether the two modes' finals are the same text with the same word times on
every utterance (they should be: the search does not depend on how its frames arrive).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intents import read_manifest

from edgeasr_device.audio import load_audio
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.streaming import EndpointOptions


class WholeUtterance:
    """A decoder seen without its ``stream()``: streams then decode closed utterances whole."""

    def __init__(self, decoder):
        self._decoder = decoder

    def decode(self, log_probs):
        return self._decoder.decode(log_probs)


def run_mode(recognizer: Recognizer, audios: list[np.ndarray], block: int) -> dict:
    endpoint = EndpointOptions(trailing_silence=None)
    finishes, finals = [], []
    cpu = time.process_time()
    for audio in audios:
        stream = recognizer.stream(endpoint)
        for start in range(0, audio.shape[0], block):
            stream.feed(audio[start:start + block])
        started = time.perf_counter()
        final = stream.finish()
        finishes.append(time.perf_counter() - started)
        finals.append(final)
    cpu = time.process_time() - cpu
    seconds = sum(a.shape[0] for a in audios) / recognizer.sample_rate
    ms = np.array(finishes) * 1000
    return {"finish_ms_median": float(np.median(ms)), "finish_ms_p90": float(np.percentile(ms, 90)),
            "finish_ms_max": float(ms.max()), "cpu_per_audio_second": cpu / seconds,
            "finals": finals}


def words(transcript) -> list[tuple[str, float, float]]:
    return [] if transcript is None else [(w.text, w.start, w.end) for w in transcript.words]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--lm")
    parser.add_argument("--beam-width", type=int, default=16)
    parser.add_argument("--block", type=float, default=0.1)
    parser.add_argument("--join", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args()
    options = DecodingOptions(method="beam", beam_width=args.beam_width, lm=args.lm)
    recognizer = Recognizer(args.model, options=options, num_threads=1)
    if not hasattr(recognizer.model, "runner"):
        raise SystemExit(f"{args.model}: not a streaming export (edgeasr export --streaming)")
    rate = recognizer.sample_rate
    items = read_manifest(args.manifest)[:args.limit or None]
    gap = np.zeros(int(0.3 * rate), np.float32)
    pieces = [np.concatenate([load_audio(path, rate), gap]) for path, _ in items]
    audios = [np.concatenate(pieces[i:i + args.join]) for i in range(0, len(pieces), args.join)]
    block = max(1, int(args.block * rate))
    incremental_decoder = recognizer.decoder
    whole_decoder = WholeUtterance(incremental_decoder)
    for _ in range(2):  # the first pass fills the LM's caches for both; the second counts
        recognizer.decoder = incremental_decoder
        incremental = run_mode(recognizer, audios, block)
        recognizer.decoder = whole_decoder
        at_end = run_mode(recognizer, audios, block)
    recognizer.decoder = incremental_decoder
    same = sum(words(a) == words(b) and (a.text if a else "") == (b.text if b else "")
               for a, b in zip(incremental["finals"], at_end["finals"]))
    lm = f" + LM {Path(args.lm).name}" if args.lm else ""
    mean = sum(a.shape[0] for a in audios) / rate / len(audios)
    print(f"{len(audios)} utterances of {args.manifest} (mean {mean:.1f} s), beam "
          f"{args.beam_width}{lm}, {args.block:g} s blocks, 1 thread")
    print("| beam search | finish(): median / p90 / max ms | CPU s per audio s (feed + finish) |")
    print("|---|---:|---:|")
    for name, r in (("as the audio arrives", incremental), ("at the end of the utterance", at_end)):
        print(f"| {name} | {r['finish_ms_median']:.1f} / {r['finish_ms_p90']:.1f} / "
              f"{r['finish_ms_max']:.1f} | {r['cpu_per_audio_second']:.4f} |")
    print(f"same final text and word times: {same}/{len(audios)}")
    if args.json:
        out = {name: {k: v for k, v in r.items() if k != "finals"}
               for name, r in (("incremental", incremental), ("at_end", at_end))}
        out["same_finals"], out["utterances"] = same, len(audios)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0 if same == len(audios) else 1


if __name__ == "__main__":
    sys.exit(main())
