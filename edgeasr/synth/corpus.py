"""Build a synthetic TTS speech corpus with NeMo-style JSON-lines manifests.

Layout written under ``out_dir``::

    wavs/<split>/000001.wav        16-bit PCM mono at ``config.sample_rate``
    train.jsonl dev.jsonl test_variants.jsonl test_accents.jsonl
    corpus.json                    config, engines, text source, counts and hours (written last)

Manifest lines look like ``{"audio_filepath": "wavs/train/000001.wav", "duration": 1.23,
"text": "turn on the lights", "speaker": "en-us+m3", "engine": "espeak", "seen_text": true}``;
paths are relative to the manifest's folder; ``seen_text``: the sentence also occurs in train.
espeak speakers are ``accent+variant``; other engines' are ``engine:voice`` (``flite:slt``).

What goes in which split is planned by :mod:`edgeasr.synth.plan` from the
:class:`~edgeasr.synth.corpus_config.SyntheticCorpusConfig`; each utterance is spoken by
:func:`edgeasr.synth.render.render` in worker processes. Sentences come from the
project's generators (:mod:`edgeasr.synth.grammar`), optionally mixed with lines of a text
file (:mod:`edgeasr.synth.text_file`). Text, engines, voices, rates and pitches are a pure
function of the config and that file; the audio itself is not guaranteed bit-identical
between runs.
"""

from __future__ import annotations

import itertools
import json
import logging
import multiprocessing
import shutil
import time
from pathlib import Path

import soundfile as sf

from edgeasr.errors import ConfigError
from edgeasr.synth.corpus_config import SyntheticCorpusConfig
from edgeasr.synth.engines import TTSEngine, available_engines, get_engine
from edgeasr.synth.espeak import list_english_voices, list_variants
from edgeasr.synth.plan import SPLITS, Job, plan_corpus, voice_pools
from edgeasr.synth.render import render
from edgeasr.synth.text_file import file_sha256, read_text_file

__all__ = ["build_synthetic_corpus", "check_engines", "existing_corpus"]

log = logging.getLogger(__name__)

_FORMAT_VERSION = 2  # 2: manifests carry "engine"; corpus.json records engines and text source


def check_engines(config: SyntheticCorpusConfig) -> dict[str, dict]:
    """Fail early on an unavailable engine or unknown voice; return what corpus.json records."""
    info: dict[str, dict] = {}
    pools = voice_pools(config)
    for name in config.engines:
        engine = get_engine(name)  # EngineUnavailableError names what to install
        if name == "espeak":
            accents, variants = set(list_english_voices()), set(list_variants())
            bad_accents = [a for a in config.train_accents + config.test_accents
                           if a.lower() not in accents]
            bad_variants = [v for v in config.train_variants + config.test_variants
                            if v not in variants]
            if bad_accents or bad_variants:
                raise ConfigError(f"unknown espeak accents {bad_accents} / variants {bad_variants}")
        else:
            installed = set(engine.voices())
            unknown = [v for v in sum(config.engine_voices(name), ()) if v not in installed]
            if unknown:
                raise ConfigError(f"unknown {name} voices {unknown}; installed: {sorted(installed)}")
        voices = {split: sorted("+".join(c) for c in itertools.product(*pools[split][name]))
                  for split in SPLITS if name in pools[split]}
        info[name] = {"status": "ok", "sample_rate": engine.sample_rate, "voices": voices}
    return info


# --- synthesis workers ----------------------------------------------------------------
_worker_engines: dict[str, TTSEngine] = {}
_worker_args: tuple[Path, int, int] | None = None


def _init_worker(out_dir: str, sample_rate: int, volume: int) -> None:
    global _worker_args
    _worker_engines.clear()  # engines are created on first use, one set per process
    _worker_args = (Path(out_dir), sample_rate, volume)


def _synthesize_job(job: Job) -> tuple[str, int, float]:
    assert _worker_args is not None
    out_dir, sample_rate, volume = _worker_args
    if job.engine not in _worker_engines:
        _worker_engines[job.engine] = get_engine(job.engine)
    audio = render(_worker_engines[job.engine], job.text, job.voice, sample_rate, job.rate,
                   job.pitch, volume)
    sf.write(out_dir / job.relpath, audio, sample_rate, subtype="PCM_16")
    return job.split, job.index, len(audio) / sample_rate


# --- corpus building ------------------------------------------------------------------
def existing_corpus(config: SyntheticCorpusConfig, out_dir: Path) -> dict[str, Path] | None:
    """The manifests of a finished corpus built from ``config`` in ``out_dir``, else None."""
    meta_path = out_dir / "corpus.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if meta.get("format") != _FORMAT_VERSION or meta.get("config") != config.to_json():
        return None
    if config.text_file is not None:
        recorded = (meta.get("text_file") or {}).get("sha256")
        if not Path(config.text_file).is_file() or file_sha256(config.text_file) != recorded:
            return None
    manifests = {split: out_dir / f"{split}.jsonl" for split in SPLITS}
    for split, path in manifests.items():
        if not path.is_file():
            return None
        with path.open() as f:
            if sum(1 for _ in f) != meta.get("counts", {}).get(split):
                return None
    return manifests


def build_synthetic_corpus(
    config: SyntheticCorpusConfig, out_dir: str | Path, workers: int = 2
) -> dict[str, Path]:
    """Synthesise the corpus into ``out_dir`` and return ``{split: manifest path}``.

    A finished corpus with the same config (and text file content) in ``out_dir`` is
    reused without work. Any other content of ``wavs/<split>/``, the manifests and
    ``corpus.json`` is replaced.

    Raises:
        EngineUnavailableError: an engine of ``config.engines`` is not installed here.
        ConfigError: unknown voices.
        DataError: too few usable sentences in ``text_file``, or it is not UTF-8.
    """
    out_dir = Path(out_dir)
    existing = existing_corpus(config, out_dir)
    if existing is not None:
        log.info("synthetic corpus in %s is up to date", out_dir)
        return existing
    engines_info = check_engines(config)
    started = time.perf_counter()
    source = None if config.text_file is None else read_text_file(config.text_file)
    jobs = plan_corpus(config, source)

    (out_dir / "corpus.json").unlink(missing_ok=True)
    for split in SPLITS:
        (out_dir / f"{split}.jsonl").unlink(missing_ok=True)
        shutil.rmtree(out_dir / "wavs" / split, ignore_errors=True)
        (out_dir / "wavs" / split).mkdir(parents=True, exist_ok=True)

    init_args = (str(out_dir), config.sample_rate, config.volume)
    if workers <= 1:
        _init_worker(*init_args)
        results = [_synthesize_job(job) for job in jobs]
    else:  # each worker process initialises its own engines
        with multiprocessing.Pool(workers, initializer=_init_worker, initargs=init_args) as pool:
            results = list(pool.imap_unordered(_synthesize_job, jobs, chunksize=32))
    durations = {(split, index): seconds for split, index, seconds in results}

    manifests: dict[str, Path] = {}
    counts: dict[str, int] = {}
    by_engine: dict[str, dict[str, int]] = {}
    hours: dict[str, float] = {}
    for split in SPLITS:
        split_jobs = [j for j in jobs if j.split == split]
        manifests[split] = out_dir / f"{split}.jsonl"
        with manifests[split].open("w") as f:
            for job in split_jobs:
                entry = {"audio_filepath": job.relpath,
                         "duration": round(durations[(split, job.index)], 3),
                         "text": job.text, "speaker": job.speaker, "engine": job.engine,
                         "seen_text": job.seen_text}
                f.write(json.dumps(entry) + "\n")
        counts[split] = len(split_jobs)
        by_engine[split] = {e: sum(j.engine == e for j in split_jobs) for e in config.engines}
        hours[split] = round(sum(durations[(split, j.index)] for j in split_jobs) / 3600.0, 4)

    vocabulary = sorted({w for j in jobs if j.split == "train" for w in j.text.split()})
    meta = {
        "format": _FORMAT_VERSION, "config": config.to_json(), "counts": counts, "hours": hours,
        "total_hours": round(sum(hours.values()), 4),
        "build_seconds": round(time.perf_counter() - started, 2),
        "engines": engines_info, "available_engines": available_engines(),
        "counts_by_engine": by_engine,
        "text_file": None if source is None else source.summary(),
        "train_vocabulary": vocabulary,
    }
    tmp = out_dir / "corpus.json.tmp"
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    tmp.replace(out_dir / "corpus.json")
    log.info("built synthetic corpus in %s: %s", out_dir, counts)
    return manifests
