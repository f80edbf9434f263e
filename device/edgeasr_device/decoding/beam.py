"""CTC prefix beam search, vectorised over beams x tokens.

A beam is a token prefix with two acoustic log-probabilities: of the frame paths that
produce it and end in a blank (``pb``) and of those ending in its last token (``pnb``).
Per frame, with ``row`` the frame's log-probabilities:

* staying: ``pb' = logaddexp(pb, pnb) + row[blank]``, ``pnb' = pnb + row[last]`` (a repeated
  token collapses into the same prefix);
* extending by a token ``c``: the prefix ``p + c`` gets ``pnb += (pb if c == last else
  logaddexp(pb, pnb)) + row[c]`` (a repeat needs a blank in between);
* an extension that reaches a prefix already in the beam merges into it.

Prefixes live in a trie (one node per prefix, created once), so merging is a node-id
comparison and context scores (:class:`~.scoring.PrefixScorer`: language model, word bonus,
hotwords) are computed once per node, not per frame. The total of a beam is
``logaddexp(pb, pnb) + S(prefix)``; the ``beam_width`` best survive each frame. Tokens whose
log-probability is below ``token_min_logp`` at a frame are not extended there (the frame's
best token always is). Extensions whose score cannot reach the beam (``S`` grows by at most
``scorer.max_gain`` per token) are dropped before their node is built. At the end each
prefix is scored as a whole utterance (``scorer.final``) and the list re-ranked.

With ``beam_width`` at least the number of distinct prefixes and no token pruning the search
is exact: every hypothesis gets ``ln P_ctc(tokens | x) + final score``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .scoring import PrefixScorer

__all__ = ["Hypothesis", "prefix_beam_search"]


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
    """Prefix nodes: parent, last token and context score as growing arrays."""

    def __init__(self, vocab_size: int, state, score: float):
        self.vocab_size = vocab_size
        self.parent = np.full(1024, -1, dtype=np.int64)
        self.token = np.full(1024, -1, dtype=np.int64)
        self.score = np.zeros(1024, dtype=np.float64)
        self.score[0] = score
        self.states = [state]
        self.children: dict[int, int] = {}
        self.size = 1

    def child(self, node: int, token: int, scorer: PrefixScorer | None) -> int:
        key = node * self.vocab_size + token
        found = self.children.get(key)
        if found is not None:
            return found
        new = self.size
        if new == self.parent.shape[0]:
            grow = new
            self.parent = np.concatenate([self.parent, np.full(grow, -1, dtype=np.int64)])
            self.token = np.concatenate([self.token, np.full(grow, -1, dtype=np.int64)])
            self.score = np.concatenate([self.score, np.zeros(grow)])
        self.parent[new] = node
        self.token[new] = token
        if scorer is not None:
            state, value = scorer.extend(self.states[node], token)
            self.states.append(state)
            self.score[new] = value
        else:
            self.states.append(None)
        self.children[key] = new
        self.size = new + 1
        return new

    def tokens(self, node: int) -> tuple[int, ...]:
        out = []
        while node > 0:
            out.append(int(self.token[node]))
            node = int(self.parent[node])
        return tuple(reversed(out))


def prefix_beam_search(log_probs: np.ndarray, blank: int, beam_width: int = 16,
                       scorer: PrefixScorer | None = None, nbest: int = 1,
                       token_min_logp: float = -math.inf,
                       beam_threshold: float = math.inf) -> list[Hypothesis]:
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
            (blank, or their last token repeated), in one step.
        beam_threshold: prefixes more than this (natural log) below the best are dropped.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    t_len, vocab = lp.shape
    state0, score0 = scorer.initial() if scorer is not None else (None, 0.0)
    trie = _Trie(vocab, state0, score0)
    max_gain = scorer.max_gain if scorer is not None else 0.0
    keep = lp >= token_min_logp
    keep[np.arange(t_len), lp.argmax(axis=1)] = True
    keep[:, blank] = False
    frames, candidates = np.nonzero(keep)
    bounds = np.searchsorted(frames, np.arange(t_len + 1))
    busy = np.flatnonzero(bounds[1:] > bounds[:-1])  # frames with a token to try
    column = np.full(vocab, -1, dtype=np.int64)
    neg = -np.inf

    pb, pnb, context = np.zeros(1), np.full(1, neg), np.full(1, score0)
    nodes, last, parents = (np.zeros(1, dtype=np.int64), np.full(1, -1, dtype=np.int64),
                            np.full(1, -1, dtype=np.int64))
    logaddexp, concatenate, where = np.logaddexp, np.concatenate, np.where
    t = 0
    while t < t_len:
        if bounds[t] == bounds[t + 1]:
            i = int(busy.searchsorted(t))
            stop = int(busy[i]) if i < busy.shape[0] else t_len
            pb, pnb = _carry(pb, pnb, last, lp[t:stop], blank)
            t = stop
            continue
        row = lp[t]
        total = logaddexp(pb, pnb)
        new_pb = total + row[blank]
        new_pnb = pnb + row[last]  # the root (last == -1) has pnb == -inf
        src = merged = None
        size = nodes.shape[0]
        if size > 1:  # extensions reaching a prefix already in the beam merge into it
            order = nodes.argsort()
            at = nodes[order].searchsorted(parents)
            at[at == size] = size - 1
            merged = (nodes[order[at]] == parents).nonzero()[0]
            if merged.size:
                src = order[at[merged]]
                tok = last[merged]
                incoming = where(tok == last[src], pb[src], total[src]) + row[tok]
                new_pnb[merged] = logaddexp(new_pnb[merged], incoming)
        kept = context + logaddexp(new_pb, new_pnb)
        tokens = candidates[bounds[t]:bounds[t + 1]]
        ext = where(tokens == last[:, None], pb[:, None], total[:, None])
        ext += row[tokens]
        if src is not None:
            column[tokens] = np.arange(tokens.size)
            cols = column[last[merged]]
            hit = cols >= 0
            ext[src[hit], cols[hit]] = neg
            column[tokens] = -1
        floor = kept.max() - beam_threshold
        if size >= beam_width:
            floor = max(floor, np.partition(kept, size - beam_width)[size - beam_width])
        ext = ext.ravel()
        chosen = ((ext + (context + max_gain).repeat(tokens.size)) > floor).nonzero()[0]
        if chosen.size:
            rows_b, cols_t = np.divmod(chosen, tokens.size)
            parent_nodes = nodes[rows_b]
            new_tokens = tokens[cols_t]
            child = trie.child
            made = np.fromiter((child(b, c, scorer) for b, c in
                                zip(parent_nodes.tolist(), new_tokens.tolist())),
                               dtype=np.int64, count=chosen.size)
            ext_pnb = ext[chosen]
            made_scores = trie.score[made]
            pb = concatenate((new_pb, np.full(made.shape[0], neg)))
            pnb = concatenate((new_pnb, ext_pnb))
            context = concatenate((context, made_scores))
            nodes = concatenate((nodes, made))
            last = concatenate((last, new_tokens))
            parents = concatenate((parents, parent_nodes))
            kept = concatenate((kept, made_scores + ext_pnb))
        else:
            pb, pnb = new_pb, new_pnb
        best = kept.max()
        if kept.shape[0] > beam_width:
            top = (-kept).argpartition(beam_width - 1)[:beam_width]
            top = top[kept[top] >= best - beam_threshold]
        else:
            top = (kept >= best - beam_threshold).nonzero()[0]
        if top.size == 0:  # every path has probability zero: keep the best anyway
            top = kept.argmax()[None]
        if top.size != kept.shape[0]:
            pb, pnb, context = pb[top], pnb[top], context[top]
            nodes, last, parents = nodes[top], last[top], parents[top]
        t += 1

    acoustic = np.logaddexp(pb, pnb)
    finals = np.array([scorer.final(trie.states[n]) if scorer is not None else 0.0
                       for n in nodes.tolist()])
    totals = acoustic + finals
    ranked = np.argsort(-totals, kind="stable")
    ranked = ranked[:nbest] if nbest else ranked
    return [Hypothesis(trie.tokens(int(nodes[i])), float(totals[i]), float(acoustic[i]))
            for i in ranked]


def _carry(pb: np.ndarray, pnb: np.ndarray, last: np.ndarray, rows: np.ndarray,
           blank: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pb, pnb)`` (B,) after ``rows`` (L, V) frames in which no prefix grows.

    A path that ends a prefix's last token may repeat it for k frames and then emit blanks;
    one that ends in a blank stays there: ``pnb' = pnb + sum x``, ``pb' = logaddexp(pb +
    sum b, logsumexp_k(pnb + X_k + b_{k+1} + .. + b_L))`` with ``x = rows[:, last]``,
    ``X_k`` its cumulative sum and ``b`` the blank column.
    """
    rows = np.maximum(rows, -1e30)  # keeps -inf - -inf out of the sums
    b = np.cumsum(rows[:, blank])  # (L,)
    x = np.cumsum(rows[:, last], axis=0)  # (L, B)
    before = np.concatenate([np.zeros((1, x.shape[1])), x[:-1]]) - np.concatenate(
        [[0.0], b[:-1]])[:, None]
    new_pb = np.logaddexp(pb, np.logaddexp.reduce(pnb[None, :] + before, axis=0)) + b[-1]
    return new_pb, pnb + x[-1]
