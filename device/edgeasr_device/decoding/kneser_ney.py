"""Estimate a word n-gram model from sentences: interpolated modified Kneser-Ney, in Python.

No native tools: a few thousand command sentences take well under a second on a Pi, a few
million words a minute or so on a workstation. The result is a back-off model in ARPA terms
(:class:`~.ngram.NgramEntries`, log10), ready for :func:`~.arpa.write_arpa` or the compiled
form.

The estimate (Chen & Goodman's modified Kneser-Ney, interpolated):

* counts: every sentence is ``<s> w1 .. wk </s>``. The top order uses raw counts; a lower
  order uses, for each n-gram, the number of different words seen before it (its
  continuation count), except for n-grams that start with ``<s>``, which keep raw counts.
* discounts ``D1, D2, D3+`` per order from the counts of counts ``n1..n4`` of those counts:
  ``Y = n1 / (n1 + 2 n2)``, ``Dk = k - (k + 1) Y n(k+1) / nk``; where the data are too few
  for that formula, ``Dk = k / 2``.
* ``P(w | h) = (c(h w) - D(c)) / c(h) + gamma(h) P(w | h')`` with ``h'`` the history without
  its oldest word, ``gamma(h)`` the discounted mass, and unigrams interpolated with the
  uniform distribution over the vocabulary (``</s>`` and ``<unk>`` included, ``<s>`` not).
* pruning (``min_counts``) drops rare n-grams of orders >= 2 and keeps every prefix and suffix
  of a kept n-gram; back-off weights are then computed so that every history's distribution
  sums to one exactly: ``bo(h) = (1 - sum P(w | h)) / (1 - sum P'(w | h'))`` over the kept
  ``h w``, with ``P'`` the pruned lower-order model.
* ``max_vocab`` keeps the most frequent words; the others are counted as ``<unk>``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from ..errors import LanguageModelError
from ..vocab import normalize_text
from .ngram import BOS, EOS, UNK, NgramEntries

__all__ = ["build_lm", "discounts", "simple_normalize"]

Gram = tuple[str, ...]
_NEVER = -99.0  # ARPA's log10 probability of <s>
_NON_WORD = re.compile(r"[^\w']+")


def simple_normalize(line: str) -> str:
    """Device-side text clean-up for LM sentences: lower case, typographic apostrophes
    straightened, punctuation to spaces (apostrophes inside words kept)."""
    words = (w.strip("'") for w in _NON_WORD.sub(" ", normalize_text(line)).split())
    return " ".join(w for w in words if w)


def build_lm(sentences: Iterable[Sequence[str]], order: int = 3,
             min_counts: Sequence[int] | int = 1, max_vocab: int | None = None
             ) -> list[NgramEntries]:
    """Interpolated modified Kneser-Ney n-gram model of ``sentences`` (lists of words).

    Args:
        order: n of the longest n-grams (>= 1).
        min_counts: an n-gram of order >= 2 is kept only if it occurs at least this often
            (one number for every order, or one per order; the unigram entry is ignored).
        max_vocab: keep this many most frequent words (ties: alphabetical); None keeps all.

    Raises:
        LanguageModelError: no words, or bad parameters.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise LanguageModelError(f"order must be a whole number >= 1, got {order!r}")
    thresholds = _thresholds(min_counts, order)
    text = [list(s) for s in sentences if len(s)]
    for words in text:
        for word in words:
            if word in (BOS, EOS) or not word or any(c.isspace() for c in word):
                raise LanguageModelError(f"{word!r} cannot be a word of the text")
    if not text:
        raise LanguageModelError("no words to build a language model from")
    if max_vocab is not None:
        if max_vocab < 1:
            raise LanguageModelError(f"max_vocab must be >= 1, got {max_vocab}")
        freq = Counter(w for words in text for w in words)
        keep = {w for w, _ in sorted(freq.items(), key=lambda kv: (-kv[1], kv[0]))[:max_vocab]}
        text = [[w if w in keep else UNK for w in words] for words in text]
    raw = _raw_counts(text, order)
    adjusted = _adjusted_counts(raw, order)
    disc = [discounts(Counter(c for g, c in adjusted[n].items() if g != (BOS,)))
            for n in range(order)]
    vocab = sorted(({g[0] for g in raw[0]} - {BOS}) | {UNK, EOS})
    interp = _interpolated(adjusted, disc, vocab, order)
    kept = _kept(raw, thresholds, order)
    return _backoff_entries(interp, kept, vocab, order)


def discounts(count_of_counts: Counter) -> tuple[float, float, float]:
    """``(D1, D2, D3+)`` from how many n-grams occur 1, 2, 3 and 4 times."""
    n1, n2, n3, n4 = (count_of_counts.get(k, 0) for k in (1, 2, 3, 4))
    out = []
    y = n1 / (n1 + 2 * n2) if n1 + 2 * n2 else 0.0
    for k, (low, high) in enumerate(((n1, n2), (n2, n3), (n3, n4)), start=1):
        value = k - (k + 1) * y * high / low if low and y else math.nan
        out.append(value if 0.0 < value < k else k / 2)
    return out[0], out[1], out[2]


def _thresholds(min_counts: Sequence[int] | int, order: int) -> list[int]:
    values = [min_counts] * order if isinstance(min_counts, int) else list(min_counts)
    if len(values) == 1:
        values = values * order
    if len(values) != order or any(isinstance(v, bool) or not isinstance(v, int) or v < 1
                                   for v in values):
        raise LanguageModelError(f"min_counts must be one whole number >= 1 or one per order "
                                 f"({order}), got {min_counts!r}")
    return values


def _raw_counts(text: list[list[str]], order: int) -> list[Counter]:
    raw: list[Counter] = [Counter() for _ in range(order)]
    for words in text:
        padded = (BOS, *words, EOS)
        for end in range(1, len(padded)):
            for n in range(1, min(order, end + 1) + 1):
                raw[n - 1][padded[end - n + 1:end + 1]] += 1
    raw[0][(BOS,)] = 0  # <s> is a context only
    return raw


def _adjusted_counts(raw: list[Counter], order: int) -> list[Counter]:
    adjusted = [Counter() for _ in range(order)]
    adjusted[order - 1] = Counter(raw[order - 1])
    for n in range(order - 1, 0, -1):  # n-grams of order n, continuation counts from n + 1
        continuation: Counter = Counter()
        for gram in raw[n]:
            continuation[gram[1:]] += 1
        for gram, count in raw[n - 1].items():
            adjusted[n - 1][gram] = count if gram[0] == BOS else continuation[gram]
    adjusted[0][(BOS,)] = 0
    return adjusted


def _interpolated(adjusted: list[Counter], disc: list[tuple[float, float, float]],
                  vocab: list[str], order: int) -> list[dict[Gram, float]]:
    """Interpolated probabilities of every counted n-gram, and ``gamma`` per history."""
    probs: list[dict[Gram, float]] = []
    uni = adjusted[0]
    total = sum(uni[(w,)] for w in vocab)
    d1, d2, d3 = disc[0]
    if total == 0:
        raise LanguageModelError("no words to build a language model from")
    kinds = Counter(min(uni[(w,)], 3) for w in vocab)
    gamma = (d1 * kinds[1] + d2 * kinds[2] + d3 * kinds[3]) / total
    level = {(w,): max(uni[(w,)] - _d(uni[(w,)], disc[0]), 0.0) / total + gamma / len(vocab)
             for w in vocab}
    probs.append(level)
    for n in range(2, order + 1):
        counts = adjusted[n - 1]
        totals: Counter = Counter()
        kinds_by_history: dict[Gram, list[int]] = {}
        for gram, count in counts.items():
            history = gram[:-1]
            totals[history] += count
            slot = kinds_by_history.setdefault(history, [0, 0, 0])
            slot[min(count, 3) - 1] += 1
        level = {}
        lower = probs[n - 2]
        d1, d2, d3 = disc[n - 1]
        for gram, count in counts.items():
            history = gram[:-1]
            k1, k2, k3 = kinds_by_history[history]
            g = (d1 * k1 + d2 * k2 + d3 * k3) / totals[history]
            # the suffix of a counted n-gram is always counted one order down (a word
            # precedes it), so the lower interpolated estimate is a lookup
            level[gram] = ((count - _d(count, disc[n - 1])) / totals[history]
                           + g * lower[gram[1:]])
        probs.append(level)
    return probs


def _d(count: int, disc: tuple[float, float, float]) -> float:
    return 0.0 if count <= 0 else disc[min(count, 3) - 1]


def _kept(raw: list[Counter], thresholds: list[int], order: int) -> list[set[Gram]]:
    kept = [set() for _ in range(order)]
    kept[0] = {g for g in raw[0]}
    for n in range(order, 1, -1):
        kept[n - 1] |= {g for g, c in raw[n - 1].items() if c >= thresholds[n - 1]}
        for gram in kept[n - 1]:
            kept[n - 2].add(gram[:-1])
            kept[n - 2].add(gram[1:])
    return kept


def _backoff_entries(interp: list[dict[Gram, float]], kept: list[set[Gram]],
                     vocab: list[str], order: int) -> list[NgramEntries]:
    """Kept n-grams with their interpolated probabilities and normalising back-offs."""
    log_prob: list[dict[Gram, float]] = []
    uni = {(w,): math.log10(interp[0][(w,)]) for w in vocab}
    uni[(BOS,)] = _NEVER
    log_prob.append(uni)
    backoff: list[dict[Gram, float]] = [dict.fromkeys(uni, 0.0)]
    for n in range(2, order + 1):
        level = {g: math.log10(interp[n - 1][g]) for g in kept[n - 1] if g in interp[n - 1]}
        log_prob.append(level)
        backoff.append({})
        succ: dict[Gram, list[Gram]] = {}
        for gram in level:
            succ.setdefault(gram[:-1], []).append(gram)
        for history, grams in succ.items():
            here = sum(10.0 ** level[g] for g in grams)
            lower = sum(10.0 ** _model_log_prob(log_prob, backoff, g[1:]) for g in grams)
            num, den = max(1.0 - here, 0.0), max(1.0 - lower, 0.0)
            weight = num / den if den > 1e-12 and num > 0 else 1.0
            backoff[n - 2][history] = math.log10(weight) if weight > 0 else 0.0
        for gram in level:
            backoff[n - 1].setdefault(gram, 0.0)
    entries = []
    for n in range(1, order + 1):
        grams = sorted(log_prob[n - 1])
        entries.append(NgramEntries(
            n, grams, np.array([log_prob[n - 1][g] for g in grams], dtype=np.float64),
            np.array([backoff[n - 1].get(g, 0.0) for g in grams], dtype=np.float64)))
    return entries


def _model_log_prob(log_prob: list[dict[Gram, float]], backoff: list[dict[Gram, float]],
                    gram: Gram) -> float:
    """log10 P(gram[-1] | gram[:-1]) of the back-off model built so far."""
    total = 0.0
    while len(gram) > 1:
        value = log_prob[len(gram) - 1].get(gram)
        if value is not None:
            return total + value
        total += backoff[len(gram) - 2].get(gram[:-1], 0.0)
        gram = gram[1:]
    return total + log_prob[0].get(gram, _NEVER)
