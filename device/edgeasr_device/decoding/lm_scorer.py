"""An :class:`NgramModel` as a :class:`~.scoring.WordScorer` for one acoustic model.

Binding a model to the acoustic model's alphabet decides which LM words the recogniser can
ever write: the others are skipped (counted in :attr:`NgramScorer.skipped`) so that they do
not inflate the look-ahead scores of partial words. A model whose words mostly cannot be
written was built for another vocabulary and is refused.

States are tuples of n-gram ids: ``state[k]`` is the id of the (k+1)-gram made of the last
k+1 words (-1 when the model lacks it), at most ``order - 1`` long.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Iterable

import numpy as np

from ..errors import LanguageModelError
from ..vocab import BLANK, Vocabulary
from .ngram import LN10, NgramModel

__all__ = ["UNK_LOG10", "NgramScorer"]

#: log10 probability of a word the model does not know, when it has no ``<unk>``.
UNK_LOG10 = -10.0
#: Refuse a model when fewer than this share of its words can be written.
MIN_USABLE = 0.5
_CACHE_LIMIT = 500_000
#: Ranges of successor scores up to this long are maxed in Python, longer ones in numpy.
_PYTHON_MAX = 48

State = tuple[int, ...]


class NgramScorer:
    """Word scores (natural log) from an n-gram model, for beams over one alphabet.

    Args:
        model: the n-gram model.
        vocabulary: the acoustic model's classes; words need every character among its
            tokens (the blank and the space excluded). None: every word is usable.
        extra_words: words to treat as known even when the model lacks them (hotwords):
            they score like the model's rarest usable word, after back-off.
        oov_penalty: subtracted (natural log) from the score of words the model does not
            know, on top of ``ln P(<unk>)``: a vocabulary-closed LM then keeps beams on its
            words.

    Raises:
        LanguageModelError: fewer than half of the model's words can be written.
    """

    def __init__(self, model: NgramModel, vocabulary: Vocabulary | None = None,
                 extra_words: Iterable[str] = (), oov_penalty: float = 0.0):
        self.model = model
        self.oov_penalty = float(oov_penalty)
        words = model.words
        special = {model.bos, model.eos, model.unk}
        if vocabulary is not None:
            alphabet = set("".join(t for i, t in enumerate(vocabulary.tokens)
                                   if i != vocabulary.blank_index and t != " " and t != BLANK))
            usable = np.array([i not in special and set(w) <= alphabet
                               for i, w in enumerate(words)], dtype=bool)
        else:
            usable = np.array([i not in special for i in range(len(words))], dtype=bool)
        candidates = len(words) - sum(1 for i in special if i >= 0)
        self.skipped = int(candidates - usable.sum())
        self.skipped_examples = [w for i, w in enumerate(words)
                                 if not usable[i] and i not in special][:5]
        if candidates and usable.sum() < MIN_USABLE * candidates:
            hint = ""
            if vocabulary is not None and all(
                    set(w.lower()) <= alphabet for w in self.skipped_examples):
                hint = (" Its words are in upper case and the model writes lower case: compile "
                        "it with `edgeasr-device lm compile --lowercase`.")
            raise LanguageModelError(
                f"{model.source}: {self.skipped} of its {candidates} words use characters the "
                f"acoustic model cannot write (e.g. {', '.join(map(repr, self.skipped_examples))})"
                f": it was built for another vocabulary.{hint} Otherwise build a language model "
                "from text in the model's alphabet: `edgeasr lm build --text FILE --out lm.arpa`"
                " or, on the device, `edgeasr-device lm build`.")
        self.usable = usable
        unigrams = model.log_prob[0].astype(np.float64)
        self._unigram_la = np.where(usable & ~np.isnan(unigrams), unigrams, -np.inf)
        finite = self._unigram_la[np.isfinite(self._unigram_la)]
        #: ln P of an extra word before back-off: the rarest usable unigram.
        self.extra_log_prob = float(finite.min()) if finite.size else UNK_LOG10 * LN10
        self.extra_words = sorted({w for w in extra_words if model.word_id(w) < 0})
        self._extra_set = set(self.extra_words)
        self._score_cache: dict[tuple[State, str], tuple[float, State]] = {}
        self._la_cache: dict[tuple[State, str], float] = {}
        self._range_max: dict[tuple[int, int], float] = {}
        self._ranges: dict[str, tuple[int, int]] = {}  # prefix -> word id range
        self._unknowns: dict[State, float] = {}  # state -> ln P(<unk> | state) - penalty
        self._successor_lists: dict[tuple[int, int], tuple[list[int], list[float],
                                                          np.ndarray]] = {}

    # ---------------------------------------------------------------- WordScorer
    def start(self) -> State:
        """The state before the first word (after ``<s>`` when the model has it)."""
        return (self.model.bos,) if self.model.bos >= 0 and self.model.order > 1 else ()

    def score(self, state: State, word: str) -> tuple[float, State]:
        """``(ln P(word | state), next state)``; unknown words score as ``<unk>``."""
        key = (state, word)
        hit = self._score_cache.get(key)
        if hit is not None:
            return hit
        model = self.model
        wid = model.word_id(word)
        if wid < 0 and word in self._extra_set:
            result = (self._backoff_sum(state) + self.extra_log_prob, ())
        elif wid < 0 and model.unk < 0:
            result = (UNK_LOG10 * LN10 - self.oov_penalty, ())
        elif wid < 0:
            value, nxt = self._score_id(state, model.unk)
            result = (value - self.oov_penalty, nxt)
        else:
            result = self._score_id(state, wid)
        if len(self._score_cache) > _CACHE_LIMIT:
            self._score_cache.clear()
        self._score_cache[key] = result
        return result

    def lookahead(self, state: State, prefix: str) -> float:
        """An upper bound of ``score(state, w)`` over every word ``w`` that starts with
        ``prefix`` (unknown words included, which score as ``<unk>``)."""
        key = (state, prefix)
        hit = self._la_cache.get(key)
        if hit is not None:
            return hit
        model = self.model
        span = self._ranges.get(prefix)
        if span is None:
            span = self._ranges[prefix] = model.prefix_range(prefix)
        first, stop = span
        best = self._unknown(state)
        total = 0.0
        for length in range(len(state), 0, -1):
            ctx = state[length - 1]
            if ctx < 0:
                continue
            if first < stop:
                ids, values, array = self._successors(length, ctx)
                i = bisect_left(ids, first)
                j = bisect_left(ids, stop, i)
                if j > i:
                    top = max(values[i:j]) if j - i <= _PYTHON_MAX else float(array[i:j].max())
                    best = max(best, total + top)
            total += float(model.log_backoff[length - 1][ctx])
        if first < stop:
            best = max(best, total + self._unigram_max(first, stop))
        if self.extra_words:
            i = bisect_left(self.extra_words, prefix)
            if i < len(self.extra_words) and self.extra_words[i].startswith(prefix):
                best = max(best, total + self.extra_log_prob)
        if len(self._la_cache) > _CACHE_LIMIT:
            self._la_cache.clear()
        self._la_cache[key] = best
        return best

    def clear_caches(self) -> None:
        """Forget every cached score (they also clear themselves past a size limit). The
        look-ups of the model's structure (word-id ranges of prefixes, each context's
        successor lists, unigram maxima) stay: they depend on the model alone, like the
        loaded trie of a KenLM model."""
        for cache in (self._score_cache, self._la_cache, self._unknowns):
            cache.clear()

    def finish(self, state: State) -> float:
        """``ln P(</s> | state)`` (0 when the model has no ``</s>``)."""
        if self.model.eos < 0:
            return 0.0
        return self._score_id(state, self.model.eos)[0]

    # ---------------------------------------------------------------- internals
    def _unknown(self, state: State) -> float:
        value = self._unknowns.get(state)
        if value is None:
            if self.model.unk >= 0:
                value = self._score_id(state, self.model.unk)[0] - self.oov_penalty
            else:
                value = UNK_LOG10 * LN10 - self.oov_penalty
            if len(self._unknowns) > _CACHE_LIMIT:
                self._unknowns.clear()
            self._unknowns[state] = value
        return value

    def _successors(self, length: int, ctx: int) -> tuple[list[int], list[float], np.ndarray]:
        """The usable words that follow n-gram ``ctx`` of order ``length`` in the model
        (ids ascending), their ln P as a list and as an array (for long ranges)."""
        key = (length, ctx)
        hit = self._successor_lists.get(key)
        if hit is None:
            model = self.model
            rows = model.successors(length + 1, ctx, 0, model.num_words)
            ids = model.keys[length][rows] - ctx * model.num_words
            values = model.log_prob[length][rows].astype(np.float64)
            keep = self.usable[ids] & ~np.isnan(values)
            ids, values = ids[keep], values[keep]
            if len(self._successor_lists) > _CACHE_LIMIT // 20:
                self._successor_lists.clear()
            hit = self._successor_lists[key] = (ids.tolist(), values.tolist(), values)
        return hit

    def _backoff_sum(self, state: State) -> float:
        return float(sum(float(self.model.log_backoff[k][c]) for k, c in enumerate(state)
                         if c >= 0))

    def _unigram_max(self, first: int, stop: int) -> float:
        key = (first, stop)
        value = self._range_max.get(key)
        if value is None:
            value = self._range_max[key] = float(self._unigram_la[first:stop].max())
        return value

    def _score_id(self, state: State, wid: int) -> tuple[float, State]:
        model = self.model
        found = [-2] * len(state)  # -2: not looked up
        result = None
        total = 0.0
        for length in range(len(state), 0, -1):
            ctx = state[length - 1]
            if ctx < 0:
                continue
            i = model.find(length + 1, ctx, wid)
            found[length - 1] = i
            if i >= 0:
                value = float(model.log_prob[length][i])
                if not math.isnan(value):
                    result = total + value
                    break
            total += float(model.log_backoff[length - 1][ctx])
        if result is None:
            value = float(model.log_prob[0][wid])
            result = total + (value if not math.isnan(value) else UNK_LOG10 * LN10)
        keep = model.order - 1
        if keep <= 0:
            return result, ()
        nxt = [wid]
        for length in range(1, min(len(state) + 1, keep)):
            ctx = state[length - 1]
            i = found[length - 1]
            if i == -2:
                i = model.find(length + 1, ctx, wid) if ctx >= 0 else -1
            nxt.append(i)
        while len(nxt) > 1 and nxt[-1] < 0:
            nxt.pop()
        return result, tuple(nxt)
