"""Greedy (best-path) CTC decoding with word timings and confidences.

Input is the model output for one utterance: ``log_probs`` of shape ``(T, V)``
(T frames, V classes, log-softmax over V). Best path: take the arg-max class of
every frame, collapse runs of the same class, drop blanks. Everything is
vectorised; a 10-minute utterance (T = 30000) decodes in a few milliseconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import VocabularyError
from ..vocab import Vocabulary
from .base import EMPTY_TRANSCRIPT, DecodingOptions, Transcript, Word, register_decoder

__all__ = ["GreedyDecoder", "greedy_decode", "greedy_ids"]


def greedy_ids(log_probs: np.ndarray, blank_index: int) -> np.ndarray:
    """Best-path token ids: arg-max per frame, repeats collapsed, blanks dropped.

    Args:
        log_probs: ``(T, V)`` scores (log-probabilities or logits).
        blank_index: class index of the CTC blank.

    Returns:
        int64 array of shape ``(L,)`` with ``L <= T``.
    """
    lp = _check_scores(log_probs)
    if not 0 <= blank_index < lp.shape[1]:
        raise ValueError(f"blank_index {blank_index} is out of range for {lp.shape[1]} classes")
    _, _, ids = _token_runs(lp.argmax(axis=1), blank_index)
    return ids


def greedy_decode(log_probs: np.ndarray, vocabulary: Vocabulary,
                  frame_duration: float) -> Transcript:
    """Decode one utterance into words with timings and confidences.

    Args:
        log_probs: ``(T, V)`` log-softmax output, ``V == vocabulary.size``.
            (Logits also work: confidences are computed with a log-softmax.)
        vocabulary: maps class ids to tokens; words are split at its space token
            (characters) or start at pieces with the word-start marker (pieces).
        frame_duration: seconds per output frame.

    Returns:
        A :class:`Transcript`. A word starts at ``first_frame * frame_duration``
        of its first character and ends at ``(last_frame + 1) * frame_duration``
        of its last character, where a character's frames are its run of
        identical arg-max frames. A character's confidence is the highest
        per-frame top probability within its run; a word's is the product over
        its characters (the probability that all are right); the transcript's
        is the product over its words.
    """
    lp = _check_scores(log_probs)
    if lp.shape[1] != vocabulary.size:
        raise VocabularyError(f"log_probs have {lp.shape[1]} classes but the vocabulary has "
                              f"{vocabulary.size}: the model and its vocabulary do not match")
    if not (isinstance(frame_duration, (int, float, np.floating)) and
            math.isfinite(frame_duration) and frame_duration > 0):
        raise ValueError(f"frame_duration must be a positive number of seconds, "
                         f"got {frame_duration!r}")
    if lp.shape[0] == 0:
        return EMPTY_TRANSCRIPT
    best = lp.argmax(axis=1)
    starts, ends, ids = _token_runs(best, vocabulary.blank_index)
    if ids.size == 0:
        return EMPTY_TRANSCRIPT
    probs = _run_confidence(lp, best, starts, ends)

    # a word ends at a space token (characters) and starts at a word-start piece (pieces)
    space = vocabulary.space_index
    is_space = ids == space if space is not None else np.zeros(ids.shape, dtype=bool)
    word_no = np.cumsum(is_space | vocabulary.word_starts[ids])[~is_space]
    chars = ~is_space
    ids, starts, ends, probs = ids[chars], starts[chars], ends[chars], probs[chars]
    if ids.size == 0:
        return EMPTY_TRANSCRIPT
    first = np.flatnonzero(np.concatenate(([True], word_no[1:] != word_no[:-1])))
    last = np.append(first[1:], ids.size) - 1
    w_start = starts[first] * float(frame_duration)
    w_end = (ends[last] + 1) * float(frame_duration)
    w_conf = np.exp(np.add.reduceat(np.log(np.maximum(probs, 1e-300)), first))

    pieces = [vocabulary.token_text(i) for i in ids.tolist()]
    words = tuple(
        Word(text="".join(pieces[a:b + 1]), start=float(s), end=float(e), confidence=float(c))
        for a, b, s, e, c in zip(first.tolist(), last.tolist(), w_start, w_end, w_conf))
    words = tuple(w for w in words if w.text)  # a lone word-start piece spells nothing
    return Transcript(text=" ".join(w.text for w in words), words=words,
                      confidence=float(np.prod([w.confidence for w in words])))


@register_decoder("greedy")
@dataclass(frozen=True)
class GreedyDecoder:
    """Best-path decoding (:func:`greedy_decode`) for one model's vocabulary and frame rate."""

    vocabulary: Vocabulary
    frame_duration: float

    @classmethod
    def from_options(cls, options: DecodingOptions, vocabulary: Vocabulary,
                     frame_duration: float) -> GreedyDecoder:
        """The decoder for ``DecodingOptions(method="greedy")`` (it has no options)."""
        return cls(vocabulary, frame_duration)

    def decode(self, log_probs: np.ndarray) -> Transcript:
        """``(T, V)`` log-probabilities -> transcript with word times and confidences."""
        return greedy_decode(log_probs, self.vocabulary, self.frame_duration)


def _check_scores(log_probs: np.ndarray) -> np.ndarray:
    lp = np.asarray(log_probs)
    if lp.ndim != 2:
        raise ValueError(f"log_probs must have shape (T, V) for one utterance, got shape "
                         f"{lp.shape}; drop the batch axis, e.g. log_probs[0]")
    if not np.issubdtype(lp.dtype, np.floating):
        raise ValueError(f"log_probs must be floating point, got {lp.dtype}; dequantize first")
    if lp.shape[1] == 0:
        raise ValueError("log_probs has no classes (shape (T, 0))")
    if np.isnan(lp).any():
        raise ValueError("log_probs contain NaN: the model produced invalid output "
                         "(check the input audio and the model file)")
    return lp


def _token_runs(best: np.ndarray, blank: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Runs of equal arg-max classes that are not blank.

    Args:
        best: ``(T,)`` arg-max class per frame, ``T >= 0``.

    Returns:
        ``(starts, ends, ids)``, each ``(L,)`` int64: first frame, last frame
        (inclusive) and class id of every emitted token.
    """
    t = best.shape[0]
    if t == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    change = np.empty(t, dtype=bool)
    change[0] = True
    np.not_equal(best[1:], best[:-1], out=change[1:])
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], t) - 1
    ids = best[starts].astype(np.int64)
    keep = ids != blank
    return starts[keep], ends[keep], ids[keep]


def _run_confidence(lp: np.ndarray, best: np.ndarray, starts: np.ndarray,
                    ends: np.ndarray) -> np.ndarray:
    """Highest top-class probability within each run, shape ``(L,)`` float64.

    Computed in float32 (plenty for a confidence score).

    Only frames inside emitted runs are normalised (log-softmax), which keeps
    the cost proportional to the non-blank frames rather than ``T * V``.
    """
    lengths = ends - starts + 1
    offsets = np.cumsum(lengths) - lengths
    frames = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
    rows = lp[frames].astype(np.float32, copy=False)
    top = rows[np.arange(frames.size), best[frames]]
    with np.errstate(invalid="ignore", over="ignore"):
        rows -= top[:, None]
        np.exp(rows, out=rows)
        frame_logp = np.where(np.isfinite(top), -np.log(rows.sum(axis=1, dtype=np.float64)),
                              -np.inf)
    return np.exp(np.maximum.reduceat(frame_logp, offsets))
