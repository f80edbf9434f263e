"""Transcript-consistent cut points for long utterances, from a CTC forced alignment.

:func:`plan_cuts` picks cut points in the longest silences *between* aligned words so that
every piece is at most a given length; each piece then holds exactly the words whose
alignment lies inside it. The alignment itself (:func:`edgeasr_device.decoding.viterbi_align`,
:func:`edgeasr_device.decoding.word_times`) is a decoding algorithm and lives on the device
side.

:class:`ExportedAligner` supplies the log-probabilities from an ``edgeasr export``
``.tflite`` model through :class:`edgeasr_device.model.TfliteModel`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from edgeasr_device.decoding.align import WordTime
from edgeasr_device.model import AcousticModel
from edgeasr_device.vocab import Vocabulary

__all__ = ["AlignmentModel", "ExportedAligner", "plan_cuts"]

#: What the splitter needs from an acoustic model: waveform -> log-probabilities (T, V).
AlignmentModel = AcousticModel


def plan_cuts(words: Sequence[WordTime], quiet: Sequence[tuple[int, int]], n_samples: int,
              rate: int, max_seconds: float, min_seconds: float = 0.0) -> list[int] | None:
    """Sample indices at which to cut so that every piece lasts at most ``max_seconds``.

    Cuts are only placed between two consecutive words, inside the gap between the
    first word's end and the next word's start. A gap's worth is the longest quiet
    range (from :func:`edgeasr.audio.silence.silences`) inside it, and the cut goes
    in that range's middle (the gap's middle when nothing quiet is inside). A piece
    that is too long is cut at its worthiest gap whose two sides are both at least
    ``min_seconds`` long (any gap when none is), then each side is checked the same way.

    Args:
        words: aligned words in order.
        quiet: ``(start, end)`` sample ranges of silence.
        n_samples: length of the audio the words were aligned on.

    Returns:
        Sorted cut sample indices (``[]`` if the audio is short enough), or None when
        some piece longer than ``max_seconds`` has no gap between words to cut at.
    """
    max_len, min_len = max_seconds * rate, min_seconds * rate
    gaps: list[tuple[float, int]] = []  # (worth in samples, cut sample) per word boundary
    for left, right in zip(words[:-1], words[1:]):
        lo = int(round(left.end * rate))
        hi = max(lo, int(round(right.start * rate)))
        best = (-1, (lo + hi) // 2)
        for q_start, q_end in quiet:
            a, b = max(q_start, lo), min(q_end, hi)
            if b > a and b - a > best[0]:
                best = (b - a, (a + b) // 2)
        gaps.append((max(best[0], 0), best[1]))

    cuts: list[int] = []
    todo = [(0, n_samples, 0, len(gaps))]  # pieces still to check: samples, gap range
    while todo:
        start, end, first_gap, stop_gap = todo.pop()
        if end - start <= max_len:
            continue
        inside = [g for g in range(first_gap, stop_gap) if start < gaps[g][1] < end]
        if not inside:
            return None
        roomy = [g for g in inside
                 if gaps[g][1] - start >= min_len and end - gaps[g][1] >= min_len]
        chosen = max(roomy or inside, key=lambda g: (gaps[g][0], -g))
        cut = gaps[chosen][1]
        cuts.append(cut)
        todo += [(start, cut, first_gap, chosen), (cut, end, chosen + 1, stop_gap)]
    return sorted(cuts)


class ExportedAligner:
    """An :class:`AlignmentModel` backed by an exported ``.tflite`` model.

    The interpreter is opened on first use and not pickled, so an instance can be
    sent to worker processes (each opens its own).
    """

    def __init__(self, model_path: str | os.PathLike):
        self.model_path = os.fspath(model_path)
        self._model: Any = None
        model = self._load()  # fail early on a missing or malformed model
        self.vocabulary: Vocabulary = model.vocabulary
        self.sample_rate: int = model.sample_rate
        self.frame_duration: float = model.frame_duration

    def _load(self) -> Any:
        if self._model is None:
            from edgeasr_device.model import TfliteModel

            self._model = TfliteModel(self.model_path, num_threads=1)
        return self._model

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        """float32 ``(N,)`` at :attr:`sample_rate` -> ``(T, V)`` log-probabilities."""
        return np.asarray(self._load().log_probs(waveform), dtype=np.float32)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_model"] = None
        return state
