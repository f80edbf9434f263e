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

from collections import Counter
from collections.abc import Sequence

import numpy as np

from ..vocab import Vocabulary
from .base import Word

__all__ = ["assemble_words", "hypothesis_posteriors", "token_confidences", "word_posteriors"]


def hypothesis_posteriors(scores: Sequence[float]) -> np.ndarray:
    """Softmax of log scores ``(H,)`` -> posteriors ``(H,)`` summing to one."""
    values = np.asarray(scores, dtype=np.float64)
    if values.size == 0:
        return values
    finite = np.isfinite(values)
    if not finite.any():
        return np.full(values.shape, 1.0 / values.size)
    shifted = np.where(finite, values - values[finite].max(), -np.inf)
    weights = np.exp(shifted)
    return weights / weights.sum()


def word_posteriors(hyps: Sequence, posteriors: np.ndarray, vocabulary: Vocabulary) -> list[float]:
    """For each word of the best hypothesis (``hyps[0]``): the posterior mass of the
    hypotheses that contain it (its k-th occurrence counts where a hypothesis has the word at
    least k times). ``hyps`` have ``tokens``; ``posteriors`` ``(H,)``."""
    counts = [Counter(vocabulary.decode(h.tokens).split()) for h in hyps]
    seen: Counter[str] = Counter()
    out = []
    for word in vocabulary.decode(hyps[0].tokens).split():
        seen[word] += 1
        k = seen[word]
        out.append(float(sum(p for c, p in zip(counts, posteriors.tolist()) if c[word] >= k)))
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
    """Tokens on a path -> words split at the space token, with times and confidences.

    Args:
        log_probs: ``(T, V)`` scores of the utterance.
        ids, starts, ends: ``(L,)`` token ids and their first/last frame (inclusive).
        support: per word, a posterior to multiply its acoustic confidence by (beam search),
            or None.

    A word starts at ``first_frame * frame_duration`` of its first token and ends at
    ``(last_frame + 1) * frame_duration`` of its last.
    """
    conf = token_confidences(log_probs, ids, starts, ends)
    space = vocabulary.space_index
    is_space = ids == space if space is not None else np.zeros(ids.shape, dtype=bool)
    word_no = np.cumsum(is_space)[~is_space]
    chars = ~is_space
    ids, starts, ends, conf = ids[chars], starts[chars], ends[chars], conf[chars]
    if ids.size == 0:
        return ()
    first = np.flatnonzero(np.concatenate(([True], word_no[1:] != word_no[:-1])))
    last = np.append(first[1:], ids.size) - 1
    w_conf = np.exp(np.add.reduceat(np.log(np.maximum(conf, 1e-300)), first))
    if support is not None:
        w_conf = w_conf * np.clip(np.asarray(support, dtype=np.float64), 0.0, 1.0)
    tokens = vocabulary.tokens
    pieces = [tokens[i] for i in ids.tolist()]
    step = float(frame_duration)
    return tuple(Word(text="".join(pieces[a:b + 1]), start=float(starts[a] * step),
                      end=float((ends[b] + 1) * step), confidence=float(c))
                 for a, b, c in zip(first.tolist(), last.tolist(), w_conf.tolist()))
