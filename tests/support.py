"""Helpers the training-side tests import (conftest.py holds only fixtures and hooks).

Named ``support`` rather than imported from ``conftest``: device/tests has a conftest of its
own, and two modules named ``conftest`` cannot both be imported by that name.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


#: What the ``speech_corpus`` fixture (conftest.py) says, one utterance each.
PHRASES = (
    "turn on the kitchen lights",
    "open the garage door",
    "set an alarm for seven",
    "play some music",
)


def speak(text: str, voice: str = "en-us+m3", rate: int = 175) -> np.ndarray:
    """16 kHz float32 speech for ``text`` (espeak-ng, bundled by espeakng-loader)."""
    from edgeasr.synth.render import synthesize_utterance

    return synthesize_utterance(text, voice, sample_rate=16000, rate=rate)


def write_manifest_lines(path: Path, entries: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries))
    return path
