"""Run an exported model over a manifest once and keep its log-probabilities for decoder
benchmarks (benchmarks/decoding.py), so that every decoder sees exactly the same numbers.

Usage: python benchmarks/decoding_dump.py --model M.tflite --manifest TEST.jsonl --out OUT.npz
           [--threads 1]

Writes OUT.npz: ``lp_0 .. lp_{N-1}`` (float32 (T_i, V)) and ``meta`` (JSON: references
normalised as for `edgeasr evaluate`, vocabulary tokens, blank index, frame duration, audio
seconds, and the network's own time: one interpreter thread unless --threads says otherwise).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    from edgeasr.data.manifest import read_manifest
    from edgeasr.text.normalize import normalize_english
    from edgeasr_device.audio import load_audio
    from edgeasr_device.model import TfliteModel

    model = TfliteModel(args.model, num_threads=args.threads)
    arrays, refs, seconds, network = {}, [], 0.0, 0.0
    for i, utterance in enumerate(read_manifest(args.manifest)):
        waveform = load_audio(utterance.audio_path, model.sample_rate)
        model.log_probs(waveform)  # warm: the timed run below sees an allocated interpreter
        started = time.perf_counter()
        arrays[f"lp_{i}"] = model.log_probs(waveform).astype(np.float32)
        network += time.perf_counter() - started
        refs.append(normalize_english(utterance.text))
        seconds += waveform.shape[0] / model.sample_rate
    meta = {"model": str(args.model), "manifest": str(args.manifest), "references": refs,
            "tokens": list(model.vocabulary.tokens), "blank_index": model.vocabulary.blank_index,
            "frame_duration": model.frame_duration, "audio_seconds": seconds,
            "network_seconds": network, "threads": args.threads}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    np.savez(args.out, meta=np.array(json.dumps(meta)), **arrays)
    print(f"{args.out}: {len(refs)} utterances, {seconds:.1f} s of audio, network "
          f"{network:.2f} s ({network / seconds:.4f} s per audio second)")


if __name__ == "__main__":
    main()
