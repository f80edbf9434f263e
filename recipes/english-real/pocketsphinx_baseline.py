"""WER of PocketSphinx (its bundled en-us acoustic model and 3-gram LM) on a manifest.

Usage: python pocketsphinx_baseline.py MANIFEST.jsonl [REPORT.json]

The reference point the english-real goals name ("below PocketSphinx on read English"):
the same manifests, the same text normalisation (edgeasr.text.normalize.normalize_english)
and the same WER (jiwer, over the whole set) as `edgeasr evaluate`. Needs
`pip install pocketsphinx` (not a project dependency).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from edgeasr.data.manifest import read_manifest
from edgeasr.evaluation.metrics import error_rates
from edgeasr.text.normalize import normalize_english
from edgeasr_device.audio import load_audio


def main(argv: list[str]) -> int:
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=16000, loglevel="FATAL")
    refs, hyps, rows = [], [], []
    started = time.perf_counter()
    for utterance in read_manifest(argv[1]):
        audio = load_audio(utterance.audio_path, 16000)
        pcm = (np.clip(audio, -1, 1) * 32767).astype(np.int16).tobytes()
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hypothesis = normalize_english(decoder.hyp().hypstr if decoder.hyp() else "")
        refs.append(normalize_english(utterance.text))
        hyps.append(hypothesis)
        rows.append({"reference": refs[-1], "hypothesis": hypothesis})
    rates = error_rates(refs, hyps)
    seconds = time.perf_counter() - started
    print(f"pocketsphinx {argv[1]}: WER {rates.wer:.2%} CER {rates.cer:.2%} "
          f"({len(refs)} utterances, {seconds:.0f} s)")
    if len(argv) > 2:
        with open(argv[2], "w", encoding="utf-8") as handle:
            json.dump({"manifest": argv[1], "wer": rates.wer, "cer": rates.cer,
                       "utterances": rows}, handle, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
