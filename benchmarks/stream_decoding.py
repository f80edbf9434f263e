"""Beam or grammar search while the audio arrives vs. at the end of the utterance.

Usage: python benchmarks/stream_decoding.py --model MODEL.tflite --manifest DEV.jsonl
           [--lm LM.arpa] [--beam-width 16] [--grammar INTENTS.yaml [--grammar-mode bias]]
           [--block 0.1] [--join N] [--limit N] [--json OUT]

``--grammar``: the grammar decoder (strict, or bias mode) instead of the beam search
(``--beam-width`` is then its beam). A whole-utterance export (not ``--streaming``) is run
once per utterance and its output frames are replayed to the decoder in ``--block``
second blocks (what a streaming export of the same model hands it: its frames equal the
whole-file model's); the network's time is then left out of both modes alike.

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


def summary(finishes: list[float], finals: list, cpu: float, seconds: float) -> dict:
    """``finish()`` wall times (s) -> median / p90 / max ms, and CPU s per audio second."""
    ms = np.array(finishes) * 1000
    return {"finish_ms_median": float(np.median(ms)), "finish_ms_p90": float(np.percentile(ms, 90)),
            "finish_ms_max": float(ms.max()), "cpu_per_audio_second": cpu / seconds,
            "finals": finals}


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
    return summary(finishes, finals, cpu, seconds)


def replay_mode(decoder, log_probs: list[np.ndarray], block: int, seconds: float,
                incremental: bool) -> dict:
    """``run_mode`` for a whole-utterance model: its frames fed ``block`` at a time."""
    finishes, finals = [], []
    cpu = time.process_time()
    for lp in log_probs:
        if incremental:
            stream = decoder.stream()
            for start in range(0, lp.shape[0], block):
                stream.feed(lp[start:start + block])
            started = time.perf_counter()
            final = stream.finish()
        else:
            started = time.perf_counter()
            final = decoder.decode(lp)
        finishes.append(time.perf_counter() - started)
        finals.append(final)
    cpu = time.process_time() - cpu
    return summary(finishes, finals, cpu, seconds)


def words(transcript) -> list[tuple[str, float, float]]:
    return [] if transcript is None else [(w.text, w.start, w.end) for w in transcript.words]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--lm")
    parser.add_argument("--beam-width", type=int, default=16)
    parser.add_argument("--grammar")
    parser.add_argument("--grammar-mode", default="strict", choices=["strict", "bias"])
    parser.add_argument("--block", type=float, default=0.1)
    parser.add_argument("--join", type=int, default=1)
    parser.add_argument("--limit", type=int, default=0)
    parser.add_argument("--json")
    args = parser.parse_args()
    if args.grammar:
        options = DecodingOptions(method="grammar", grammar=args.grammar, lm=args.lm,
                                  grammar_mode=args.grammar_mode, beam_width=args.beam_width)
    else:
        options = DecodingOptions(method="beam", beam_width=args.beam_width, lm=args.lm)
    recognizer = Recognizer(args.model, options=options, num_threads=1)
    streaming = hasattr(recognizer.model, "runner")
    rate = recognizer.sample_rate
    items = read_manifest(args.manifest)[:args.limit or None]
    gap = np.zeros(int(0.3 * rate), np.float32)
    pieces = [np.concatenate([load_audio(path, rate), gap]) for path, _ in items]
    audios = [np.concatenate(pieces[i:i + args.join]) for i in range(0, len(pieces), args.join)]
    block = max(1, int(args.block * rate))
    incremental_decoder = recognizer.decoder
    whole_decoder = WholeUtterance(incremental_decoder)
    if not streaming:
        log_probs = [recognizer.log_probs(a) for a in audios]
        seconds = sum(a.shape[0] for a in audios) / rate
        frames = max(1, round(args.block / recognizer.model.frame_duration))
    for _ in range(2):  # the first pass fills the LM's caches for both; the second counts
        if not streaming:
            incremental = replay_mode(incremental_decoder, log_probs, frames, seconds, True)
            at_end = replay_mode(incremental_decoder, log_probs, frames, seconds, False)
            continue
        recognizer.decoder = incremental_decoder
        incremental = run_mode(recognizer, audios, block)
        recognizer.decoder = whole_decoder
        at_end = run_mode(recognizer, audios, block)
    recognizer.decoder = incremental_decoder
    same = sum(words(a) == words(b) and (a.text if a else "") == (b.text if b else "")
               and getattr(a, "intent", None) == getattr(b, "intent", None)
               for a, b in zip(incremental["finals"], at_end["finals"]))
    lm = f" + LM {Path(args.lm).name}" if args.lm else ""
    mean = sum(a.shape[0] for a in audios) / rate / len(audios)
    search = (f"grammar {Path(args.grammar).name} ({args.grammar_mode})" if args.grammar
              else "beam search")
    how = "streaming export" if streaming else "whole-utterance export, frames replayed"
    print(f"{len(audios)} utterances of {args.manifest} (mean {mean:.1f} s), {search}, beam "
          f"{args.beam_width}{lm}, {args.block:g} s blocks, 1 thread, {how}")
    print(f"| {search} | finish(): median / p90 / max ms | CPU s per audio s (feed + finish) |")
    print("|---|---:|---:|")
    for name, r in (("as the audio arrives", incremental), ("at the end of the utterance", at_end)):
        print(f"| {name} | {r['finish_ms_median']:.1f} / {r['finish_ms_p90']:.1f} / "
              f"{r['finish_ms_max']:.1f} | {r['cpu_per_audio_second']:.4f} |")
    print(f"same final text, word times and intent: {same}/{len(audios)}")
    if args.json:
        out = {name: {k: v for k, v in r.items() if k != "finals"}
               for name, r in (("incremental", incremental), ("at_end", at_end))}
        out["same_finals"], out["utterances"] = same, len(audios)
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0 if same == len(audios) else 1


if __name__ == "__main__":
    sys.exit(main())
