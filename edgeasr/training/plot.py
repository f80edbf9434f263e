"""``edgeasr plot RUN``: a PNG of a run's training curves, per epoch.

Three panels on one epoch axis: training loss, dev WER and CER (%), and the learning rate
(log scale); the best epoch by dev WER is marked. The figures come from state.json's
``history`` (written atomically with every epoch checkpoint), or from log.csv (the same
figures) where state.json has none. Drawn with matplotlib's Agg canvas (no display needed)
and written atomically.
"""

from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path

from edgeasr.errors import RunError
from edgeasr.files import atomic_write_bytes
from edgeasr.runs import RunDirectory


def run_history(run_dir: str | os.PathLike) -> list[dict[str, float]]:
    """One mapping per finished epoch (``epoch`` counted from 1, then loss, dev_wer, dev_cer,
    lr, ... as logged).

    Raises:
        RunError: ``run_dir`` is not a training run, or it has no finished epoch yet.
    """
    run = RunDirectory(run_dir)
    run.read_info()  # RunError naming the folder when it is not a run
    history = [dict(h) for h in run.read_state().get("history") or []]
    log_csv = run.path / "log.csv"
    if not history and log_csv.exists():
        with log_csv.open(newline="") as handle:
            history = [{**row, "epoch": int(row["epoch"]) + 1} for row in csv.DictReader(handle)]
    rows = [{k: _number(v) for k, v in h.items()} for h in history]
    if not rows:
        raise RunError(f"{run.path} has no finished epoch to plot yet; train at least one "
                       "epoch (`edgeasr train ... --out RUN`)")
    return sorted(rows, key=lambda h: h["epoch"])


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan  # "NA" in log.csv


def plot_run(run_dir: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Write the PNG (default ``RUN/training.png``) and return its path.

    Raises:
        RunError: as :func:`run_history`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    history = run_history(run_dir)
    epochs = [h["epoch"] for h in history]

    def series(key: str, scale: float = 1.0) -> list[float]:
        return [h.get(key, math.nan) * scale for h in history]

    figure = Figure(figsize=(8, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    loss_ax, wer_ax, lr_ax = figure.subplots(3, 1, sharex=True)
    loss_ax.plot(epochs, series("loss"), marker="o", label="training loss")
    loss_ax.set_ylabel("CTC loss")
    wer_ax.plot(epochs, series("dev_wer", 100.0), marker="o", label="dev WER")
    wer_ax.plot(epochs, series("dev_cer", 100.0), marker="s", label="dev CER")
    wer_ax.set_ylabel("%")
    lr_ax.plot(epochs, series("lr"), marker="o", color="tab:green", label="learning rate")
    lr_ax.set_ylabel("learning rate")
    if any(v > 0 for v in series("lr")):
        lr_ax.set_yscale("log")
    lr_ax.set_xlabel("epoch")
    lr_ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    best = RunDirectory(run_dir).read_state().get("best") or {}
    if best.get("epoch") is not None:
        for ax in (loss_ax, wer_ax, lr_ax):
            ax.axvline(best["epoch"], color="grey", linestyle="--", linewidth=0.8)
        wer_ax.annotate(f"best: epoch {best['epoch']}", (best["epoch"], 0.0),
                        xycoords=("data", "axes fraction"), xytext=(4, 4),
                        textcoords="offset points", fontsize=8, color="grey")
    for ax in (loss_ax, wer_ax, lr_ax):
        ax.grid(alpha=0.3)
        ax.legend(loc="upper right", fontsize=8)
    figure.suptitle(f"{Path(run_dir).resolve().name}: {len(epochs)} epoch(s)", fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    path = Path(out) if out is not None else Path(run_dir) / "training.png"
    return atomic_write_bytes(path, buffer.getvalue())
