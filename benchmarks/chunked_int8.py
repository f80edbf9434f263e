"""Chunked vs whole-utterance int8: how far apart, next to a yardstick for "as far as noise".

Usage: python benchmarks/chunked_int8.py --whole WHOLE.tflite --chunked STREAM.tflite
           --manifest DEV.jsonl [--manifest ...] [--json OUT]

Both files are int8 exports of one run (``edgeasr export --quantize int8`` with and without
``--streaming``, same ``--calibration``). Per manifest, greedy decoding, 1 thread:

- WER of each model, and the utterances whose transcripts differ between them;
- the yardstick: the whole model on the same audio plus seeded dither of one 16-bit step
  (uniform, +-1/32768), i.e. the audio's own quantisation noise, and the utterances whose
  transcripts that alone changes. Differences between the chunked and whole graphs that
  are no larger than this come from float rounding (the float frontends differ by ~1e-6),
  not from the graphs computing different things.
"""

from __future__ import annotations

import argparse
import json

import jiwer
import numpy as np

from edgeasr.data.manifest import read_manifest
from edgeasr.text.languages import language_of
from edgeasr_device.audio import load_audio
from edgeasr_device.recognizer import Recognizer


def transcripts(recognizer: Recognizer, waveforms: list[np.ndarray]) -> list[str]:
    return [recognizer.decode(recognizer.log_probs(w)).text for w in waveforms]


def wer(refs: list[str], hyps: list[str]) -> float:
    return float(jiwer.wer(refs, hyps))


def compare(whole: Recognizer, chunked: Recognizer, manifest: str, seed: int = 0) -> dict:
    rows = read_manifest(manifest)
    normalize = language_of(whole.vocabulary).normalize  # as `edgeasr evaluate` scores
    refs = [normalize(r.text) for r in rows]
    audio = [load_audio(r.audio_path, whole.sample_rate) for r in rows]
    rng = np.random.default_rng(seed)
    dithered = [(w + rng.uniform(-1, 1, w.shape) / 32768).astype(np.float32) for w in audio]
    a, b, c = (transcripts(whole, audio), transcripts(chunked, audio),
               transcripts(whole, dithered))
    return {"manifest": manifest, "utterances": len(rows),
            "wer_whole": wer(refs, a), "wer_chunked": wer(refs, b),
            "wer_whole_dithered": wer(refs, c),
            "differ_chunked": sum(x != y for x, y in zip(a, b)),
            "differ_dithered": sum(x != y for x, y in zip(a, c))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--whole", required=True)
    parser.add_argument("--chunked", required=True)
    parser.add_argument("--manifest", action="append", required=True)
    parser.add_argument("--json")
    args = parser.parse_args()
    whole, chunked = Recognizer(args.whole), Recognizer(args.chunked)
    results = [compare(whole, chunked, m) for m in args.manifest]
    print(f"{'manifest':40s} {'utts':>5s} {'whole':>7s} {'chunked':>8s} {'differ':>7s}"
          f" {'dithered':>9s} {'differ':>7s}")
    for r in results:
        print(f"{r['manifest'][-40:]:40s} {r['utterances']:5d} {r['wer_whole']:7.2%} "
              f"{r['wer_chunked']:8.2%} {r['differ_chunked']:7d} "
              f"{r['wer_whole_dithered']:9.2%} {r['differ_dithered']:7d}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
