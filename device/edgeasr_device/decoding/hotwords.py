"""Hotwords: boost words and phrases during beam search, with or without a language model.

``--hotword "kitchen:2.5" --hotword "turn on"`` gives the phrase "kitchen" a bonus of 2.5
(natural log: about 12 times more likely) and "turn on" the default
:data:`DEFAULT_HOTWORD_WEIGHT`. The phrases are spelled in the model's tokens and held in
a trie. A phrase matches from a word boundary to a word boundary ("kitchen" does not boost
"kitchens" or "dkitchen"); while it is being spelled it earns its bonus token by token
(``weight * tokens so far / tokens in the phrase``), so that beams heading for it are not
pruned before it is finished, and a match that breaks off loses what it had earned.

The boost of a prefix is a function of its tokens only: ``completed bonuses + best partial
bonus among the matches in progress``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import DecodingError, VocabularyError
from ..vocab import Vocabulary, normalize_text

__all__ = ["DEFAULT_HOTWORD_WEIGHT", "Hotword", "HotwordBooster", "parse_hotword"]

#: Bonus (natural log) of a hotword given without ``:weight``.
DEFAULT_HOTWORD_WEIGHT = 3.0

#: ``(at a word boundary, trie nodes of the matches in progress)``
HotState = tuple[bool, tuple[int, ...]]


@dataclass(frozen=True)
class Hotword:
    """A word or phrase and its bonus (natural log, > 0) once it is complete."""

    phrase: str
    weight: float = DEFAULT_HOTWORD_WEIGHT


def parse_hotword(spec: str) -> Hotword:
    """``"kitchen:2.5"`` -> ``Hotword("kitchen", 2.5)``; ``"turn on"`` gets the default weight.

    Raises:
        DecodingError: an empty phrase or a weight that is not a positive number.
    """
    if not isinstance(spec, str):
        raise DecodingError(f"a hotword must be a string like 'kitchen:2.5', got {spec!r}")
    phrase, weight = spec, DEFAULT_HOTWORD_WEIGHT
    head, sep, tail = spec.rpartition(":")
    if sep:
        try:
            weight = float(tail)
        except ValueError:
            raise DecodingError(f"hotword {spec!r}: {tail!r} after ':' is not a number; write "
                                "'PHRASE:WEIGHT', e.g. 'kitchen:2.5'") from None
        phrase = head
    phrase = " ".join(phrase.split())
    if not phrase:
        raise DecodingError(f"hotword {spec!r} has no words")
    if not (math.isfinite(weight) and weight > 0):
        raise DecodingError(f"hotword {spec!r}: the weight must be a positive number, "
                            f"got {weight}")
    return Hotword(phrase, weight)


class HotwordBooster:
    """The hotword trie over a model's tokens, and the boost of a growing prefix.

    Raises:
        VocabularyError: a phrase has a character that the model cannot write.
    """

    def __init__(self, hotwords: Sequence[Hotword], vocabulary: Vocabulary):
        self.hotwords = tuple(hotwords)
        self.space = vocabulary.space_index
        self._children: list[dict[int, int]] = [{}]
        self._potential = [0.0]
        self._complete = [0.0]
        self.words: set[str] = set()
        for hotword in self.hotwords:
            phrase = normalize_text(hotword.phrase, lowercase=not any(
                t != t.lower() for t in vocabulary.tokens))
            try:
                ids = vocabulary.encode(phrase)
            except VocabularyError as err:
                raise VocabularyError(f"hotword {hotword.phrase!r}: {err}") from None
            if self.space is None and " " in phrase:
                raise VocabularyError(f"hotword {hotword.phrase!r} has several words but the "
                                      "model has no space token")
            self.words.update(phrase.split())
            node = 0
            for depth, token in enumerate(ids, start=1):
                child = self._children[node].get(token)
                if child is None:
                    child = len(self._children)
                    self._children[node][token] = child
                    self._children.append({})
                    self._potential.append(0.0)
                    self._complete.append(0.0)
                node = child
                share = hotword.weight * depth / len(ids)
                self._potential[node] = max(self._potential[node], share)
            self._complete[node] = max(self._complete[node], hotword.weight)
        #: The most the boost can grow by in one token (for safe pruning bounds).
        self.max_gain = max((h.weight for h in self.hotwords), default=0.0)

    def initial(self) -> HotState:
        return (True, ())

    def advance(self, state: HotState, token: int) -> tuple[HotState, float]:
        """The state after ``token``, and the bonus of the phrases it completed."""
        boundary, active = state
        children = self._children
        if token == self.space:
            gain = max((self._complete[n] for n in active), default=0.0)
            going = tuple(children[n][token] for n in active if token in children[n])
            return (True, going), gain
        going_on = [children[n][token] for n in active if token in children[n]]
        if boundary and token in children[0]:
            going_on.append(children[0][token])
        return (False, tuple(sorted(set(going_on)))), 0.0

    def partial(self, state: HotState) -> float:
        """Bonus earned so far by the best match in progress."""
        return max((self._potential[n] for n in state[1]), default=0.0)

    def finish(self, state: HotState) -> float:
        """Bonus of the phrases completed by the end of the utterance."""
        return max((self._complete[n] for n in state[1]), default=0.0)
