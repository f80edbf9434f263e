"""Word and utterance confidences, and words with times from a token path.

Token confidence: the highest probability the model gives the token on the frames where the
path emits it (its peak; on dev sets this ranks right above wrong words better than the mean
over the frames, which the edges of a token's run pull down).

Word confidence: the probability that every token of the word is right, i.e. the product of
its token confidences (a long string of unsure letters is unsure as a word); with beam
search, also times the share of the final beams' probability (language model included)
whose hypotheses contain the word (:func:`word_posteriors`), which is what makes silence and
noise, where many short hypotheses compete, come out near 0. Utterance confidence: the product
over its words, the probability that the whole transcript is right.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..vocab import Vocabulary
from .base import Word

__all__ = ["assemble_words", "hypothesis_posteriors", "token_confidences", "word_posteriors"]


def hypothesis_posteriors(scores: Sequence[float]) -> np.ndarray:
    """Softmax of log scores ``(H,)`` -> posteriors ``(H,)`` summing to one."""
    values = [float(v) for v in scores]
    if not values:
        return np.zeros(0)
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return np.full(len(values), 1.0 / len(values))
    top = max(finite)
    weights = [math.exp(v - top) if math.isfinite(v) else 0.0 for v in values]
    total = sum(weights)
    return np.array([w / total for w in weights])


def word_posteriors(hyps: Sequence, posteriors: np.ndarray, vocabulary: Vocabulary) -> list[float]:
    """For each word of the best hypothesis (``hyps[0]``): the posterior mass of the
    hypotheses that contain it (its k-th occurrence counts where a hypothesis has the word at
    least k times). ``hyps`` have ``tokens``; ``posteriors`` ``(H,)``."""
    texts = [vocabulary.decode(h.tokens).split() for h in hyps]
    if len(hyps) == 1:
        return [float(posteriors[0])] * len(texts[0])
    counts = [Counter(words) for words in texts]
    weights = np.asarray(posteriors, dtype=np.float64).tolist()
    seen: Counter[str] = Counter()
    out = []
    for word in texts[0]:
        seen[word] += 1
        k = seen[word]
        out.append(float(sum(p for c, p in zip(counts, weights) if c[word] >= k)))
    return out


def token_confidences(log_probs: np.ndarray, ids: np.ndarray, starts: np.ndarray,
                      ends: np.ndarray) -> np.ndarray:
    """Peak probability of each token over its frames ``[starts, ends]`` (inclusive): ``(L,)``.

    ``log_probs`` ``(T, V)`` are normalised (log-softmax) on those frames first, so logits
    work too.
    """
    if ids.size == 0:
        return np.zeros(0)
    lengths = ends - starts + 1
    offsets = np.cumsum(lengths) - lengths
    frames = np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))
    rows = np.asarray(log_probs[frames], dtype=np.float64)
    top = rows.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        norm = top[:, 0] + np.log(np.exp(rows - top).sum(axis=1))
        chosen = rows[np.arange(frames.size), np.repeat(ids, lengths)] - norm
    probs = np.where(np.isfinite(chosen), np.exp(chosen), 0.0)
    return np.maximum.reduceat(probs, offsets)


def assemble_words(log_probs: np.ndarray, ids: np.ndarray, starts: np.ndarray,
                   ends: np.ndarray, vocabulary: Vocabulary, frame_duration: float,
                   support: Sequence[float] | None = None) -> tuple[Word, ...]:
    """Tokens on a path -> words, with times and confidences.

    Words are split at the space token (characters) or start at word-start pieces (pieces;
    a lone word-start piece that spells nothing is no word).

    Args:
        log_probs: ``(T, V)`` scores of the utterance.
        ids, starts, ends: ``(L,)`` token ids and their first/last frame (inclusive).
        support: per word, a posterior to multiply its acoustic confidence by (beam search),
            or None.

    A word starts at ``first_frame * frame_duration`` of its first token and ends at
    ``(last_frame + 1) * frame_duration`` of its last.
    """
    conf = token_confidences(log_probs, ids, starts, ends).tolist()
    space = vocabulary.space_index
    word_starts = vocabulary.word_starts
    step = float(frame_duration)
    ids_, starts_, ends_ = ids.tolist(), starts.tolist(), ends.tolist()
    pieces: list[list[int]] = [[]]  # positions of each word's tokens
    for k, token in enumerate(ids_):
        if (token == space or word_starts[token]) and pieces[-1]:
            pieces.append([])
        if token != space:
            pieces[-1].append(k)
    pieces = [p for p in pieces if "".join(vocabulary.token_text(ids_[j]) for j in p)]
    weights = list(support) if support is not None else None
    words = []
    for w, piece in enumerate(pieces):
        value = math.exp(sum(math.log(max(conf[j], 1e-300)) for j in piece))
        if weights is not None:
            value *= min(max(float(weights[w]), 0.0), 1.0)
        first, last = piece[0], piece[-1]
        words.append(Word(text="".join([vocabulary.token_text(ids_[j]) for j in piece]),
                          start=float(starts_[first] * step),
                          end=float((ends_[last] + 1) * step), confidence=float(value)))
    return tuple(words)
