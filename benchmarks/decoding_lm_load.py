"""Build, load time and memory of word 3-gram models of about 10 K, 100 K and 1 M n-grams.

Usage: python benchmarks/decoding_lm_load.py OUT_DIR [--sizes 10000 100000 1000000]

The text is random sentences over a 20,000-word Zipf vocabulary (seeded), about as many tokens
as the wanted n-gram count; sizes are what Kneser-Ney building then gives. Each model is
written as ARPA (`edgeasr-device lm build`'s code), compiled (`lm compile`), and loaded in a
fresh process per format: time to a usable model, peak RSS growth, and the bytes of its arrays
(a compiled file is memory-mapped: pages are read when the search touches them).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

_LOAD = """
import json, sys, time
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
from edgeasr_device.decoding.lm_file import load_lm
from edgeasr_device.decoding.lm_scorer import NgramScorer
from edgeasr_device.vocab import Vocabulary
imported = status("VmRSS:")
started = time.perf_counter()
model = load_lm(sys.argv[1], cache=False)
scorer = NgramScorer(model, Vocabulary.english())
state = scorer.start()
for w in ("w1", "w2", "w3"):
    state = scorer.score(state, w)[1]
seconds = time.perf_counter() - started
grown = status("VmHWM:") - imported
print(json.dumps({"seconds": seconds, "rss_mb": grown / 1024, "arrays_mb": model.nbytes / 1e6,
                  "counts": list(model.counts)}))
"""


def words_for(vocab_size: int) -> list[str]:
    """Spellable pseudo-words: 'w' + the number written in letters a-j."""
    return ["w" + "".join("abcdefghij"[int(d)] for d in str(i)) for i in range(vocab_size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    from edgeasr_device.decoding.arpa import write_arpa
    from edgeasr_device.decoding.kneser_ney import build_lm
    from edgeasr_device.decoding.lm_file import compile_lm

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    vocab = words_for(20_000)
    zipf = 1.0 / np.arange(1, len(vocab) + 1)
    zipf /= zipf.sum()
    rows = []
    for size in args.sizes:
        tokens = int(size * 0.53)
        for _ in range(2):  # a second try scaled to the count the first one gave
            rng = np.random.default_rng(size)
            ids = rng.choice(len(vocab), size=tokens, p=zipf)
            cuts = np.cumsum(rng.integers(4, 15, size=tokens // 4))
            cuts = cuts[cuts < tokens]
            sentences = [[vocab[i] for i in part] for part in np.split(ids, cuts) if part.size]
            started = time.perf_counter()
            entries = build_lm(sentences, order=3)
            build = time.perf_counter() - started
            count = sum(len(e.grams) for e in entries)
            if abs(count - size) < 0.05 * size:
                break
            tokens = int(tokens * size / count)
        arpa, binary = out / f"lm{size}.arpa", out / f"lm{size}.bin"
        write_arpa(arpa, entries)
        started = time.perf_counter()
        compile_lm(arpa, binary)
        compile_seconds = time.perf_counter() - started
        for path in (arpa, binary):
            result = json.loads(subprocess.run([sys.executable, "-c", _LOAD, str(path)],
                                               check=True, capture_output=True,
                                               text=True).stdout)
            rows.append({"target": size, "ngrams": sum(result["counts"]), "format":
                         "compiled" if path == binary else "ARPA",
                         "file_mb": path.stat().st_size / 1e6, "build_s": build,
                         "compile_s": compile_seconds, "tokens": tokens, **result})
    print("| n-grams (1/2/3) | text tokens | KN build s | format | file MB | load s | "
          "peak RSS growth MB | arrays MB |")
    print("|---|---:|---:|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['ngrams']:,} ({'/'.join(f'{c:,}' for c in r['counts'])}) | "
              f"{r['tokens']:,} | {r['build_s']:.1f} | {r['format']} | {r['file_mb']:.1f} | "
              f"{r['seconds']:.3f} | {r['rss_mb']:.1f} | {r['arrays_mb']:.1f} |")
    (out / "lm_load.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
