"""CTC forced alignment: the best frame-by-frame path of a known transcript, and word times.

Given a CTC model's log-probabilities ``(T, V)`` for an utterance and the label ids
of its transcript, :func:`viterbi_align` finds the most likely frame-by-frame path
through the usual CTC trellis (blank, l1, blank, l2, ..., blank: ``S = 2L + 1``
states; a state is entered from itself, the previous state, or two back when that
skips a blank between two different labels). The recursion is vectorised over
states, so it costs ``O(T * S)`` time and ``T * S`` bytes of back-pointers.

:func:`word_times` turns token spans into per-word start/end seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Alignment", "TokenSpan", "WordTime", "viterbi_align", "word_times"]


@dataclass(frozen=True)
class TokenSpan:
    """One transcript token's frames ``[start, end)`` on the best path."""

    label: int
    start: int
    end: int


@dataclass(frozen=True)
class Alignment:
    """Best CTC path.

    Attributes:
        path: ``(T,)`` int, the class emitted at each frame (the blank or a label).
        tokens: one :class:`TokenSpan` per transcript label, in order (``L`` of them).
        log_prob: total log-probability of the path.
    """

    path: np.ndarray
    tokens: tuple[TokenSpan, ...]
    log_prob: float


@dataclass(frozen=True)
class WordTime:
    """A word's aligned time in seconds, from its first token's start to its last's end."""

    index: int
    start: float
    end: float


def viterbi_align(log_probs: np.ndarray, labels: Sequence[int], blank: int,
                  max_cells: int = 200_000_000) -> Alignment:
    """Most likely CTC alignment of ``labels`` to ``log_probs``.

    Args:
        log_probs: ``(T, V)`` log-probabilities (natural log) per frame and class.
        labels: ``(L,)`` transcript class ids, none of them ``blank``.
        blank: index of the CTC blank class.
        max_cells: refuse trellises with more than this many ``T * S`` cells (one
            byte of back-pointer each): long-form audio must be cut up first.

    Raises:
        ValueError: bad shapes/ids, or no path exists: ``T`` is smaller than ``L`` plus
            the number of repeated neighbouring labels (each repeat needs a blank frame
            between), every path has probability zero, or the trellis is too big.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    if lp.ndim != 2 or lp.shape[0] == 0 or lp.shape[1] == 0:
        raise ValueError(f"log_probs must have shape (T, V) with T, V > 0, got {lp.shape}")
    if np.isnan(lp).any() or (lp == np.inf).any():
        raise ValueError("log_probs contain NaN or +inf; the model output is invalid")
    t_len, vocab = lp.shape
    lab = np.asarray(labels, dtype=np.int64).reshape(-1)
    if not 0 <= blank < vocab:
        raise ValueError(f"blank index {blank} is outside the {vocab} classes")
    if lab.size and (lab.min() < 0 or lab.max() >= vocab or (lab == blank).any()):
        raise ValueError(f"labels must be class ids in [0, {vocab}) other than the blank "
                         f"{blank}, got {lab.tolist()}")
    repeats = int(np.count_nonzero(lab[1:] == lab[:-1])) if lab.size > 1 else 0
    needed = lab.size + repeats
    if t_len < needed:
        raise ValueError(f"cannot align {lab.size} labels ({repeats} repeated neighbours need a "
                         f"blank between) to {t_len} frames: at least {needed} frames are needed; "
                         "the audio is too short for its transcript")
    if t_len * (2 * lab.size + 1) > max_cells:
        raise ValueError(f"{t_len} frames x {2 * lab.size + 1} states is more than max_cells="
                         f"{max_cells}: audio this long must be cut into parts before aligning")
    states = np.full(2 * lab.size + 1, blank, dtype=np.int64)
    states[1::2] = lab
    n_states = states.size
    # A label state may be entered from two states back unless that skips between equal labels.
    skip = np.zeros(n_states, dtype=bool)
    skip[3::2] = lab[1:] != lab[:-1]
    emit = lp[:, states]  # (T, S)
    score = np.full(n_states, -np.inf)
    score[:2] = emit[0, :2]
    back = np.zeros((t_len, n_states), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    cand = np.empty((3, n_states))
    for t in range(1, t_len):
        cand[0] = score
        cand[1, 0] = -np.inf
        cand[1, 1:] = score[:-1]
        cand[2, :2] = -np.inf
        cand[2, 2:] = np.where(skip[2:], score[:-2], -np.inf)
        choice = np.argmax(cand, axis=0)
        back[t] = choice
        score = cand[choice, np.arange(n_states)] + emit[t]
    ends = [n_states - 1] if n_states == 1 else [n_states - 1, n_states - 2]
    last = max(ends, key=lambda s: (score[s], s))  # ties: prefer ending on the blank
    if not np.isfinite(score[last]):
        raise ValueError("no alignment has non-zero probability (the model gives -inf "
                         "log-probability to every path for this transcript)")
    state_path = np.empty(t_len, dtype=np.int64)
    s = last
    for t in range(t_len - 1, -1, -1):
        state_path[t] = s
        s -= int(back[t, s])
    return Alignment(path=states[state_path], tokens=_token_spans(state_path, lab),
                     log_prob=float(score[last]))


def _token_spans(state_path: np.ndarray, labels: np.ndarray) -> tuple[TokenSpan, ...]:
    """Frames of each label state ``2j + 1`` (contiguous on a CTC path)."""
    odd = state_path % 2 == 1
    frames = np.flatnonzero(odd)
    token = state_path[frames] // 2
    starts = np.full(labels.size, -1, dtype=np.int64)
    ends = np.zeros(labels.size, dtype=np.int64)
    # frames are increasing, so the first write per token is its start and the last its end
    starts[token[::-1]] = frames[::-1]
    ends[token] = frames + 1
    return tuple(TokenSpan(int(l), int(s), int(e))
                 for l, s, e in zip(labels.tolist(), starts.tolist(), ends.tolist()))


def word_times(alignment: Alignment, word_tokens: Sequence[tuple[int, int]],
               frame_duration: float) -> list[WordTime]:
    """Per-word ``[start, end)`` seconds.

    Args:
        alignment: from :func:`viterbi_align`.
        word_tokens: for each word, the range ``(first, stop)`` of its tokens in the
            label sequence (``stop`` exclusive, ``first < stop``).
        frame_duration: seconds per model output frame.
    """
    out = []
    for index, (first, stop) in enumerate(word_tokens):
        if not 0 <= first < stop <= len(alignment.tokens):
            raise ValueError(f"word {index} token range {(first, stop)} is not inside the "
                             f"{len(alignment.tokens)} aligned tokens")
        out.append(WordTime(index, alignment.tokens[first].start * frame_duration,
                            alignment.tokens[stop - 1].end * frame_duration))
    return out
