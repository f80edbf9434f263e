"""Choose the grammar's two no-match thresholds on a dev set (never on a test set).

Usage: python benchmarks/grammar_thresholds.py --model MODEL.tflite --grammar intents.yaml
           --dev DEV.jsonl --holdout INTENT [--holdout ...] [--check TEST.jsonl ...]

Strict grammar decoding accepts the closest sentence when (a) it is at most
``--grammar-threshold`` nats per speech frame less likely than the free transcription and
(b) no word's confidence is under ``--grammar-min-confidence``. Both trade accuracy on
in-grammar commands against rejection of commands the grammar lacks. This script decodes
each dev utterance once (``GrammarDecoder.closest``: the sentence, its gap, its weakest word)
with the full grammar, and the utterances of the ``--holdout`` intents once more with a copy
of the grammar without them, then scores every pair of a grid of thresholds:

* accuracy: in-grammar dev utterances whose intent and slots come out right;
* rejection: held-out utterances answered with no match (anything else is a false accept);
* balanced = (accuracy + rejection) / 2, the figure the pair is chosen by; ties (a plateau
  is common on an easy dev set) go to the least strict pair, the lowest minimum confidence
  and then the highest threshold: strictness is what costs accuracy when the speakers shift
  away from the dev set's, which a dev set cannot show.

With ``--check`` the chosen pair (and the current defaults) are then reported on those
manifests once, for the record: they play no part in the choice.
"""

from __future__ import annotations

import argparse
import itertools
import math
import tempfile
from pathlib import Path

from intents import read_manifest, without_intents

from edgeasr_device.decoding import DecodingOptions, load_grammar, make_decoder
from edgeasr_device.decoding.base import GRAMMAR_MIN_CONFIDENCE, GRAMMAR_THRESHOLD
from edgeasr_device.recognizer import Recognizer

THRESHOLDS = (0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0, math.inf)
MIN_CONFIDENCES = (0.0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3)


def closest_all(recognizer: Recognizer, grammar_path: str, lps: list):
    """The loaded grammar, and the closest sentence of it to each utterance."""
    options = DecodingOptions(method="grammar", grammar=grammar_path)
    decoder = make_decoder(options, recognizer.vocabulary, recognizer.frame_duration)
    return decoder.grammar, [decoder.closest(lp) for lp in lps]


def verdicts(found, grammar, threshold: float, least: float) -> list:
    """Per utterance: the intent strict decoding would return (None: no match)."""
    out = []
    for f in found:
        ok = f.text is not None and f.gap <= threshold and f.min_confidence >= least
        out.append(grammar.parse(f.text) if ok else None)
    return out


def score(manifest: str, recognizer, grammar_path, reduced_path, holdout, pairs):
    """{pair: (accuracy, rejection)} on one manifest."""
    rows = read_manifest(manifest)
    full = load_grammar(grammar_path, recognizer.vocabulary)
    refs = [full.parse(text) for _, text in rows]
    inside = [k for k, r in enumerate(refs) if r is not None]
    held = [k for k in inside if refs[k].name in holdout]
    lps = {k: recognizer.utterance_log_probs(recognizer.waveform(rows[k][0])) for k in inside}
    _, found = closest_all(recognizer, grammar_path, [lps[k] for k in inside])
    reduced, found_held = closest_all(recognizer, reduced_path, [lps[k] for k in held])
    out = {}
    for threshold, least in pairs:
        got = verdicts(found, full, threshold, least)
        right = sum(g is not None and g == refs[k] for g, k in zip(got, inside))
        rejected = sum(g is None for g in verdicts(found_held, reduced, threshold, least))
        out[(threshold, least)] = (right / max(1, len(inside)), rejected / max(1, len(held)))
    print(f"{Path(manifest).name}: {len(rows)} utterances, {len(inside)} in the grammar, "
          f"{len(held)} of them held out")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--grammar", required=True)
    parser.add_argument("--dev", required=True, help="The manifest the thresholds are chosen on.")
    parser.add_argument("--holdout", action="append", required=True,
                        help="An intent removed from the grammar to test rejection.")
    parser.add_argument("--check", action="append", default=[],
                        help="A manifest to report the chosen pair on (not used to choose).")
    args = parser.parse_args()

    recognizer = Recognizer(args.model)
    defaults = (GRAMMAR_THRESHOLD, GRAMMAR_MIN_CONFIDENCE)
    pairs = sorted(set(itertools.product(THRESHOLDS, MIN_CONFIDENCES)) | {defaults})
    with tempfile.TemporaryDirectory() as tmp:
        reduced = without_intents(args.grammar, args.holdout, tmp)
        dev = score(args.dev, recognizer, args.grammar, reduced, args.holdout, pairs)
        best = max(pairs, key=lambda p: (round(sum(dev[p]), 9), -p[1], p[0]))
        print("\n| threshold \\ min confidence | " + " | ".join(f"{c:g}" for c in MIN_CONFIDENCES)
              + " |")
        print("|---:|" + "---:|" * len(MIN_CONFIDENCES))
        for t in THRESHOLDS:
            cells = [f"{100 * dev[(t, c)][0]:.1f} / {100 * dev[(t, c)][1]:.1f}"
                     for c in MIN_CONFIDENCES]
            print(f"| {t:g} | " + " | ".join(cells) + " |")
        print("(dev accuracy / rejection, %)\n")
        print(f"chosen on dev: --grammar-threshold {best[0]:g} --grammar-min-confidence "
              f"{best[1]:g} (balanced {50 * sum(dev[best]):.1f}%); defaults {defaults[0]:g} / "
              f"{defaults[1]:g}: balanced {50 * sum(dev[defaults]):.1f}%")
        for manifest in args.check:
            figures = score(manifest, recognizer, args.grammar, reduced, args.holdout,
                            [best, defaults])
            for name, pair in (("chosen", best), ("defaults", defaults)):
                acc, rej = figures[pair]
                print(f"  {name} {pair[0]:g} / {pair[1]:g}: accuracy {100 * acc:.1f}%, "
                      f"rejection {100 * rej:.1f}%")


if __name__ == "__main__":
    main()
