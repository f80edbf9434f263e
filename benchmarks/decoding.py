"""Decoders side by side on dumped log-probabilities: WER and speed of edgeasr's greedy and
beam search (with and without a word 3-gram) against pyctcdecode 0.5 + kenlm.

Usage: python benchmarks/decoding.py LOG_PROBS.npz [...] --lm LM.arpa [--lm ...]
           [--pyctcdecode-python /work/venvs/pyctc/bin/python] [--beam-width 32]
           [--lm-weight 0.5] [--word-bonus 1.0] [--token-min-logp -10 ...] [--json OUT]

One --lm per log-probability file (the LM built from that set's training text), or one for
all. LOG_PROBS.npz come from benchmarks/decoding_dump.py. pyctcdecode runs in its own venv
(it pins numpy < 2) through benchmarks/decoding_pyctcdecode.py, on the same files, with the
same beam width, LM, weight (alpha) and bonus (beta); both add alpha * ln P(word) + beta per
word. Decoder time is the search only (no network, no file loading), one process, one thread,
one utterance at a time. Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np


def load(path: str):
    data = np.load(path)
    meta = json.loads(str(data["meta"]))
    return [data[f"lp_{i}"] for i in range(len(meta["references"]))], meta


def wer(refs: list[str], hyps: list[str]) -> float:
    import jiwer

    return jiwer.wer(refs, [" ".join(h.split()) for h in hyps])


def run_edgeasr(arrays, meta, options, repeat: int = 1) -> tuple[list[str], float]:
    from edgeasr_device.decoding import make_decoder
    from edgeasr_device.vocab import Vocabulary

    vocabulary = Vocabulary(tuple(meta["tokens"]), meta["blank_index"])
    decoder = make_decoder(options, vocabulary, meta["frame_duration"])
    decoder.decode(arrays[0])  # warm caches of the first call only
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        hyps = [decoder.decode(lp).text for lp in arrays]
        best = min(best, time.perf_counter() - started)
    return hyps, best


def run_pyctcdecode(python: str, path: str, lm: str | None, args) -> tuple[list[str], float]:
    here = Path(__file__).with_name("decoding_pyctcdecode.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        command = [python, str(here), path, "--out", str(out), "--beam-width",
                   str(args.beam_width), "--alpha", str(args.lm_weight), "--beta",
                   str(args.word_bonus if lm else 0.0)]
        if lm:
            command += ["--lm", lm]
        subprocess.run(command, check=True, capture_output=True, text=True)
        result = json.loads(out.read_text())
    return result["hypotheses"], result["decode_seconds"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("log_probs", nargs="+")
    parser.add_argument("--lm", action="append", required=True)
    parser.add_argument("--pyctcdecode-python")
    parser.add_argument("--beam-width", type=int, default=32)
    parser.add_argument("--lm-weight", type=float, default=0.5)
    parser.add_argument("--word-bonus", type=float, default=1.0)
    parser.add_argument("--token-min-logp", type=float, action="append")
    parser.add_argument("--json")
    args = parser.parse_args()
    from edgeasr_device.decoding import DecodingOptions

    lms = args.lm * len(args.log_probs) if len(args.lm) == 1 else args.lm
    if len(lms) != len(args.log_probs):
        parser.error("give one --lm, or one per log-probability file")
    thresholds = args.token_min_logp or [DecodingOptions().token_min_logp]
    rows = []
    for path, lm in zip(args.log_probs, lms):
        arrays, meta = load(path)
        refs, seconds = meta["references"], meta["audio_seconds"]
        name = Path(path).stem
        configs = [("edgeasr greedy", DecodingOptions(), None)]
        for threshold in thresholds:
            beam = DecodingOptions(method="beam", beam_width=args.beam_width,
                                   token_min_logp=threshold)
            tag = f"token_min_logp {threshold:g}"
            configs.append((f"edgeasr beam {args.beam_width} ({tag})", beam, None))
            configs.append((f"edgeasr beam {args.beam_width} + LM ({tag})",
                            beam.replace(lm=lm, lm_weight=args.lm_weight,
                                         word_bonus=args.word_bonus), None))
        for label, options, _ in configs:
            hyps, spent = run_edgeasr(arrays, meta, options, repeat=3 if "greedy" in label else 1)
            rows.append({"set": name, "decoder": label, "wer": wer(refs, hyps),
                         "seconds": spent, "audio": seconds, "network": meta["network_seconds"]})
        if args.pyctcdecode_python:
            for label, model in ((f"pyctcdecode beam {args.beam_width}", None),
                                 (f"pyctcdecode beam {args.beam_width} + kenlm", lm)):
                hyps, spent = run_pyctcdecode(args.pyctcdecode_python, path, model, args)
                rows.append({"set": name, "decoder": label, "wer": wer(refs, hyps),
                             "seconds": spent, "audio": seconds,
                             "network": meta["network_seconds"]})
    print("| set | decoder | WER | decoder s per audio s | x real time | share of device time |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        per = r["seconds"] / r["audio"]
        share = r["seconds"] / (r["seconds"] + r["network"])
        print(f"| {r['set']} | {r['decoder']} | {100 * r['wer']:.2f}% | {per:.6f} | "
              f"{1 / per:,.0f} | {100 * share:.1f}% |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
