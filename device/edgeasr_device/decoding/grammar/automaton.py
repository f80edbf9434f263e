"""The character automaton of a grammar and its lazily determinised token graph.

:class:`Automaton` is what :mod:`.graph` compiles templates into: nodes with arcs labelled
by token ids, empty moves and word-boundary moves. :class:`TokenGraph` determinises it one
state at a time, as a search reaches it: a state is the set of automaton positions one token
prefix can be in, and its arcs are the tokens that may follow. Consecutive boundaries
collapse into exactly one space token between words, none at the start, and an optional
one at the end.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field

import numpy as np

__all__ = ["BOUNDARY", "Automaton", "TokenGraph"]

#: Symbol of a word boundary in an :class:`Automaton` path.
BOUNDARY = -1
_START, _WORD, _PENDING, _SPACED = range(4)  # position modes, see TokenGraph


@dataclass
class Automaton:
    """Character automaton: ``arcs[n]`` = [(label, dst)], ``eps``/``gaps`` = empty/boundary moves."""

    arcs: list[list[tuple[int, int]]] = field(default_factory=list)
    eps: list[list[int]] = field(default_factory=list)
    gaps: list[list[int]] = field(default_factory=list)

    def node(self) -> int:
        self.arcs.append([])
        self.eps.append([])
        self.gaps.append([])
        return len(self.arcs) - 1

    def symbols(self, src: int, symbols: list[int]) -> int:
        for sym in symbols:
            dst = self.node()
            (self.gaps[src].append(dst) if sym == BOUNDARY else self.arcs[src].append((sym, dst)))
            src = dst
        return src


class TokenGraph:
    """Lazily determinised token graph: state 0 is the start; arcs are token ids.

    A state is a set of automaton positions ``node * 4 + mode``; the mode says what the
    token prefix ended with: nothing yet (start), a character, a character followed by a
    word boundary not yet spoken (the next token must be a space), or a space. Safe to
    share between threads (new states are made under a lock).
    """

    def __init__(self, auto: Automaton, start: int, final: int, space: int):
        self._auto, self._final, self._space = auto, final, space
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._arcs: list[tuple[np.ndarray, np.ndarray] | None] = []
        self._accepting: list[bool] = []
        self._lock = threading.Lock()
        self._state(self._closure([start * 4 + _START]))

    @property
    def num_states(self) -> int:
        """States made so far (the graph grows as searches explore it)."""
        return len(self._sets)

    @property
    def num_nodes(self) -> int:
        """Size of the underlying character automaton."""
        return len(self._auto.arcs)

    def is_final(self, state: int) -> bool:
        """Whether the prefix that reached ``state`` is a whole sentence."""
        return self._accepting[state]

    def arcs(self, state: int) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, targets)``, both ``(n,)`` int64: the tokens that may follow, sorted."""
        cached = self._arcs[state]
        if cached is None:
            with self._lock:
                cached = self._arcs[state] or self._expand(state)
        return cached

    def _expand(self, state: int) -> tuple[np.ndarray, np.ndarray]:
        moves: dict[int, list[int]] = {}
        for pos in self._sets[state]:
            node, mode = divmod(pos, 4)
            if mode == _PENDING:
                moves.setdefault(self._space, []).append(node * 4 + _SPACED)
            else:
                for label, dst in self._auto.arcs[node]:
                    moves.setdefault(label, []).append(dst * 4 + _WORD)
        labels = sorted(moves)
        targets = [self._state(self._closure(moves[label])) for label in labels]
        cached = (np.asarray(labels, dtype=np.int64), np.asarray(targets, dtype=np.int64))
        self._arcs[state] = cached
        return cached

    def walk(self, ids: list[int]) -> int | None:
        """State reached by the token ids ``ids`` from the start, or None if off the graph."""
        state = 0
        for token in ids:
            labels, targets = self.arcs(state)
            at = int(np.searchsorted(labels, token))
            if at == labels.size or labels[at] != token:
                return None
            state = int(targets[at])
        return state

    def accepts(self, ids: list[int]) -> bool:
        """Whether ``ids`` spell a whole sentence of the grammar."""
        state = self.walk(ids)
        return state is not None and self.is_final(state)

    def _closure(self, positions: list[int]) -> frozenset[int]:
        auto, seen, stack = self._auto, set(positions), list(positions)
        no_space = self._space < 0
        while stack:
            node, mode = divmod(stack.pop(), 4)
            after_gap = mode if (no_space or mode != _WORD) else _PENDING
            for nxt in itertools.chain(((d, mode) for d in auto.eps[node]),
                                       ((d, after_gap) for d in auto.gaps[node])):
                pos = nxt[0] * 4 + nxt[1]
                if pos not in seen:
                    seen.add(pos)
                    stack.append(pos)
        return frozenset(seen)

    def _state(self, positions: frozenset[int]) -> int:
        state = self._ids.get(positions)
        if state is None:
            state = len(self._sets)
            self._ids[positions] = state
            self._sets.append(positions)
            self._arcs.append(None)
            final = self._final * 4
            self._accepting.append(any(final + m in positions for m in (_WORD, _PENDING,
                                                                       _SPACED)))
        return state
