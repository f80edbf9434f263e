"""CTC prefix beam search restricted to a :class:`~.graph.TokenGraph`.

Each hypothesis is a token prefix the grammar allows, with the two CTC forward scores of
that prefix (paths ending in a blank, paths ending in its last token); a prefix is only
ever extended by the tokens the graph permits after it. Scores are log-probabilities summed
over all alignments of the prefix, exactly as in an unconstrained prefix beam search, so
the grammar changes which prefixes exist, never how one is scored.

Per frame the work is a handful of numpy operations over the beam and its extensions
(``O(B * fanout)``); prefixes and their graph arcs are created once and cached.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .automaton import TokenGraph

__all__ = ["GrammarHypothesis", "grammar_search"]

_NEG_INF = -np.inf


@dataclass(frozen=True)
class GrammarHypothesis:
    """A prefix found by :func:`grammar_search`.

    Attributes:
        ids: token ids of the prefix, ``(L,)``.
        log_prob: CTC log-probability of the prefix (summed over its alignments).
        complete: whether the prefix is a whole sentence of the grammar.
    """

    ids: tuple[int, ...]
    log_prob: float
    complete: bool


class _Prefixes:
    """Prefix tree of the search: ``parent``/``token``/``state`` per prefix id (0 = empty)."""

    def __init__(self, graph: TokenGraph):
        self.graph = graph
        self.parent, self.token, self.state = [-1], [-1], [0]
        self._children: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def children(self, pid: int) -> tuple[np.ndarray, np.ndarray]:
        """``(labels, child ids)`` of every extension the graph allows after ``pid``."""
        cached = self._children.get(pid)
        if cached is None:
            labels, targets = self.graph.arcs(self.state[pid])
            first = len(self.token)
            self.parent.extend([pid] * labels.size)
            self.token.extend(labels.tolist())
            self.state.extend(targets.tolist())
            cached = (labels, np.arange(first, first + labels.size, dtype=np.int64))
            self._children[pid] = cached
        return cached

    def ids(self, pid: int) -> tuple[int, ...]:
        out = []
        while pid > 0:
            out.append(self.token[pid])
            pid = self.parent[pid]
        return tuple(reversed(out))

    def complete(self, pid: int) -> bool:
        return self.graph.is_final(self.state[pid])


def grammar_search(log_probs: np.ndarray, graph: TokenGraph, blank: int, beam_width: int = 16,
                   beam_delta: float = 20.0) -> tuple[GrammarHypothesis | None, GrammarHypothesis]:
    """The most likely whole sentence of the grammar, and the most likely prefix.

    Args:
        log_probs: ``(T, V)`` log-softmax scores of one utterance.
        graph: the grammar's token graph.
        blank: class index of the CTC blank.
        beam_width: prefixes kept after each frame.
        beam_delta: prefixes more than this many nats below the best are dropped.

    Returns:
        ``(best complete sentence or None, best prefix overall)``.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    prefixes = _Prefixes(graph)
    pid = np.zeros(1, dtype=np.int64)
    last = np.full(1, -1, dtype=np.int64)
    pb = np.zeros(1)
    pnb = np.full(1, _NEG_INF)
    tokens = prefixes.token
    for row in lp:
        total = np.logaddexp(pb, pnb)
        stay_b = total + row[blank]
        stay_nb = np.where(last >= 0, pnb + row[np.maximum(last, 0)], _NEG_INF)
        parts = [prefixes.children(p) for p in pid.tolist()]
        labels = np.concatenate([p[0] for p in parts])
        kids = np.concatenate([p[1] for p in parts])
        owner = np.repeat(np.arange(pid.size), [p[0].size for p in parts])
        ext = np.where(labels == last[owner], pb[owner], total[owner]) + row[labels]

        ids = np.concatenate([pid, kids])
        uniq, inv = np.unique(ids, return_inverse=True)
        new_b = np.full(uniq.size, _NEG_INF)
        new_nb = np.full(uniq.size, _NEG_INF)
        np.logaddexp.at(new_b, inv[:pid.size], stay_b)
        np.logaddexp.at(new_nb, inv, np.concatenate([stay_nb, ext]))
        score = np.logaddexp(new_b, new_nb)
        keep = _top(score, beam_width, beam_delta)
        pid, pb, pnb = uniq[keep], new_b[keep], new_nb[keep]
        last = np.fromiter((tokens[p] for p in pid.tolist()), dtype=np.int64, count=pid.size)

    score = np.logaddexp(pb, pnb)
    order = np.argsort(-score, kind="stable")
    best_any = int(pid[order[0]])
    best = GrammarHypothesis(prefixes.ids(best_any), float(score[order[0]]),
                             prefixes.complete(best_any))
    for i in order.tolist():
        p = int(pid[i])
        if prefixes.complete(p):
            return GrammarHypothesis(prefixes.ids(p), float(score[i]), True), best
    return None, best


def _top(score: np.ndarray, width: int, delta: float) -> np.ndarray:
    """Indices of the ``width`` best finite scores within ``delta`` of the best."""
    finite = np.flatnonzero(np.isfinite(score))
    if finite.size == 0:
        return np.zeros(1, dtype=np.int64) if score.size else finite
    if finite.size > width:
        finite = finite[np.argpartition(-score[finite], width - 1)[:width]]
    return finite[score[finite] >= score[finite].max() - delta]
