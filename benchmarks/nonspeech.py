"""What models say about audio with no speech in it: held-out noise clips, silence, tones.

Usage: python benchmarks/nonspeech.py --model A.tflite [--model B.tflite ...]
           --manifest NONSPEECH_DEV.jsonl [--beam-width N] [--lm LM.arpa]
           [--vad [--speech SPEECH_DEV.jsonl]] [--json OUT]

Every clip of the manifest (its texts are ignored: all of it is non-speech, e.g. the held-out
noise clips of ``recipes/english-real/data.py nonspeech``), plus 2 s of digital silence, of
quiet (RMS 0.003) and loud (RMS 0.1) white noise and a 440 Hz tone, is transcribed by each
model (greedy unless a beam flag is given). Reported per model: how many clips came out with
any word (the goal is none), the words per clip, the highest word confidence any of them got,
and the words themselves. With ``--vad``, also the share of 30 ms frames of the recorded
clips that each voice-activity detector of the device package calls speech (whether a VAD in
front could keep the noise away from the model), and with ``--speech``, how many clips of a
speech manifest each VAD finds no speech in at all (what gating by it would lose). Prints
markdown tables.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from intents import read_manifest

from edgeasr_device.audio import load_audio
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.recognizer import Recognizer


def generated(rate: int) -> dict[str, np.ndarray]:
    """2 s of silence, quiet and loud white noise, and a tone."""
    rng = np.random.default_rng(0)
    n = 2 * rate
    t = np.arange(n) / rate
    return {"silence": np.zeros(n, np.float32),
            "white noise, RMS 0.003": rng.normal(0, 0.003, n).astype(np.float32),
            "white noise, RMS 0.1": rng.normal(0, 0.1, n).astype(np.float32),
            "440 Hz tone": (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)}


def measure(recognizer: Recognizer, clips: list[tuple[str, np.ndarray]]) -> dict:
    results = [(name, recognizer.transcribe(audio, recognizer.sample_rate))
               for name, audio in clips]
    words = [w for _, r in results for w in r.words]
    return {"clips": len(results),
            "with_words": sum(1 for _, r in results if r.words),
            "words": len(words),
            "max_confidence": max((w.confidence for w in words), default=0.0),
            "texts": dict(Counter(r.text for _, r in results if r.text).most_common(8)),
            "per_clip": {name: r.text for name, r in results}}


def vad_shares(clips: list[tuple[str, np.ndarray]], rate: int) -> dict[str, list[float]]:
    """Per VAD kind available here, each clip's share of frames called speech."""
    from edgeasr_device.vad import make_vad, webrtc_available

    kinds = [("energy", 2)] + ([("webrtc", 2), ("webrtc", 3)] if webrtc_available() else [])
    shares = {}
    for kind, aggressiveness in kinds:
        values = []
        for _, audio in clips:
            vad = make_vad(kind, rate, aggressiveness)
            n = vad.frame_samples
            flags = [vad.is_speech(audio[i:i + n]) for i in range(0, len(audio) - n + 1, n)]
            values.append(float(np.mean(flags)) if flags else 0.0)
        shares[f"{kind} (aggressiveness {aggressiveness})"] = values
    return shares


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", action="append", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--beam-width", type=int)
    parser.add_argument("--lm")
    parser.add_argument("--vad", action="store_true")
    parser.add_argument("--speech", help="with --vad: a speech manifest (e.g. FSDD dev)")
    parser.add_argument("--json")
    args = parser.parse_args()
    options = DecodingOptions()
    if args.beam_width or args.lm:
        options = DecodingOptions(method="beam", beam_width=args.beam_width or 16, lm=args.lm)
    items = read_manifest(args.manifest)
    out = {}
    for model in args.model:
        recognizer = Recognizer(model, options=options, num_threads=1)
        rate = recognizer.sample_rate
        recorded = [(Path(path).name, load_audio(path, rate)) for path, _ in items]
        out[model] = {"recorded": measure(recognizer, recorded),
                      "generated": measure(recognizer, list(generated(rate).items()))}
    seconds = sum(len(a) for _, a in recorded) / rate
    print(f"{len(recorded)} non-speech clips of {args.manifest} ({seconds:.0f} s) + 4 generated; "
          f"{'beam ' + str(options.beam_width) if options.method == 'beam' else 'greedy'}"
          f"{' + LM' if args.lm else ''}")
    print("| model | clips with words | words | highest word confidence | what it said | "
          "silence / quiet noise / loud noise / tone |")
    print("|---|---:|---:|---:|---|---|")
    for model, r in out.items():
        rec, gen = r["recorded"], r["generated"]
        said = ", ".join(f'"{t}" x{n}' for t, n in rec["texts"].items()) or "-"
        made = " / ".join(f'"{t}"' if t else "-" for t in gen["per_clip"].values())
        print(f"| {Path(model).name} | {rec['with_words']}/{rec['clips']} | {rec['words']} | "
              f"{rec['max_confidence']:.2f} | {said} | {made} |")
    if args.vad:
        out["vad"] = vad_shares(recorded, rate)
        speech = {}
        if args.speech:
            clips = [(Path(p).name, load_audio(p, rate)) for p, _ in read_manifest(args.speech)]
            speech = out["vad_speech"] = vad_shares(clips, rate)
        print("\n| VAD | non-speech: share of frames called speech | non-speech: clips mostly "
              "speech (> 50%) |" + (" speech: clips with no speech frame |" if speech else ""))
        print("|---|---:|---:|" + ("---:|" if speech else ""))
        for kind, shares in out["vad"].items():
            missed = speech.get(kind)
            print(f"| {kind} | {np.mean(shares):.2f} | {sum(v > 0.5 for v in shares)}/"
                  f"{len(shares)} |" + (f" {sum(v == 0 for v in missed)}/{len(missed)} |"
                                        if missed is not None else ""))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
