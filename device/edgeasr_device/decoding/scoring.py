"""What the beam search adds to acoustic scores: word scorers and their fusion per token.

Two interfaces:

* :class:`WordScorer`: scores whole words in a context, and bounds the score of a partial
  word (natural log, unweighted). The n-gram model (:class:`~.lm_scorer.NgramScorer`) is
  one; a grammar can be another (``-inf`` for words it does not allow).
* :class:`PrefixScorer`: what the beam calls, once per new prefix. It splits the prefix into
  words at the space token and adds, as a function of the prefix's tokens only,

  ``S = sum over finished words (lm_weight * ln P(word | history) + word_bonus)
  + (lm_weight * lookahead(partial word) + word_bonus, while a word is being spelled)
  + hotword boost``

  and at the end of the utterance the partial word is scored as a word and
  ``lm_weight * ln P(</s> | history)`` is added. Because ``lookahead`` bounds the score of
  every word that the partial word can become, ``S`` never grows by more than
  ``max(word_bonus, 0) + largest hotword weight`` in one token (:attr:`max_gain`), which lets
  the beam prune safely.
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

from ..errors import DecodingError
from ..vocab import Vocabulary
from .hotwords import HotwordBooster

__all__ = ["PrefixScorer", "WordScorer"]


@runtime_checkable
class WordScorer(Protocol):
    """Scores words in context; states are opaque and hashable."""

    def start(self) -> Any:
        """The state before the first word."""
        ...

    def score(self, state: Any, word: str) -> tuple[float, Any]:
        """``(ln P(word | state), state after the word)``."""
        ...

    def lookahead(self, state: Any, prefix: str) -> float:
        """An upper bound of ``score(state, w)[0]`` over the words ``w`` starting with
        ``prefix`` (``-inf``: no word can follow)."""
        ...

    def finish(self, state: Any) -> float:
        """``ln P(end of utterance | state)``."""
        ...


#: ``(sum of finished-word scores and completed hotword bonuses, (word-scorer state, partial
#: word, hotword state))``: the float is additive; the key decides everything that follows.
PrefixState = tuple[float, tuple[Any, str, Any]]

#: Clear the transition caches when they hold more entries than this.
_CACHE_LIMIT = 200_000


class PrefixScorer:
    """Language model, word bonus and hotwords fused into one score per token prefix.

    What a token adds depends only on the key of the state (the word scorer's state, the
    partial word and the hotword state), not on the score so far, so transitions are cached
    per ``(key, token)``: a beam search asks for the same few words over and over, and a
    cached extension is one dictionary look-up.

    Args:
        vocabulary: the acoustic model's classes (words are split at its space token).
        words: a :class:`WordScorer`, or None for no language model.
        lm_weight: multiplies the word scorer's natural-log scores (>= 0).
        word_bonus: added per word (the insertion bonus; negative is a penalty).
        hotwords: a :class:`HotwordBooster`, or None.
    """

    def __init__(self, vocabulary: Vocabulary, words: WordScorer | None = None,
                 lm_weight: float = 0.0, word_bonus: float = 0.0,
                 hotwords: HotwordBooster | None = None):
        if not (math.isfinite(lm_weight) and lm_weight >= 0):
            raise DecodingError(f"lm_weight must be a number >= 0, got {lm_weight}")
        self.tokens = vocabulary.tokens
        self.space = vocabulary.space_index
        self.words = words
        self.lm_weight = float(lm_weight) if words is not None else 0.0
        self.word_bonus = float(word_bonus)
        self.hotwords = hotwords
        self.max_gain = max(self.word_bonus, 0.0) + (hotwords.max_gain if hotwords else 0.0)
        # (key, token) -> (added to the float, next key, score of the next key's partial part)
        self._steps: dict[tuple[Any, int], tuple[float, tuple[Any, str, Any], float]] = {}
        self._finals: dict[tuple[Any, str, Any], float] = {}

    def initial(self) -> tuple[PrefixState, float]:
        """The empty prefix's state and score (0)."""
        lm_state = self.words.start() if self.words is not None else None
        hot_state = self.hotwords.initial() if self.hotwords is not None else None
        return (0.0, (lm_state, "", hot_state)), 0.0

    def extend(self, state: PrefixState, token: int) -> tuple[PrefixState, float]:
        """The state and score ``S`` of the prefix with ``token`` appended."""
        done, key = state
        step = self._steps.get((key, token))
        if step is None:
            step = self._step(key, token)
        added, nxt, partial = step
        done += added
        return (done, nxt), done + partial

    def clear_caches(self) -> None:
        """Forget the cached transitions, and the word scorer's caches if it has any: the
        next utterance is scored from scratch (benchmarks of one utterance at a time)."""
        self._steps.clear()
        self._finals.clear()
        clear = getattr(self.words, "clear_caches", None)
        if clear is not None:
            clear()

    def final(self, state: PrefixState) -> float:
        """Score of the prefix as a whole utterance: its last word finished, then the end."""
        done, key = state
        value = self._finals.get(key)
        if value is None:
            value = self._final(key)
        return done + value

    def _step(self, key: tuple[Any, str, Any], token: int
              ) -> tuple[float, tuple[Any, str, Any], float]:
        lm_state, partial, hot_state = key
        added = 0.0
        if token == self.space:
            if partial:
                added += self.word_bonus
                if self.words is not None:
                    value, lm_state = self.words.score(lm_state, partial)
                    added += self.lm_weight * value
                partial = ""
        else:
            partial = partial + self.tokens[token]
        if self.hotwords is not None:
            hot_state, gain = self.hotwords.advance(hot_state, token)
            added += gain
        nxt = (lm_state, partial, hot_state)
        step = (added, nxt, self._partial(nxt))
        if len(self._steps) > _CACHE_LIMIT:
            self._steps.clear()
        self._steps[(key, token)] = step
        return step

    def _final(self, key: tuple[Any, str, Any]) -> float:
        lm_state, partial, hot_state = key
        value = 0.0
        if partial:
            value += self.word_bonus
            if self.words is not None:
                score, lm_state = self.words.score(lm_state, partial)
                value += self.lm_weight * score
        if self.words is not None:
            value += self.lm_weight * self.words.finish(lm_state)
        if self.hotwords is not None:
            value += self.hotwords.finish(hot_state)
        if len(self._finals) > _CACHE_LIMIT:
            self._finals.clear()
        self._finals[key] = value
        return value

    def _partial(self, key: tuple[Any, str, Any]) -> float:
        """The score of a state's unfinished parts: the partial word and hotword match."""
        lm_state, partial, hot_state = key
        total = 0.0
        if partial:
            total += self.word_bonus
            if self.words is not None:
                total += self.lm_weight * self.words.lookahead(lm_state, partial)
        if self.hotwords is not None:
            total += self.hotwords.partial(hot_state)
        return total
