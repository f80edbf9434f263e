"""CTC prefix beam search: a pruned loop over a few beams, in plain Python floats.

A beam is a token prefix with two acoustic probabilities: of the frame paths that produce it
and end in a blank (``pb``) and of those ending in its last token (``pnb``). Per frame, with
``row`` the frame's probabilities:

* staying: ``pb' = (pb + pnb) * row[blank]``, ``pnb' = pnb * row[last]`` (a repeated token
  collapses into the same prefix);
* extending by a token ``c``: the prefix ``p + c`` gets ``pnb += (pb if c == last else
  pb + pnb) * row[c]`` (a repeat needs a blank in between);
* an extension that reaches a prefix already in the beam merges into it.

Prefixes live in a trie (one node per prefix, created once), so merging is a node-id
comparison and context scores (:class:`~.scoring.PrefixScorer`: language model, word bonus,
hotwords) are computed once per node, not per frame. The total of a beam is
``ln(pb + pnb) + S(prefix)``; the ``beam_width`` best survive each frame. Tokens whose
log-probability is below ``token_min_logp`` at a frame are not extended there (the frame's
best token always is). Extensions whose score cannot reach the beam (``S`` grows by at most
``scorer.max_gain`` per token) are dropped before their node is built. At the end each
prefix is scored as a whole utterance (``scorer.final``) and the list re-ranked.

Why plain floats: a peaky CTC model leaves one to three beams and one or two candidate
tokens per frame after pruning, so a frame is a dozen scalar updates; numpy calls on arrays
that small cost more in call overhead than the arithmetic. Probabilities are kept linear
(no ``logaddexp``): each frame's row is divided by its largest entry, and the beams are
rescaled whenever their largest total leaves ``[1e-150, 1e150]``; the logs of both factors
are summed into an offset, so the acoustic scores returned are the exact natural-log values.
Runs of frames in which no token reaches ``token_min_logp`` only carry the beams forward
(blank, or their last token repeated); long runs are done in one vectorised step.

With ``beam_width`` at least the number of distinct prefixes and no token pruning the search
is exact: every hypothesis gets ``ln P_ctc(tokens | x) + final score``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .carry import HIGH as _HIGH
from .carry import LOW as _LOW
from .carry import carry_vector, rescale
from .scoring import PrefixScorer

__all__ = ["Hypothesis", "PrefixBeamSearch", "prefix_beam_search"]

#: Carry runs of frames without candidates in numpy once ``frames * beams`` reaches this.
_VECTOR_CARRY = 96
#: Frames converted to Python floats at a time.
_BLOCK = 128
_NEG = -math.inf


@dataclass(frozen=True)
class Hypothesis:
    """One result of the search.

    Attributes:
        tokens: class ids of the prefix (no blanks).
        score: ``acoustic`` plus the scorer's final score (what the list is ranked by).
        acoustic: ``ln P(tokens | audio)`` summed over every frame path that yields them.
    """

    tokens: tuple[int, ...]
    score: float
    acoustic: float


class _Trie:
    """Prefix nodes: parent, last token, context score and scorer state as Python lists."""

    def __init__(self, vocab_size: int, state, score: float):
        self.vocab_size = vocab_size
        self.parent = [-1]
        self.token = [-1]
        self.score = [score]
        self.states = [state]
        self.children: dict[int, int] = {}

    def add(self, node: int, token: int, state, score: float) -> int:
        """The new child of ``node`` by ``token`` with its scorer state and score (the
        caller checked that it is new)."""
        new = len(self.parent)
        self.parent.append(node)
        self.token.append(token)
        self.states.append(state)
        self.score.append(score)
        self.children[node * self.vocab_size + token] = new
        return new

    def tokens(self, node: int) -> tuple[int, ...]:
        out = []
        parent, token = self.parent, self.token
        while node > 0:
            out.append(token[node])
            node = parent[node]
        return tuple(reversed(out))


def prefix_beam_search(log_probs: np.ndarray, blank: int, beam_width: int = 16,
                       scorer: PrefixScorer | None = None, nbest: int = 1,
                       token_min_logp: float = -math.inf,
                       beam_threshold: float = math.inf,
                       blank_skip: float | None = None) -> list[Hypothesis]:
    """The ``nbest`` best token sequences for one utterance, best first.

    Args:
        log_probs: ``(T, V)`` log-softmax scores.
        blank: class index of the CTC blank.
        beam_width: prefixes kept per frame.
        scorer: context scores (language model, bonus, hotwords), or None for none.
        nbest: hypotheses returned (at most ``beam_width``, fewer if fewer survive);
            0: every surviving prefix.
        token_min_logp: per-frame log-probability below which a token is not extended.
            A run of frames where no token reaches it only carries the prefixes forward
            (blank, or their last token repeated).
        beam_threshold: prefixes more than this (natural log) below the best are dropped.
        blank_skip: a frame whose blank probability is at least this starts no new token
            (its prefixes are only carried forward, as where no token reaches
            ``token_min_logp``); None: every frame is searched.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    search = PrefixBeamSearch(lp.shape[1], blank, beam_width, scorer, token_min_logp,
                              beam_threshold, blank_skip)
    search.advance(lp)
    return search.hypotheses(nbest)


class PrefixBeamSearch:
    """The search of :func:`prefix_beam_search`, fed frames as they arrive.

    ``advance`` takes any number of frames at a time; the beams after the last frame do not
    depend on how the frames were split (only floating-point rounding of runs of frames
    without candidates, carried in one step, can differ, within 1e-9 in the scores). So a
    stream decodes while the audio comes in, and the end of an utterance costs only
    :meth:`hypotheses`. Arguments as for :func:`prefix_beam_search`, with ``vocab_size``
    the number of classes ``V``.
    """

    def __init__(self, vocab_size: int, blank: int, beam_width: int = 16,
                 scorer: PrefixScorer | None = None, token_min_logp: float = -math.inf,
                 beam_threshold: float = math.inf, blank_skip: float | None = None):
        self.vocab_size = int(vocab_size)
        self.blank = int(blank)
        self.beam_width = int(beam_width)
        self.scorer = scorer
        self.token_min_logp = float(token_min_logp)
        self.beam_threshold = float(beam_threshold)
        self.blank_skip = None if blank_skip is None else math.log(blank_skip)
        state0, score0 = scorer.initial() if scorer is not None else (None, 0.0)
        self.trie = _Trie(self.vocab_size, state0, score0)
        self.frames = 0  # frames consumed so far
        self._unborn: dict[int, tuple] = {}  # scored extensions that fell below the floor
        # the beams: trie nodes and linear pb, pnb; true probability = value * exp(offset)
        self._nodes, self._pb, self._pnb, self._offset = [0], [1.0], [0.0], 0.0

    def best_tokens(self) -> tuple[int, ...]:
        """The current best prefix (acoustic + context score so far, before the end-of-
        utterance score): what a partial result shows."""
        context = self.trie.score
        totals = [a + context[n] for a, n in zip(self._log_totals(), self._nodes)]
        return self.trie.tokens(self._nodes[totals.index(max(totals))])

    def hypotheses(self, nbest: int = 1) -> list[Hypothesis]:
        """The ``nbest`` best (0: all) beams as whole utterances, best first; the search can
        go on afterwards."""
        scorer, states = self.scorer, self.trie.states
        acoustic = [a + self._offset for a in self._log_totals()]
        finals = [scorer.final(states[n]) if scorer is not None else 0.0 for n in self._nodes]
        totals = [a + f for a, f in zip(acoustic, finals)]
        ranked = sorted(range(len(self._nodes)), key=lambda i: -totals[i])  # stable on ties
        ranked = ranked[:nbest] if nbest else ranked
        return [Hypothesis(self.trie.tokens(self._nodes[i]), float(totals[i]),
                           float(acoustic[i])) for i in ranked]

    def _log_totals(self) -> list[float]:
        """``ln(pb + pnb)`` of each beam, without the offset."""
        return [math.log(b + nb) if b + nb > 0.0 else _NEG for b, nb in zip(self._pb, self._pnb)]

    def advance(self, log_probs: np.ndarray) -> None:
        """Consume ``(T, V)`` more log-softmax frames."""
        lp = np.asarray(log_probs, dtype=np.float64)
        if lp.ndim != 2 or lp.shape[1] != self.vocab_size:
            raise ValueError(f"expected (T, {self.vocab_size}) log-probabilities, got "
                             f"shape {lp.shape}")
        t_len, vocab = lp.shape
        if t_len == 0:
            return
        self.frames += t_len
        blank, scorer, trie = self.blank, self.scorer, self.trie
        beam_threshold = self.beam_threshold
        max_gain = scorer.max_gain if scorer is not None else 0.0
        width = self.beam_width
        # per frame: the tokens worth extending (always the best one; never the blank)
        keep = lp >= self.token_min_logp
        keep[np.arange(t_len), lp.argmax(axis=1)] = True
        keep[:, blank] = False
        if self.blank_skip is not None:  # frames that are surely blank start nothing
            keep[lp[:, blank] >= self.blank_skip] = False
        peak = lp.max(axis=1)
        peak = np.where(np.isfinite(peak), peak, 0.0)
        probs = np.exp(lp - peak[:, None])  # (T, V), each row's largest entry is 1
        frames, cands = np.nonzero(keep)
        order = np.lexsort((-probs[frames, cands], frames))  # per frame, the likeliest first
        cands = cands[order].tolist()
        bounds = np.searchsorted(frames, np.arange(t_len + 1)).tolist()
        busy = np.flatnonzero(np.diff(bounds)).tolist() + [t_len]  # frames with a candidate
        peaks = peak.tolist()

        parent, token, context, children = trie.parent, trie.token, trie.score, trie.children
        add, states = trie.add, trie.states
        extend = scorer.extend if scorer is not None else None
        unborn = self._unborn
        log, exp = math.log, math.exp
        nodes, pb, pnb, offset = self._nodes, self._pb, self._pnb, self._offset
        t = next_busy = block_start = block_end = 0
        rows: list[list[float]] = []
        while t < t_len:
            if busy[next_busy] < t:
                next_busy += 1
                continue
            if busy[next_busy] > t:  # frames where no prefix grows
                stop = busy[next_busy]
                if (stop - t) * len(nodes) >= _VECTOR_CARRY:
                    pb, pnb, offset = carry_vector(pb, pnb, offset, [token[n] for n in nodes],
                                                    lp[t:stop], blank)
                else:
                    last = [token[n] for n in nodes]
                    for row, shift in zip(probs[t:stop].tolist(), peaks[t:stop]):
                        rb = row[blank]
                        # the root's pnb is 0, so row[-1] for its missing last token is harmless
                        pb = [(b + nb) * rb for b, nb in zip(pb, pnb)]
                        pnb = [nb * row[x] for nb, x in zip(pnb, last)]
                        offset += shift
                    pb, pnb, offset = rescale(pb, pnb, offset)
                t = stop
                continue

            if len(nodes) == 1:  # the common case: one prefix, a few scalar updates
                n = nodes[0]
                b, nb = pb[0], pnb[0]
                total = b + nb
                if not _LOW <= total <= _HIGH and 0.0 < total < math.inf:
                    b, nb, offset = b / total, nb / total, offset + log(total)
                    total = b + nb
                if t >= block_end:
                    block_start, block_end = t, t + _BLOCK
                    rows = probs[block_start:block_end].tolist()
                row = rows[t - block_start]
                offset += peaks[t]
                x = token[n]
                stay_b, stay_nb = total * row[blank], nb * row[x]
                cn = context[n]
                k0 = log(stay_b + stay_nb) + cn if stay_b + stay_nb > 0.0 else _NEG
                floor = k0 if width <= 1 else k0 - beam_threshold
                limit = floor - cn - max_gain
                grown = None
                tokens = cands[bounds[t]:bounds[t + 1]]  # best first
                if limit <= 700.0:
                    limit = exp(limit) if limit > -745.0 else 0.0
                    base = n * vocab
                    for c in tokens:
                        r = row[c]
                        if total * r <= limit:
                            break  # and so are the tokens after it
                        value = b * r if c == x else total * r
                        if value <= limit:
                            continue
                        child = children.get(base + c)
                        if child is None:
                            scored = unborn.get(base + c)
                            if scored is None:
                                scored = unborn[base + c] = (extend(states[n], c) if extend
                                                             is not None else (None, 0.0))
                            score = log(value) + scored[1]
                            if score < floor:
                                continue
                            child = add(n, c, scored[0], scored[1])
                        else:
                            score = log(value) + context[child]
                            if score < floor:
                                continue
                        if grown is None:
                            grown = ([n], [stay_b], [stay_nb], [k0])
                        grown[0].append(child)
                        grown[1].append(0.0)
                        grown[2].append(value)
                        grown[3].append(score)
                if grown is None:
                    pb, pnb = [stay_b], [stay_nb]
                    t += 1
                    continue
                nodes, new_pb, new_pnb, kept = grown
                best = max(kept)
            else:
                totals = [b + nb for b, nb in zip(pb, pnb)]
                high = max(totals)
                if not _LOW <= high <= _HIGH and 0.0 < high < math.inf:
                    scale = 1.0 / high
                    pb = [b * scale for b in pb]
                    pnb = [nb * scale for nb in pnb]
                    totals = [v * scale for v in totals]
                    offset += log(high)
                if t >= block_end:  # rows as Python floats, a block at a time
                    block_start, block_end = t, t + _BLOCK
                    rows = probs[block_start:block_end].tolist()
                row = rows[t - block_start]
                offset += peaks[t]
                rb = row[blank]
                tokens = cands[bounds[t]:bounds[t + 1]]  # best first
                size = len(nodes)
                new_pb = [v * rb for v in totals]
                new_pnb = [nb * row[token[n]] for nb, n in zip(pnb, nodes)]
                if size > 1:  # extensions reaching a prefix already in the beam merge into it
                    where = {n: i for i, n in enumerate(nodes)}
                    for i, n in enumerate(nodes):
                        j = where.get(parent[n])
                        if j is not None:
                            x = token[n]
                            new_pnb[i] += (pb[j] if x == token[nodes[j]] else totals[j]) * row[x]
                else:
                    where = None
                kept = [log(b + nb) + context[n] if b + nb > 0.0 else _NEG
                        for b, nb, n in zip(new_pb, new_pnb, nodes)]
                best = max(kept)
                floor = best - beam_threshold
                if size >= width:
                    floor = max(floor, sorted(kept, reverse=True)[width - 1])
                top_prob = row[tokens[0]]
                for i in range(size):
                    n = nodes[i]
                    limit = floor - context[n] - max_gain
                    if not limit <= 700.0:
                        continue  # nothing this beam's extensions can reach is good enough
                    limit = exp(limit) if limit > -745.0 else 0.0
                    s = totals[i]
                    if s * top_prob <= limit:
                        continue
                    b, x = pb[i], token[n]
                    base = n * vocab
                    for c in tokens:
                        r = row[c]
                        if s * r <= limit:
                            break  # and so are the tokens after it
                        value = b * r if c == x else s * r
                        if value <= limit:
                            continue
                        child = children.get(base + c)
                        if child is None:  # score it first: most new prefixes fall below the floor
                            scored = unborn.get(base + c)
                            if scored is None:
                                scored = unborn[base + c] = (extend(states[n], c) if extend is not None
                                                             else (None, 0.0))
                            total = log(value) + scored[1]
                            if total < floor:
                                continue
                            child = add(n, c, scored[0], scored[1])
                        elif where is not None and child in where:
                            continue  # merged above
                        else:
                            total = log(value) + context[child]
                            if total < floor:
                                continue
                        nodes.append(child)
                        new_pb.append(0.0)
                        new_pnb.append(value)
                        kept.append(total)
                if len(kept) > size:
                    best = max(best, max(kept[size:]))
            count = len(kept)
            cut = best - beam_threshold
            if count > width:
                top = sorted(range(count), key=kept.__getitem__, reverse=True)[:width]
                top = [i for i in top if kept[i] >= cut]
            else:
                top = [i for i in range(count) if kept[i] >= cut]
            if not top:  # every path has probability zero: keep the best anyway
                top = [kept.index(best)]
            if len(top) == count:
                pb, pnb = new_pb, new_pnb
            else:
                nodes = [nodes[i] for i in top]
                pb = [new_pb[i] for i in top]
                pnb = [new_pnb[i] for i in top]
            t += 1

        self._nodes, self._pb, self._pnb, self._offset = nodes, pb, pnb, offset
