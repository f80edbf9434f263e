"""Beam arithmetic of :mod:`.beam` that is not the per-frame loop: keeping linear
probabilities in range, and carrying the beams through frames in which no prefix grows."""

from __future__ import annotations

import math

import numpy as np

#: Linear beam totals are rescaled once the largest leaves [LOW, HIGH].
HIGH, LOW = 1e150, 1e-150


def rescale(pb: list[float], pnb: list[float], offset: float
            ) -> tuple[list[float], list[float], float]:
    """The beams divided by their largest total (its log moves into ``offset``)."""
    high = max(b + nb for b, nb in zip(pb, pnb))
    if high <= 0.0 or not math.isfinite(high) or LOW <= high <= HIGH:
        return pb, pnb, offset
    scale = 1.0 / high
    return [b * scale for b in pb], [nb * scale for nb in pnb], offset + math.log(high)


def carry_vector(pb: list[float], pnb: list[float], offset: float, last: list[int],
                 rows: np.ndarray, blank: int) -> tuple[list[float], list[float], float]:
    """:func:`carry` for linear beams scaled by ``exp(offset)``."""
    with np.errstate(divide="ignore"):
        log_pb, log_pnb = np.log(pb) + offset, np.log(pnb) + offset
    new_pb, new_pnb = carry(log_pb, log_pnb, np.asarray(last, dtype=np.int64), rows, blank)
    totals = np.logaddexp(new_pb, new_pnb)
    finite = totals[np.isfinite(totals)]
    shift = float(finite.max()) if finite.size else 0.0
    return np.exp(new_pb - shift).tolist(), np.exp(new_pnb - shift).tolist(), shift


def carry(pb: np.ndarray, pnb: np.ndarray, last: np.ndarray, rows: np.ndarray,
           blank: int) -> tuple[np.ndarray, np.ndarray]:
    """``(pb, pnb)`` (B,) log-probabilities after ``rows`` (L, V) frames in which no prefix
    grows.

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
