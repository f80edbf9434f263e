"""The TIMIT sample DeepSpeech's CI overfits on: ``LDC93S1.wav`` + ``LDC93S1.txt``.

The transcript file is either plain text or TIMIT's ``<start> <end> <text>`` form
(:func:`strip_sample_range`). The recipe writes one manifest, ``ldc93s1.jsonl``, with the
one utterance (no splits, no report).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from edgeasr.data.manifest import Utterance, write_manifest
from edgeasr.prepare.corpora.common import CorpusError
from edgeasr_device.audio import audio_duration

__all__ = ["build", "strip_sample_range"]


def strip_sample_range(text: str) -> str:
    """TIMIT transcripts start with the utterance's sample range: ``0 46797 She had ...``."""
    return re.sub(r"^\s*\d+\s+\d+\s+", "", text.strip())


def build(src: str | os.PathLike, out_dir: str | os.PathLike,
          config_path: str | os.PathLike | None = None, workers: int = 1) -> dict[str, Path]:
    """``{"all": OUT/ldc93s1.jsonl}``, the manifest of ``src``'s one utterance.

    Raises:
        CorpusError: ``LDC93S1.wav`` or ``LDC93S1.txt`` is missing from ``src``.
    """
    src = Path(src)
    wav, txt = src / "LDC93S1.wav", src / "LDC93S1.txt"
    for path in (wav, txt):
        if not path.is_file():
            raise CorpusError(f"{path} is missing; --src must be the folder holding "
                              "LDC93S1.wav and .txt")
    text = strip_sample_range(txt.read_text(encoding="utf-8"))
    utterance = Utterance(wav.resolve(), audio_duration(wav), text, "ldc93s1")
    return {"all": write_manifest([utterance], Path(out_dir) / "ldc93s1.jsonl")}
