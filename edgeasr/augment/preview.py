"""Listen to and look at what augmentation does: original/augmented wav pairs and spectrograms.

:func:`write_preview` picks ``n`` utterances of a manifest at random (seeded, spread over the
whole manifest, kept in manifest order; all of them when it holds no more than ``n``),
augments the utterance at 0-based position ``i`` with key ``(i,)``, and writes into
``out_dir``, numbering the previews ``000``, ``001``, ...::

    000_original.wav  000_augmented.wav   16-bit PCM mono
    000.png                               spectrograms: original above, augmented below, the
                                          effects that fired in the title
    index.json                            seed, config, and per utterance its position in the
                                          manifest, files, text, durations, the effects with
                                          their parameters and their labels
                                          (``"bandlimit 4000 Hz"``, see :func:`describe_step`)

:func:`measure_throughput` tells what augmentation costs, in audio seconds per CPU second.
"""

from __future__ import annotations

import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from edgeasr.augment.augmenter import Augmenter
from edgeasr.augment.configs import AugmentConfig
from edgeasr.data.manifest import read_manifest
from edgeasr.errors import ConfigError
from edgeasr.files import atomic_write_json
from edgeasr_device.audio import DEFAULT_SAMPLE_RATE, load_audio
from edgeasr_device.errors import EdgeAsrError

__all__ = ["PreviewResult", "describe_step", "measure_throughput", "preview_sample",
           "spectrogram_db", "write_preview", "write_spectrogram_png"]


@dataclass(frozen=True)
class PreviewResult:
    """Where the preview went: ``index.json``, how many pairs were written, which failed."""

    index_path: Path
    written: int
    failed: tuple[str, ...]


def preview_sample(count: int, n: int, seed: int = 0) -> list[int]:
    """``min(n, count)`` distinct positions in ``range(count)``, a seeded random sample, sorted."""
    if n <= 0:
        raise ConfigError(f"the number of utterances to preview must be positive, got {n}")
    return sorted(random.Random(f"augment-preview:{seed}").sample(range(count), min(n, count)))


def write_preview(manifest: str | os.PathLike, out_dir: str | os.PathLike, n: int = 8,
                  config: AugmentConfig | None = None, seed: int = 0,
                  sample_rate: int = DEFAULT_SAMPLE_RATE) -> PreviewResult:
    """Augment ``n`` utterances sampled from ``manifest`` (:func:`preview_sample` with ``seed``)
    and write wavs, PNGs and ``index.json``; ``seed`` also seeds the augmentation.

    An utterance whose audio cannot be read is listed in ``index.json`` with its error.
    """
    utterances = read_manifest(manifest)
    chosen = preview_sample(len(utterances), n, seed)
    config = config if config is not None else AugmentConfig()
    augmenter = Augmenter(config, sample_rate, seed=seed)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    items: list[dict[str, Any]] = []
    failed: list[str] = []
    for number, i in enumerate(chosen):
        utterance = utterances[i]
        item: dict[str, Any] = {"index": i, "key": [i], "audio": str(utterance.audio_path),
                                "text": utterance.text}
        try:
            original = load_audio(utterance.audio_path, sample_rate)
        except EdgeAsrError as err:
            failed.append(f"{utterance.source}: {err}")
            items.append({**item, "error": str(err)})
            continue
        augmented = augmenter(original, (i,))
        steps = augmenter.describe((i,))
        labels = [describe_step(s) for s in steps]
        stem = f"{number:03d}"
        sf.write(out / f"{stem}_original.wav", original, sample_rate, subtype="PCM_16")
        sf.write(out / f"{stem}_augmented.wav", augmented, sample_rate, subtype="PCM_16")
        title = ", ".join(labels) or "no augmentation fired"
        write_spectrogram_png(out / f"{stem}.png", original, augmented, sample_rate,
                              f"{utterance.text[:60]}\n{title}")
        items.append({**item, "original": f"{stem}_original.wav", "augmented": f"{stem}_augmented.wav",
                      "spectrogram": f"{stem}.png",
                      "original_seconds": round(original.shape[0] / sample_rate, 4),
                      "augmented_seconds": round(augmented.shape[0] / sample_rate, 4),
                      "augmentations": steps, "labels": labels})
    index = atomic_write_json(out / "index.json", {
        "seed": seed, "sample_rate": sample_rate, "manifest": str(Path(manifest).resolve()),
        "config": config.to_dict(), "items": items,
    })
    return PreviewResult(index, len(items) - len(failed), tuple(failed))


def describe_step(step: dict[str, Any]) -> str:
    """A short human label for one ``Augmenter.describe`` entry, e.g. ``"noise pink 17.2 dB SNR"``.

    Band-limiting is labelled with its cutoff, half the rate it resamples through:
    ``rate_hz`` 8000 is ``"bandlimit 4000 Hz"``.
    """
    name = step["name"]
    if name in ("speed", "stretch"):
        return f"{name} x{step['factor']:.3f}"
    if name == "pitch":
        return f"pitch {step['semitones']:+.2f} st"
    if name == "time_shift":
        return f"shift {step['ms']:+.0f} ms ({step['mode']})"
    if name == "silence":
        return f"silence {step['lead_ms']:.0f} ms before, {step['trail_ms']:.0f} ms after"
    if name == "reverb":
        if step["source"] == "synthetic":
            return f"reverb RT60 {step['rt60_s']:.2f} s DRR {step['drr_db']:.1f} dB"
        return f"reverb {Path(step['source']).name}"
    if name == "noise":
        source = step["source"] if "seed" in step else Path(step["source"]).name
        return f"noise {source} {step['snr_db']:.1f} dB SNR"
    if name == "band_limit":
        return f"bandlimit {step['rate_hz'] / 2:g} Hz"
    if name == "gain":
        return f"gain {step['db']:+.1f} dB"
    return name


def spectrogram_db(audio: np.ndarray, sample_rate: int, window_s: float = 0.025,
                   hop_s: float = 0.010) -> np.ndarray:
    """Power spectrogram in dB, shape ``(frames, bins)``, Hann window, zero-padded to a frame."""
    win = int(round(window_s * sample_rate))
    hop = int(round(hop_s * sample_rate))
    n_fft = 1 << (win - 1).bit_length()
    x = np.asarray(audio, dtype=np.float32)
    if x.shape[0] < win:
        x = np.pad(x, (0, win - x.shape[0]))
    frames = 1 + (x.shape[0] - win) // hop
    index = np.arange(win)[None, :] + hop * np.arange(frames)[:, None]
    power = np.abs(np.fft.rfft(x[index] * np.hanning(win).astype(np.float32), n_fft)) ** 2
    return 10.0 * np.log10(power + 1e-10)


def write_spectrogram_png(path: str | os.PathLike, original: np.ndarray, augmented: np.ndarray,
                          sample_rate: int, title: str) -> Path:
    """Two spectrograms on one time axis and one colour scale: ``original`` above, ``augmented``
    below, ``title`` on top. Written with matplotlib's Agg canvas (no display needed)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    specs = [spectrogram_db(original, sample_rate), spectrogram_db(augmented, sample_rate)]
    top = max(float(s.max()) for s in specs)
    figure = Figure(figsize=(10, 6), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(2, 1, sharex=True, sharey=True)
    for ax, spec, label, audio in zip(axes, specs, ("original", "augmented"), (original, augmented)):
        image = ax.imshow(spec.T, origin="lower", aspect="auto", cmap="magma", vmin=top - 80, vmax=top,
                          extent=(0.0, audio.shape[0] / sample_rate, 0.0, sample_rate / 2000.0))
        ax.set_ylabel(f"{label}\nkHz")
    axes[1].set_xlim(0.0, max(original.shape[0], augmented.shape[0]) / sample_rate)
    axes[1].set_xlabel("seconds")
    figure.colorbar(image, ax=list(axes), label="dB")
    figure.suptitle(title, fontsize=10)
    path = Path(path)
    figure.savefig(path, format="png")
    return path


def measure_throughput(augmenter: Augmenter, count: int = 200, seconds: tuple[float, float] = (2.0, 4.0),
                       repeats: int = 3) -> float:
    """Audio seconds augmented per CPU second of this process (best of ``repeats`` passes).

    Utterances: ``count`` harmonic tones plus a little noise, ``seconds`` long (uniform), at the
    augmenter's rate; each pass uses new keys. CPU time (not wall time) keeps the figure stable
    on a busy machine; run under ``taskset -c 0`` to hold it to one core.
    """
    rate = augmenter.sample_rate
    rng = np.random.default_rng(0)
    utterances = []
    for _ in range(count):
        t = np.arange(int(rng.uniform(*seconds) * rate)) / rate
        tone = sum(np.sin(2 * np.pi * rng.uniform(90, 250) * k * t) / k for k in range(1, 8))
        utterances.append((0.15 * tone + 0.01 * rng.standard_normal(t.shape[0])).astype(np.float32))
    total = sum(u.shape[0] for u in utterances) / rate
    for i, audio in enumerate(utterances[:10]):
        augmenter(audio, (repeats, i))  # warm-up: imports, caches
    best = float("inf")
    for rep in range(repeats):
        start = time.process_time()
        for i, audio in enumerate(utterances):
            augmenter(audio, (rep, i))
        best = min(best, time.process_time() - start)
    return total / max(best, 1e-9)
