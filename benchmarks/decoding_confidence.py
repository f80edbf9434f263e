"""How well word confidences separate right from wrong words, and what silence and noise
decode to.

Usage: python benchmarks/decoding_confidence.py LOG_PROBS.npz [...] --lm LM.arpa [--lm ...]
           [--model M.tflite ...] [--drop-below 0 0.3 0.5 ...]

For every file (from benchmarks/decoding_dump.py): each decoder's hypothesis words are
aligned to the reference (jiwer); a word is right when the alignment keeps it. AUC is the
probability that a right word has a higher confidence than a wrong one (0.5: no better than
chance). "max-frame" is the confidence edgeasr 0.1 reported (highest frame probability of
each character, averaged over the word); the others are this release's. With --model, also
decodes 2 s of silence, of quiet and of loud white noise, and a 440 Hz tone. With
--drop-below C..., also the WER each decoder would have if words under confidence C were
left out.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from decoding import load  # benchmarks/decoding.py


def auc(right: list[float], wrong: list[float]) -> float:
    """P(a right word's confidence > a wrong one's), ties counting one half."""
    if not right or not wrong:
        return float("nan")
    values = np.concatenate([right, wrong])
    order = values.argsort(kind="mergesort")
    ranks = np.empty(values.size)
    sorted_values = values[order]
    ranks[order] = np.arange(1, values.size + 1)
    for v in np.unique(sorted_values):  # average ranks of ties
        same = values == v
        ranks[same] = ranks[same].mean()
    r = ranks[:len(right)].sum()
    return float((r - len(right) * (len(right) + 1) / 2) / (len(right) * len(wrong)))


def max_frame_confidence(lp: np.ndarray, vocabulary):
    """edgeasr 0.1's word confidence: mean over characters of their highest frame prob."""
    from edgeasr_device.decoding.greedy import _run_confidence, _token_runs

    best = lp.argmax(axis=1)
    starts, ends, ids = _token_runs(best, vocabulary.blank_index)
    probs = _run_confidence(lp, best, starts, ends) if ids.size else np.zeros(0)
    words, current = [], []
    for token, p in zip(ids.tolist(), probs.tolist()):
        if token == vocabulary.space_index:
            if current:
                words.append(float(np.mean(current)))
            current = []
        else:
            current.append(p)
    if current:
        words.append(float(np.mean(current)))
    return words


def labelled(ref: str, words) -> tuple[list[bool], list[float]]:
    import jiwer

    hyp = " ".join(w for w, _ in words)
    ok = [False] * len(words)
    if hyp and ref:
        for chunk in jiwer.process_words(ref, hyp).alignments[0]:
            if chunk.type == "equal":
                for j in range(chunk.hyp_start_idx, chunk.hyp_end_idx):
                    ok[j] = True
    return ok, [c for _, c in words]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_probs", nargs="+")
    parser.add_argument("--lm", action="append", required=True)
    parser.add_argument("--model", action="append", default=[])
    parser.add_argument("--drop-below", type=float, nargs="+", default=[],
                        help="also: WER when the words under each of these confidences are "
                             "dropped (what a confidence threshold would cost or gain)")
    args = parser.parse_args()
    from edgeasr_device.decoding import DecodingOptions, make_decoder
    from edgeasr_device.vocab import Vocabulary

    lms = args.lm * len(args.log_probs) if len(args.lm) == 1 else args.lm
    drops = []
    print("| set | decoder | words | wrong | AUC right vs wrong | mean conf. right | "
          "mean conf. wrong |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for path, lm in zip(args.log_probs, lms):
        arrays, meta = load(path)
        vocabulary = Vocabulary(tuple(meta["tokens"]), meta["blank_index"])
        decoders = {name: make_decoder(o, vocabulary, meta["frame_duration"]) for name, o in [
            ("greedy", DecodingOptions()),
            ("beam 16", DecodingOptions(method="beam")),
            ("beam 16 + LM", DecodingOptions(method="beam", lm=lm))]}
        results = {"greedy (max-frame, 0.1)": [], **{k: [] for k in decoders}}
        kept = {k: [] for k in decoders}  # per decoder, per utterance: (word, confidence)
        for lp, ref in zip(arrays, meta["references"]):
            greedy = decoders["greedy"].decode(lp)
            old = max_frame_confidence(lp, vocabulary)
            results["greedy (max-frame, 0.1)"].append(
                labelled(ref, list(zip([w.text for w in greedy.words], old))))
            for name, decoder in decoders.items():
                words = [(w.text, w.confidence) for w in decoder.decode(lp).words]
                results[name].append(labelled(ref, words))
                kept[name].append(words)
        for name, rows in results.items():
            right = [c for ok, cs in rows for o, c in zip(ok, cs) if o]
            wrong = [c for ok, cs in rows for o, c in zip(ok, cs) if not o]
            print(f"| {path.rsplit('/', 1)[-1][:-4]} | {name} | {len(right) + len(wrong)} | "
                  f"{len(wrong)} | {auc(right, wrong):.3f} | {np.mean(right):.3f} | "
                  f"{np.mean(wrong) if wrong else float('nan'):.3f} |")
        if args.drop_below:
            drops.append((path, meta["references"], kept))
    if args.drop_below:
        _dropped_wer(drops, args.drop_below)
    for model_path, lm in zip(args.model, lms[::max(1, len(lms) // max(1, len(args.model)))]):
        _non_speech(model_path, lm)


def _dropped_wer(drops, thresholds: list[float]) -> None:
    """WER per set and decoder with the words below each confidence threshold left out."""
    import jiwer

    print("\nWER with the words below a confidence dropped\n")
    print("| set | decoder | " + " | ".join(f"< {c:g}" for c in thresholds) + " |")
    print("|---|---|" + "---:|" * len(thresholds))
    for path, refs, kept in drops:
        for name, utterances in kept.items():
            cells = []
            for c in thresholds:
                hyps = [" ".join(w for w, conf in words if conf >= c) for words in utterances]
                cells.append(f"{100 * jiwer.wer(refs, hyps):.2f}%")
            print(f"| {path.rsplit('/', 1)[-1][:-4]} | {name} | " + " | ".join(cells) + " |")


def _non_speech(model_path: str, lm: str) -> None:
    from edgeasr_device.decoding import DecodingOptions
    from edgeasr_device.recognizer import Recognizer

    print(f"\n{model_path}: 2 s of non-speech (text, utterance confidence)\n")
    print("| input | greedy | beam 16 | beam 16 + LM |")
    print("|---|---|---|---|")
    recognizers = [Recognizer(model_path, options=o) for o in (
        DecodingOptions(), DecodingOptions(method="beam"), DecodingOptions(method="beam", lm=lm))]
    rate = recognizers[0].sample_rate
    rng = np.random.default_rng(0)
    n = 2 * rate
    inputs = {"silence (zeros)": np.zeros(n), "white noise, RMS 0.01": 0.01 * rng.standard_normal(n),
              "white noise, RMS 0.1": 0.1 * rng.standard_normal(n),
              "440 Hz tone": 0.3 * np.sin(2 * np.pi * 440 * np.arange(n) / rate)}
    for name, wave in inputs.items():
        cells = []
        for rec in recognizers:
            t = rec.transcribe(wave.astype(np.float32), sample_rate=rate)
            cells.append(f"{json.dumps(t.text)} {t.confidence:.2f}")
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
