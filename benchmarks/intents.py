"""Intent accuracy of spoken commands: grammar decoding vs greedy + parse vs bias mode.

Usage: python benchmarks/intents.py --model MODEL.tflite --grammar intents.yaml
           --manifest TEST.jsonl [--manifest ...] [--holdout INTENT ...] [--lm LM] [--json OUT]

Every utterance of each manifest is run through the model once; its log-probabilities are
then decoded by each method, side by side:

* ``greedy + parse``: best path, then hassil's matcher on the text;
* ``beam + LM + parse`` (with ``--lm``): prefix beam search with that language model, then parse;
* ``grammar (strict)``: the search restricted to the grammar's sentences, with no-match;
* ``grammar (strict, thresholds off)``: the same with both no-match tests off (the closest
  sentence, unless no whole sentence survives the search);
* ``grammar (bias)``: open-vocabulary beam search with the grammar's n-gram (mixed with
  ``--lm`` when given), then parse.

The reference intent is the reference text parsed with the same grammar. A result is right
when the intent and every slot value equal the reference's (a no-match is wrong). With
``--holdout`` the utterances of the named intents are decoded once more with a copy of the
grammar that lacks them: the share each method then answers with no intent at all is its
rejection of out-of-grammar commands (anything else is a false accept). Times are decoding
milliseconds per utterance on this machine (the network excluded), one process, methods one
after another.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from edgeasr_device.decoding import DecodingOptions, load_grammar, make_decoder
from edgeasr_device.recognizer import Recognizer


def methods(grammar: str, lm: str | None) -> dict[str, DecodingOptions]:
    out = {"greedy + parse": DecodingOptions()}
    if lm:
        out["beam + LM + parse"] = DecodingOptions(method="beam", lm=lm)
    out["grammar (strict)"] = DecodingOptions(method="grammar", grammar=grammar)
    out["grammar (strict, thresholds off)"] = DecodingOptions(
        method="grammar", grammar=grammar, grammar_threshold=math.inf, grammar_min_confidence=0.0)
    out["grammar (bias)"] = DecodingOptions(method="grammar", grammar=grammar,
                                            grammar_mode="bias", lm=lm)
    return out


def read_manifest(path: str) -> list[tuple[str, str]]:
    root = Path(path).parent
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            record = json.loads(line)
            audio = Path(record["audio_filepath"])
            rows.append((str(audio if audio.is_absolute() else root / audio), record["text"]))
    return rows


def without_intents(grammar: str, names: list[str], folder: str) -> str:
    """A copy of a one-file grammar without the intents ``names``."""
    doc = yaml.safe_load(Path(grammar).read_text(encoding="utf-8"))
    for name in names:
        if name not in doc["intents"]:
            raise SystemExit(f"--holdout {name}: no such intent in {grammar}")
        del doc["intents"][name]
    path = Path(folder) / "holdout.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return str(path)


def decode_all(lps: list, options: dict[str, DecodingOptions], grammar, vocabulary,
               frame_duration: float) -> dict[str, tuple[list, list[float]]]:
    """Per method: the intent of every utterance (None: no match) and decoding ms."""
    out = {}
    for name, o in options.items():
        decoder = make_decoder(o, vocabulary, frame_duration)
        intents, ms = [], []
        for lp in lps:
            started = time.perf_counter()
            result = decoder.decode(lp)
            intents.append(result.intent if o.method == "grammar" else grammar.parse(result.text))
            ms.append(1000 * (time.perf_counter() - started))
        out[name] = (intents, ms)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--grammar", required=True)
    parser.add_argument("--manifest", action="append", required=True)
    parser.add_argument("--holdout", action="append", default=[],
                        help="Intent to remove from the grammar (its utterances test rejection).")
    parser.add_argument("--lm", help="A general language model (ARPA or compiled).")
    parser.add_argument("--json", help="Write the figures here.")
    args = parser.parse_args()

    recognizer = Recognizer(args.model)
    vocab, frame = recognizer.vocabulary, recognizer.frame_duration
    full = load_grammar(args.grammar, vocab)
    report: dict[str, dict] = {}
    with tempfile.TemporaryDirectory() as tmp:
        reduced_path = without_intents(args.grammar, args.holdout, tmp) if args.holdout else None
        reduced = load_grammar(reduced_path, vocab) if reduced_path else None
        for manifest in args.manifest:
            rows = read_manifest(manifest)
            refs = [full.parse(text) for _, text in rows]
            lps = [recognizer.utterance_log_probs(recognizer.waveform(audio)) for audio, _ in rows]
            results = {}
            for name, (intents, ms) in decode_all(lps, methods(args.grammar, args.lm), full,
                                                  vocab, frame).items():
                right = sum(i is not None and i == r for i, r in zip(intents, refs))
                results[name] = {"n": len(rows), "right": right,
                                 "accuracy": right / max(1, len(rows)),
                                 "no_intent": sum(i is None for i in intents),
                                 "ms_median": statistics.median(ms) if ms else 0.0}
            held = [k for k, r in enumerate(refs) if r is not None and r.name in args.holdout]
            if reduced is not None and held:
                decoded = decode_all([lps[k] for k in held], methods(reduced_path, args.lm),
                                     reduced, vocab, frame)
                for name, (intents, _) in decoded.items():
                    results[name]["held_n"] = len(held)
                    results[name]["held_rejected"] = sum(i is None for i in intents)
            report[manifest] = {"coverage": sum(r is not None for r in refs) / max(1, len(rows)),
                                "methods": results}
    print_table(report, args.holdout)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2), encoding="utf-8")


def print_table(report: dict[str, dict], holdout: list[str]) -> None:
    extra = f" | {', '.join(holdout)} rejected (held out)" if holdout else ""
    print(f"| test set | utterances | method | intent accuracy | no intent{extra} | "
          f"decode ms (median) |")
    print("|---|---:|---|---:|---:|" + ("---:|" if holdout else "") + "---:|")
    for manifest, entry in report.items():
        for name, s in entry["methods"].items():
            cell = ""
            if holdout:
                n, k = s.get("held_n", 0), s.get("held_rejected", 0)
                cell = f" | {k}/{n} ({100 * k / max(1, n):.1f}%)"
            print(f"| {Path(manifest).stem} | {s['n']} | {name} | {100 * s['accuracy']:.1f}% | "
                  f"{s['no_intent']}{cell} | {s['ms_median']:.1f} |")
    print("\nreference texts that parse: "
          + ", ".join(f"{Path(m).stem} {100 * e['coverage']:.0f}%" for m, e in report.items()))


if __name__ == "__main__":
    main()
