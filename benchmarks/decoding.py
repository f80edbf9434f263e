"""Decoders side by side on dumped log-probabilities: WER and speed of edgeasr's greedy and
beam search (with and without a word 3-gram) against pyctcdecode 0.5 + kenlm.

Usage: python benchmarks/decoding.py LOG_PROBS.npz [...] --lm LM.arpa [--lm ...]
           [--pyctcdecode-python /work/venvs/pyctc/bin/python] [--beam-width 32]
           [--lm-weight 0.5] [--word-bonus 1.0] [--token-min-logp -10 ...] [--repeat 3]
           [--baseline DIR] [--json OUT]

One --lm per log-probability file (the LM built from that set's training text), or one for
all. LOG_PROBS.npz come from benchmarks/decoding_dump.py. pyctcdecode runs in its own venv
(it pins numpy < 2) through benchmarks/decoding_pyctcdecode.py, on the same files, with the
same beam width, LM, weight (alpha) and bonus (beta); both add alpha * ln P(word) + beta per
word. --baseline DIR runs the same edgeasr decoders from another copy of the device package
(DIR/edgeasr_device, e.g. an older commit: ``git archive COMMIT device/edgeasr_device | tar
-x -C /tmp/before`` and ``--baseline /tmp/before/device``) in a subprocess, for before/after
ratios measured in one run.

Decoder time is the search only (no network, no file loading), one process, one thread, one
utterance at a time, as CPU seconds of the decoding process (``time.process_time``: on a
machine shared with other jobs wall-clock time mostly measures the other jobs), the fastest
of --repeat passes over the set. "transcript" is ``decode()`` (text, word times, word and
utterance confidences); "text" is the search and the best hypothesis's text only, which is
what pyctcdecode's ``decode`` returns. Both keep edgeasr's scorer caches (LM scores and
prefix transitions) from utterance to utterance, as a running decoder does, and are warm
from the passes before; "cold caches" is ``decode()`` with the score caches emptied before
every utterance (untimed; ``PrefixScorer.clear_caches``: what the LM said about which words
and prefixes, not the look-ups of the model's own structure), which is how pyctcdecode
always runs (its LM score caches live for one ``decode`` call), so that column is the
like-for-like one for a single new utterance.
Prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
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


def _fastest(run, repeat: int) -> tuple[list[str], float, float]:
    """``run()`` ``repeat`` times: its result and the least CPU and wall seconds."""
    cpu = wall = float("inf")
    out = None
    for _ in range(max(1, repeat)):
        started, used = time.perf_counter(), time.process_time()
        out = run()
        wall = min(wall, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - used)
    return out, cpu, wall


def _cold(decoder, arrays) -> tuple[list[str], float, float]:
    """Every utterance decoded with the scorer's caches emptied first (not timed), as
    pyctcdecode starts each ``decode`` with empty caches: (texts, CPU s, wall s)."""
    texts, cpu, wall = [], 0.0, 0.0
    scorer = getattr(decoder, "scorer", None)
    for lp in arrays:
        if scorer is not None:
            scorer.clear_caches()
        started, used = time.perf_counter(), time.process_time()
        texts.append(decoder.decode(lp).text)
        wall += time.perf_counter() - started
        cpu += time.process_time() - used
    return texts, cpu, wall


def run_edgeasr(arrays, meta, options, repeat: int = 1) -> dict:
    from edgeasr_device.decoding import make_decoder
    from edgeasr_device.vocab import Vocabulary

    vocabulary = Vocabulary(tuple(meta["tokens"]), meta["blank_index"])
    decoder = make_decoder(options, vocabulary, meta["frame_duration"])
    decoder.decode(arrays[0])  # warm caches of the first call only
    hyps, cpu, wall = _fastest(lambda: [decoder.decode(lp).text for lp in arrays], repeat)
    result = {"hyps": hyps, "seconds": cpu, "wall_seconds": wall}
    if getattr(decoder, "scorer", None) is not None and hasattr(decoder.scorer, "clear_caches"):
        cold = [_cold(decoder, arrays) for _ in range(max(1, repeat))]
        result["cold_seconds"] = min(c[1] for c in cold)
    if hasattr(decoder, "search"):
        tokens = vocabulary.tokens

        def texts():
            return ["".join(tokens[i] for i in decoder.search(lp)[0].tokens) for lp in arrays]

        _, result["text_seconds"], _ = _fastest(texts, repeat)
    return result


def run_pyctcdecode(python: str, path: str, lm: str | None, args) -> dict:
    here = Path(__file__).with_name("decoding_pyctcdecode.py")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        command = [python, str(here), path, "--out", str(out), "--beam-width",
                   str(args.beam_width), "--alpha", str(args.lm_weight), "--beta",
                   str(args.word_bonus if lm else 0.0), "--repeat", str(args.repeat)]
        if lm:
            command += ["--lm", lm]
        subprocess.run(command, check=True, capture_output=True, text=True)
        result = json.loads(out.read_text())
    return {"hyps": result["hypotheses"], "seconds": result["decode_cpu_seconds"],
            "wall_seconds": result["decode_seconds"],
            "text_seconds": result["decode_cpu_seconds"],
            "cold_seconds": result["decode_cpu_seconds"]}  # its caches live for one decode


def edgeasr_rows(path: str, lm: str, args, label: str = "edgeasr") -> list[dict]:
    from edgeasr_device.decoding import DecodingOptions

    arrays, meta = load(path)
    thresholds = args.token_min_logp or [DecodingOptions().token_min_logp]
    configs = [(f"{label} greedy", DecodingOptions())]
    for threshold in thresholds:
        beam = DecodingOptions(method="beam", beam_width=args.beam_width,
                               token_min_logp=threshold)
        tag = f"token_min_logp {threshold:g}"
        configs.append((f"{label} beam {args.beam_width} ({tag})", beam))
        configs.append((f"{label} beam {args.beam_width} + LM ({tag})",
                        beam.replace(lm=lm, lm_weight=args.lm_weight,
                                     word_bonus=args.word_bonus)))
    rows = []
    for name, options in configs:
        result = run_edgeasr(arrays, meta, options, repeat=max(args.repeat, 3)
                             if "greedy" in name else args.repeat)
        rows.append(_row(path, meta, name, result))
    return rows


def baseline_rows(directory: str, path: str, lm: str, args) -> list[dict]:
    """:func:`edgeasr_rows` with the device package in ``directory`` (a subprocess)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rows.json"
        command = [sys.executable, __file__, path, "--lm", lm, "--edgeasr-only",
                   "--label", "edgeasr before", "--beam-width", str(args.beam_width),
                   "--lm-weight", str(args.lm_weight), "--word-bonus", str(args.word_bonus),
                   "--repeat", str(args.repeat), "--json", str(out)]
        for threshold in args.token_min_logp or []:
            command += ["--token-min-logp", str(threshold)]
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(directory).resolve())] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
        subprocess.run(command, check=True, capture_output=True, text=True, env=env)
        return json.loads(out.read_text())


def _row(path: str, meta: dict, decoder: str, result: dict) -> dict:
    return {"set": Path(path).stem, "decoder": decoder,
            "wer": wer(meta["references"], result["hyps"]), "seconds": result["seconds"],
            "wall_seconds": result["wall_seconds"], "text_seconds": result.get("text_seconds"),
            "cold_seconds": result.get("cold_seconds"),
            "audio": meta["audio_seconds"], "network": meta["network_seconds"]}


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
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline", help="directory holding another edgeasr_device")
    parser.add_argument("--edgeasr-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--label", default="edgeasr", help=argparse.SUPPRESS)
    parser.add_argument("--json")
    args = parser.parse_args()

    lms = args.lm * len(args.log_probs) if len(args.lm) == 1 else args.lm
    if len(lms) != len(args.log_probs):
        parser.error("give one --lm, or one per log-probability file")
    rows = []
    for path, lm in zip(args.log_probs, lms):
        rows += edgeasr_rows(path, lm, args, args.label)
        if args.edgeasr_only:
            continue
        if args.baseline:
            rows += baseline_rows(args.baseline, path, lm, args)
        if args.pyctcdecode_python:
            _, meta = load(path)
            for label, model in ((f"pyctcdecode beam {args.beam_width}", None),
                                 (f"pyctcdecode beam {args.beam_width} + kenlm", lm)):
                result = run_pyctcdecode(args.pyctcdecode_python, path, model, args)
                rows.append(_row(path, meta, label, result))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    if args.edgeasr_only:
        return
    print("| set | decoder | WER | transcript: CPU s per audio s | x real time | text only: "
          "CPU s per audio s | x real time | cold caches: CPU s per audio s | x real time | "
          "share of device time |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        per = r["seconds"] / r["audio"]
        share = r["seconds"] / (r["seconds"] + r["network"])
        text = r["text_seconds"] / r["audio"] if r.get("text_seconds") else None
        text_cells = f"{text:.6f} | {1 / text:,.0f}" if text else "- | -"
        cold = r["cold_seconds"] / r["audio"] if r.get("cold_seconds") else None
        cold_cells = f"{cold:.6f} | {1 / cold:,.0f}" if cold else "- | -"
        print(f"| {r['set']} | {r['decoder']} | {100 * r['wer']:.2f}% | {per:.6f} | "
              f"{1 / per:,.0f} | {text_cells} | {cold_cells} | {100 * share:.1f}% |")


if __name__ == "__main__":
    main()
