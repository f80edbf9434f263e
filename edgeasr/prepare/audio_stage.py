"""The audio stage of ``edgeasr prepare RECIPE --preprocess CONFIG.yaml``: a corpus's files.

:mod:`edgeasr.audio.preprocess` processes one waveform; this stage runs it over a corpus:
reading the config, worker processes, staging, file names, placing the pieces by split,
and the report's ``preprocess`` section. Without ``--preprocess`` the manifests point at the
corpus's own audio. With it, every utterance that passed the checks is standardised (mono,
``sample_rate``), run through :class:`~edgeasr.audio.preprocess.Preprocessor` (in
``--workers`` processes) and each resulting piece written as 16-bit PCM WAV:

1. :func:`plan_preprocessing` reads the YAML and loads the alignment model *before any
   work starts*, so a bad option or ``too_long: split`` without ``--align-model`` fails
   at once;
2. :func:`preprocess_utterances` processes the utterances into ``OUT/audio/.staging/``
   and returns an :class:`AudioStage`: per input either its pieces or a
   :class:`~edgeasr.prepare.corpora.common.Skip` (``too_short``, ``too_long``,
   ``too_long_unsplittable``, ``silent``, ``unreadable_audio``), plus a source-level
   utterance whose duration is that of its pieces, so splitting by duration sees the
   processed audio and all pieces of one input land in the same split;
3. :meth:`AudioStage.place` moves the pieces of each split to
   ``OUT/audio/<split>/<name>.wav`` (``<name>_NN.wav``, ``NN`` from 00, when an input
   was split), where ``<name>`` is derived from the audio's path under ``--src``: a rerun
   writes the same files. WAVs there that no manifest names any more are removed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import re
import shutil
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeasr.audio.preprocess import (
    PreprocessConfig,
    PreprocessError,
    Preprocessor,
    standardize,
    write_pcm16,
)
from edgeasr.configs import read_yaml
from edgeasr.data.manifest import Utterance
from edgeasr.errors import ConfigError
from edgeasr.prepare.corpora.common import Skip, strict_error
from edgeasr.prepare.options import PrepareOptions
from edgeasr.prepare.splits import SPLITS
from edgeasr_device.errors import AudioError

#: Folder under OUT that holds the processed audio.
AUDIO_DIR = "audio"
STAGING_DIR = ".staging"
#: Longest readable part of a file name; longer ones are cut and get a hash.
MAX_NAME = 120
#: Skip reasons (keys of :data:`~edgeasr.prepare.corpora.common.REASONS`) preprocessing gives.
PREPROCESS_REASONS = ("silent", "too_short", "too_long", "too_long_unsplittable",
                      "unreadable_audio")
#: Note kinds counted in the report, by a phrase each note of that kind holds (first
#: match wins; the notes come from :mod:`edgeasr.audio.preprocess` and ``loudness``).
NOTE_KINDS = (
    ("split", "split into "),
    ("piece_dropped", ") dropped: "),
    ("padded", "zero-padded"),
    ("peak_limited", "peak-limited"),
    ("too_quiet", "too quiet"),
    ("too_short_for_loudness", "BS.1770 block"),
)


@dataclass(frozen=True)
class PreprocessPlan:
    """What ``--preprocess`` / ``--align-model`` asked for, checked and loaded."""

    config: PreprocessConfig
    config_path: Path
    align_model: Path | None
    preprocessor: Preprocessor = field(compare=False, repr=False)


def load_preprocess_config(path: str | os.PathLike) -> PreprocessConfig:
    """PreprocessConfig fields from YAML, at the top level or under ``preprocess:``.

    An empty file means the defaults (standardisation only). Raises
    :class:`PreprocessError` naming the file (and the line, for bad YAML).
    """
    path = Path(path)
    try:
        data = read_yaml(path)
    except ConfigError as err:
        raise PreprocessError(f"{err}; pass a YAML file of preprocess options (see "
                              "recipes/preprocess.example.yaml)") from None
    if "preprocess" in data:
        others = sorted(set(data) - {"preprocess"})
        if others:
            raise PreprocessError(f"{path}: unknown top-level key(s) {', '.join(map(repr, others))} "
                                  "beside `preprocess:`; put every option under `preprocess:`")
        data = data["preprocess"]
    try:
        return PreprocessConfig.from_dict(data)
    except PreprocessError as err:
        raise PreprocessError(f"{path}: {err}") from None


def plan_preprocessing(config_path: str | os.PathLike,
                       align_model: str | os.PathLike | None = None) -> PreprocessPlan:
    """Read the config and load the alignment model; every set-up error raises here."""
    path = Path(config_path).expanduser().resolve()
    config = load_preprocess_config(path)
    splits = config.too_long == "split" and config.max_seconds is not None
    if splits and align_model is None:
        raise PreprocessError(
            f"{path}: too_long: split needs --align-model MODEL.tflite (an `edgeasr export`ed "
            "model for this language: it aligns the words so each piece keeps its own part of "
            "the transcript); pass one, or set too_long: drop")
    if not splits and align_model is not None:
        raise PreprocessError(
            f"--align-model is only used to split long utterances, and {path} does not split "
            "(it needs max_seconds and too_long: split); set those, or drop --align-model")
    model = None if align_model is None else Path(align_model).expanduser().resolve()
    return PreprocessPlan(config, path, model, Preprocessor(config, model))


# --------------------------------------------------------------------------- processing

@dataclass(frozen=True)
class PieceFile:
    """One processed piece in the staging folder."""

    path: Path
    seconds: float
    text: str


@dataclass(frozen=True)
class Processed:
    """What preprocessing made of one input: pieces, or a skip ``(reason, message)``."""

    index: int
    pieces: tuple[PieceFile, ...] = ()
    skip: tuple[str, str] | None = None
    notes: tuple[str, ...] = ()


def process_one(preprocessor: Preprocessor, index: int, audio_path: Path, text: str,
                staging: Path) -> Processed:
    """Standardise, preprocess and stage one utterance (runs in a worker process)."""
    rate = preprocessor.config.sample_rate
    try:
        audio = standardize(audio_path, rate)
    except AudioError as err:
        return Processed(index, skip=("unreadable_audio", str(err)))
    result = preprocessor.process(audio, text, str(audio_path))
    if result.skipped:
        return Processed(index, skip=(result.skip_code or "unknown", result.skip_reason or ""),
                         notes=result.notes)
    pieces = tuple(
        PieceFile(write_pcm16(staging / f"{index:07d}_{k:02d}.wav", piece.audio, rate),
                  piece.audio.shape[0] / rate, piece.text)
        for k, piece in enumerate(result.pieces))
    return Processed(index, pieces, notes=result.notes)


_worker_preprocessor: Preprocessor | None = None


def _init_worker(preprocessor: Preprocessor) -> None:
    global _worker_preprocessor
    _worker_preprocessor = preprocessor


def _run_job(job: tuple[int, Path, str, Path]) -> Processed:
    assert _worker_preprocessor is not None, "worker started without _init_worker"
    return process_one(_worker_preprocessor, *job)


@dataclass(frozen=True)
class AudioStage:
    """Preprocessing results, before the split (see the module docstring).

    Attributes:
        kept: ``(source-level utterance, official split)`` of inputs with pieces; the
            utterance keeps the original path, its duration is its pieces' total.
        skipped: inputs preprocessing left out, in input order.
        outcomes: original audio path -> :class:`Processed`, for every processed input.
        sources: original audio path -> where the corpus lists it (``"table.csv:3"``).
        names: original audio path -> the file names its pieces get.
        audio_root: ``OUT/audio``.
        seconds_before: duration of all processed inputs, as read from their headers.
    """

    kept: list[tuple[Utterance, str | None]]
    skipped: list[Skip]
    outcomes: dict[Path, Processed]
    sources: dict[Path, str]
    names: dict[Path, list[str]]
    audio_root: Path
    seconds_before: float

    def place(self, splits: dict[str, list[Utterance]]) -> tuple[dict[str, list[Utterance]], int]:
        """Move the pieces of the split source utterances into ``audio/<split>/``.

        Returns the piece-level splits (what the manifests list) and how many stale WAVs
        were removed. Pieces of inputs no split holds (``--exclude-test-text``) are deleted.
        """
        placed: dict[str, list[Utterance]] = {name: [] for name in SPLITS}
        wanted: set[Path] = set()
        for name in SPLITS:
            folder = self.audio_root / name
            for source in splits.get(name, []):
                for piece, file_name in zip(self.outcomes[source.audio_path].pieces,
                                            self.names[source.audio_path]):
                    target = folder / file_name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    os.replace(piece.path, target)
                    wanted.add(target)
                    placed[name].append(Utterance(target, piece.seconds, piece.text,
                                                  source.speaker, source.source))
        removed = 0
        for name in SPLITS:
            folder = self.audio_root / name
            for stale in sorted(folder.glob("*.wav")) if folder.is_dir() else []:
                if stale not in wanted:
                    stale.unlink()
                    removed += 1
        self.discard()
        return placed, removed

    def discard(self) -> None:
        """Remove the staged pieces (the preparation failed after preprocessing)."""
        shutil.rmtree(self.audio_root / STAGING_DIR, ignore_errors=True)

    def summary(self, plan: PreprocessPlan, max_examples: int) -> dict[str, Any]:
        """The report's ``preprocess`` section (see :mod:`edgeasr.prepare.report`)."""
        outcomes = list(self.outcomes.values())
        split = [o for o in outcomes if len(o.pieces) > 1]
        notes: dict[str, dict[str, Any]] = {}
        for path, outcome in self.outcomes.items():
            for note in outcome.notes:
                info = notes.setdefault(note_kind(note), {"count": 0, "examples": []})
                info["count"] += 1
                if len(info["examples"]) < max_examples:
                    info["examples"].append({"source": self.sources[path], "note": note})
        return {
            "config": plan.config.to_dict(),
            "config_file": str(plan.config_path),
            "align_model": None if plan.align_model is None else str(plan.align_model),
            "audio_dir": AUDIO_DIR,
            "processed": len(outcomes),
            "kept": len(self.kept),
            "skipped": len(self.skipped),
            "skipped_by_reason": dict(Counter(s.reason for s in self.skipped).most_common()),
            "pieces": sum(len(o.pieces) for o in outcomes),
            "split": {"utterances": len(split), "pieces": sum(len(o.pieces) for o in split)},
            "notes": notes,
            "hours_before": round(self.seconds_before / 3600.0, 4),
            "hours_after": round(sum(p.seconds for o in outcomes for p in o.pieces) / 3600.0, 4),
        }


def note_kind(note: str) -> str:
    """The :data:`NOTE_KINDS` key of a preprocessing note, or ``"other"``."""
    return next((kind for kind, phrase in NOTE_KINDS if phrase in note), "other")


def preprocess_utterances(kept: list[tuple[Utterance, str | None]], src_root: Path, out: Path,
                          plan: PreprocessPlan, options: PrepareOptions) -> AudioStage:
    """Preprocess every checked utterance into the staging folder (module docstring, step 2).

    Raises:
        CorpusError: ``options.strict`` and an utterance was skipped (the first in input
            order); nothing is left in the staging folder then.
    """
    audio_root = out / AUDIO_DIR
    staging = audio_root / STAGING_DIR
    shutil.rmtree(staging, ignore_errors=True)  # left over by an interrupted run
    staging.mkdir(parents=True)
    jobs = [(i, u.audio_path, u.text, staging) for i, (u, _) in enumerate(kept)]
    sources = {u.audio_path: u.source for u, _ in kept}
    try:
        outcomes = _process_all(plan.preprocessor, jobs, list(sources.values()), options)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    stage_kept: list[tuple[Utterance, str | None]] = []
    skipped: list[Skip] = []
    by_path: dict[Path, Processed] = {}
    for (utterance, split), outcome in zip(kept, outcomes):
        by_path[utterance.audio_path] = outcome
        if outcome.skip is not None:
            skipped.append(make_skip(outcome, utterance.audio_path, utterance.source))
        else:
            seconds = sum(p.seconds for p in outcome.pieces)
            stage_kept.append((Utterance(utterance.audio_path, seconds, utterance.text,
                                         utterance.speaker, utterance.source), split))
    counts = {path: len(o.pieces) for path, o in by_path.items() if o.pieces}
    return AudioStage(stage_kept, skipped, by_path, sources, file_names(counts, src_root),
                      audio_root, sum(u.duration for u, _ in kept))


def _process_all(preprocessor: Preprocessor, jobs: list[tuple[int, Path, str, Path]],
                 sources: list[str], options: PrepareOptions) -> list[Processed]:
    """Run the jobs in order (in ``options.workers`` processes); strict: stop at a skip."""
    results: list[Processed] = []

    def take(outcome: Processed, job: tuple[int, Path, str, Path], source: str) -> None:
        if outcome.skip is not None and options.strict:
            raise strict_error(make_skip(outcome, job[1], source))
        results.append(outcome)

    if options.workers <= 1 or len(jobs) <= 1:
        for job, source in zip(jobs, sources):
            take(process_one(preprocessor, *job), job, source)
        return results
    workers = min(options.workers, len(jobs))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(preprocessor,))
    try:
        chunk = max(1, min(16, len(jobs) // (4 * workers)))
        for outcome, job, source in zip(pool.map(_run_job, jobs, chunksize=chunk), jobs, sources):
            take(outcome, job, source)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return results


def make_skip(outcome: Processed, audio_path: Path, source: str) -> Skip:
    """The report's skip for a skipped outcome, naming the audio file where ``source`` does not."""
    assert outcome.skip is not None
    reason, message = outcome.skip
    named = source == str(audio_path) or message.startswith(str(audio_path))
    return Skip(reason, source, message if named else f"{audio_path}: {message}")


# --------------------------------------------------------------------------- file names

def stable_name(path: Path, root: Path) -> str:
    """A file name stem for ``path``: its path under ``root`` (else its full path), joined by ``-``."""
    try:
        parts = path.with_suffix("").relative_to(root).parts
    except ValueError:
        parts = path.with_suffix("").parts[1:]
    name = "-".join(re.sub(r"[^A-Za-z0-9._-]+", "_", part) for part in parts).lstrip(".-") or "audio"
    return name if len(name) <= MAX_NAME else f"{name[:MAX_NAME]}-{_digest(path, root)}"


def _digest(path: Path, root: Path) -> str:
    try:
        key = path.relative_to(root).as_posix()
    except ValueError:
        key = path.as_posix()
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]


def file_names(piece_counts: dict[Path, int], root: Path) -> dict[Path, list[str]]:
    """Audio path -> its pieces' file names: ``name.wav``, or ``name_00.wav``, ... when split.

    Names that would clash (also case-insensitively, e.g. ``a.wav`` and ``a.flac``, or
    ``a_00`` and the first piece of ``a``) get an 8-digit hash of the path added.
    """
    def names(stem: str, count: int) -> list[str]:
        return [f"{stem}.wav"] if count == 1 else [f"{stem}_{k:02d}.wav" for k in range(count)]

    chosen = {path: names(stable_name(path, root), count) for path, count in piece_counts.items()}
    seen = Counter(name.lower() for listed in chosen.values() for name in listed)
    for path, listed in chosen.items():
        if any(seen[name.lower()] > 1 for name in listed):
            stem = f"{stable_name(path, root)}-{_digest(path, root)}"
            chosen[path] = names(stem, piece_counts[path])
    return chosen
