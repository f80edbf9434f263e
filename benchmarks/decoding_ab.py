"""Two beam-search settings side by side on dumped log-probabilities: WER and CPU time.

Usage: python benchmarks/decoding_ab.py LOG_PROBS.npz [...] [--lm LM.arpa]
           --a NAME=VALUE [...] --b NAME=VALUE [...] [--beam-width 32] [--passes 5]

``--a`` and ``--b`` set ``DecodingOptions`` fields (``blank_skip=none``,
``token_min_logp=-8``, ...; values are read as JSON, ``none`` as None) on top of
``method="beam"`` and ``--beam-width``; each runs without and with ``--lm``. The two are
timed in alternating passes over the whole set (so a machine's drift hits both alike),
every utterance with the scorer's caches emptied first (cold, as one new utterance is), CPU
seconds of this process, the fastest pass counted. Prints a markdown table. The
log-probabilities come from benchmarks/decoding_dump.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from decoding import _cold, load, wer  # benchmarks/decoding.py


def parse_settings(pairs: list[str]) -> dict:
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        out[name] = None if value.lower() == "none" else json.loads(value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_probs", nargs="+")
    parser.add_argument("--lm")
    parser.add_argument("--a", nargs="+", required=True)
    parser.add_argument("--b", nargs="+", required=True)
    parser.add_argument("--beam-width", type=int, default=32)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    from edgeasr_device.decoding import DecodingOptions, make_decoder
    from edgeasr_device.vocab import Vocabulary

    settings = {"A": parse_settings(args.a), "B": parse_settings(args.b)}
    print(f"A: {args.a}, B: {args.b}; beam {args.beam_width}, cold caches, fastest of "
          f"{args.passes} alternating passes")
    print("| set | LM | A: WER | B: WER | A: CPU s | B: CPU s | A / B |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for path in args.log_probs:
        arrays, meta = load(path)
        vocabulary = Vocabulary(tuple(meta["tokens"]), meta["blank_index"])
        for lm in ([None, args.lm] if args.lm else [None]):
            decoders = {k: make_decoder(DecodingOptions(method="beam", beam_width=args.beam_width,
                                                        lm=lm, **v), vocabulary,
                                        meta["frame_duration"]) for k, v in settings.items()}
            best = {k: float("inf") for k in decoders}
            texts = {}
            for _ in range(max(1, args.passes)):
                for key, decoder in decoders.items():
                    texts[key], used, _ = _cold(decoder, arrays)
                    best[key] = min(best[key], used)
            rates = {k: wer(meta["references"], t) for k, t in texts.items()}
            print(f"| {Path(path).stem} | {'yes' if lm else 'no'} | {100 * rates['A']:.2f}% | "
                  f"{100 * rates['B']:.2f}% | {best['A']:.3f} | {best['B']:.3f} | "
                  f"{best['A'] / best['B']:.2f} |", flush=True)


if __name__ == "__main__":
    main()
