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

__all__ = ["GrammarHypothesis", "GrammarSearch", "grammar_search"]

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


class GrammarSearch:
    """The search of :func:`grammar_search`, run as frames arrive.

    ``advance`` takes the next ``(T, V)`` frames; ``best_prefix`` and ``result`` read the
    beam at any point. Feeding an utterance in pieces gives exactly the beam (and result)
    of one :func:`grammar_search` over all of it: the per-frame update does not depend on
    how frames are grouped.

    Args:
        graph: the grammar's token graph.
        blank: class index of the CTC blank.
        beam_width: prefixes kept after each frame.
        beam_delta: prefixes more than this many nats below the best are dropped.
    """

    def __init__(self, graph: TokenGraph, blank: int, beam_width: int = 16,
                 beam_delta: float = 20.0):
        self.blank = int(blank)
        self.beam_width = int(beam_width)
        self.beam_delta = float(beam_delta)
        self.frames = 0
        self._prefixes = _Prefixes(graph)
        self._pid = np.zeros(1, dtype=np.int64)
        self._last = np.full(1, -1, dtype=np.int64)
        self._pb = np.zeros(1)
        self._pnb = np.full(1, _NEG_INF)

    def advance(self, log_probs: np.ndarray) -> None:
        """Search ``(T, V)`` more log-softmax frames."""
        prefixes, tokens, blank = self._prefixes, self._prefixes.token, self.blank
        pid, last, pb, pnb = self._pid, self._last, self._pb, self._pnb
        for row in np.asarray(log_probs, dtype=np.float64):
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
            keep = _top(score, self.beam_width, self.beam_delta)
            pid, pb, pnb = uniq[keep], new_b[keep], new_nb[keep]
            last = np.fromiter((tokens[p] for p in pid.tolist()), dtype=np.int64,
                               count=pid.size)
            self.frames += 1
        self._pid, self._last, self._pb, self._pnb = pid, last, pb, pnb

    def best_prefix(self) -> tuple[int, ...]:
        """Token ids of the most likely prefix so far (a partial result)."""
        score = np.logaddexp(self._pb, self._pnb)
        return self._prefixes.ids(int(self._pid[int(np.argmax(score))]))

    def result(self) -> tuple[GrammarHypothesis | None, GrammarHypothesis]:
        """``(best complete sentence or None, best prefix overall)`` of the frames so far."""
        prefixes, pid = self._prefixes, self._pid
        score = np.logaddexp(self._pb, self._pnb)
        order = np.argsort(-score, kind="stable")
        best_any = int(pid[order[0]])
        best = GrammarHypothesis(prefixes.ids(best_any), float(score[order[0]]),
                                 prefixes.complete(best_any))
        for i in order.tolist():
            p = int(pid[i])
            if prefixes.complete(p):
                return GrammarHypothesis(prefixes.ids(p), float(score[i]), True), best
        return None, best


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
    search = GrammarSearch(graph, blank, beam_width, beam_delta)
    search.advance(log_probs)
    return search.result()


def _top(score: np.ndarray, width: int, delta: float) -> np.ndarray:
    """Indices of the ``width`` best finite scores within ``delta`` of the best."""
    finite = np.flatnonzero(np.isfinite(score))
    if finite.size == 0:
        return np.zeros(1, dtype=np.int64) if score.size else finite
    if finite.size > width:
        finite = finite[np.argpartition(-score[finite], width - 1)[:width]]
    return finite[score[finite] >= score[finite].max() - delta]
