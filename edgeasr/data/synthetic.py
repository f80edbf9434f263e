"""Build a synthetic TTS speech corpus with NeMo-style JSON-lines manifests.

Layout written under ``out_dir``::

    wavs/<split>/000001.wav        16-bit PCM mono at ``config.sample_rate``
    train.jsonl dev.jsonl test_variants.jsonl test_accents.jsonl
    corpus.json                    config, engines, text source, counts and hours (written last)

Manifest lines look like ``{"audio_filepath": "wavs/train/000001.wav", "duration": 1.23,
"text": "turn on the lights", "speaker": "en-us+m3", "engine": "espeak", "seen_text": true}``;
paths are relative to the manifest's folder; ``seen_text``: the sentence also occurs in train.
espeak speakers are ``accent+variant``; other engines' are ``engine:voice`` (``flite:slt``).
Splits (the engines are those of ``config.engines``, see :mod:`edgeasr.data.tts`):
* ``train``: every engine's training voices (espeak: train accents x train variants),
  ``num_train`` distinct sentences.
* ``dev``: the training voices, sentences not in train.
* ``test_variants``: held-out voices of each engine that has some (espeak: the train
  accents x held-out variants); half seen, half new text.
* ``test_accents``: espeak's held-out accents x all variants (empty without espeak).

With several engines each utterance picks its engine uniformly, then a voice of it.
Sentences come from the project's generators, optionally mixed with lines of a text file
(``text_file``). Text, engines, voices, rates and pitches are a pure function of the config
and that file; the audio itself is not guaranteed bit-identical between runs.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging
import multiprocessing
import random
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from edgeasr.data.espeak import list_english_voices, list_variants
from edgeasr.data.sentences import mixed_sentences
from edgeasr.data.synthetic_text import TextFileSentences, file_sha256, read_text_file, sentence_pool
from edgeasr.data.tts import (
    ENGINES,
    ESPEAK_BASE_RATE,
    EspeakEngine,
    TTSEngine,
    available_engines,
    get_engine,
)

__all__ = ["SPLITS", "SyntheticCorpusConfig", "TextFileSentences", "build_synthetic_corpus",
           "read_text_file", "synthesize_utterance", "trim_silence"]

log = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test_variants", "test_accents")
_FORMAT_VERSION = 2  # 2: manifests carry "engine"; corpus.json records engines and text source


@dataclass(frozen=True)
class SyntheticCorpusConfig:
    """What to synthesise. Held-out accents and voices never appear in train or dev.

    espeak's voices are set by the accent and variant fields. Other engines' (see
    :data:`edgeasr.data.tts.ENGINES`) by ``voices`` (training) and ``test_voices`` (held
    out, used only in ``test_variants``), ``{engine: [voice, ...]}``; an engine missing from
    them uses its registry defaults. ``rates`` are espeak words per minute; other engines
    get ``rate / 175`` as their speed factor; ``pitch_range`` and ``volume`` are espeak's only.
    ``text_file``: a UTF-8 file with one sentence per line; ``text_fraction`` of all
    sentences then come from it (normalised, see :func:`read_text_file`), the rest from
    :func:`~edgeasr.data.sentences.mixed_sentences`.
    """

    train_accents: tuple[str, ...] = (
        "en", "en-us", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc",
    )
    test_accents: tuple[str, ...] = ("en-gb-scotland", "en-029")
    train_variants: tuple[str, ...] = (
        "m1", "m2", "m3", "m4", "m6", "m7", "f1", "f2", "f4", "f5", "klatt", "klatt3",
        "Alex", "Andy", "adam", "david", "linda", "robert", "travis",
    )
    test_variants: tuple[str, ...] = ("m8", "f3", "klatt4", "steph", "quincy", "edward")
    rates: tuple[int, ...] = (140, 175, 210)
    pitch_range: tuple[int, int] = (35, 65)
    volume: int = 75  # espeak amplitude (%); at 100 loud variants (Andy, linda) clip
    num_train: int = 3000
    num_dev: int = 150
    num_test: int = 200
    digit_fraction: float = 0.3
    seen_text_fraction: float = 0.5
    sample_rate: int = 16000
    seed: int = 0
    engines: tuple[str, ...] = ("espeak",)
    voices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    test_voices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    text_file: str | None = None
    text_fraction: float = 0.5

    def __post_init__(self) -> None:
        for name in ("train_accents", "test_accents", "train_variants", "test_variants", "rates",
                     "pitch_range", "engines"):  # accept lists (e.g. from YAML), store tuples
            object.__setattr__(self, name, tuple(getattr(self, name)))
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        if set(self.train_accents) & set(self.test_accents):
            raise ValueError("train_accents and test_accents overlap")
        if set(self.train_variants) & set(self.test_variants):
            raise ValueError("train_variants and test_variants overlap")
        lo, hi = self.pitch_range
        if not 0 <= lo <= hi <= 100:
            raise ValueError(f"pitch_range must satisfy 0 <= lo <= hi <= 100, got {self.pitch_range}")
        if min(self.num_train, self.num_dev, self.num_test) < 0:
            raise ValueError("utterance counts must be >= 0")
        if not (0 <= self.volume <= 200 and 0.0 <= self.seen_text_fraction <= 1.0):
            raise ValueError("need 0 <= volume <= 200 and 0 <= seen_text_fraction <= 1")
        self._check_engine_fields()
        if self.text_file is not None:
            object.__setattr__(self, "text_file", str(self.text_file))
        if not 0.0 <= self.text_fraction <= 1.0:
            raise ValueError(f"text_fraction must be in [0, 1], got {self.text_fraction}")

    def _check_engine_fields(self) -> None:
        unknown = [e for e in self.engines if e not in ENGINES]
        if unknown or len(set(self.engines)) != len(self.engines):
            raise ValueError(f"engines must be distinct names from {list(ENGINES)}, got {self.engines}")
        for name in ("voices", "test_voices"):
            table = {str(k): (v,) if isinstance(v, str) else tuple(v)
                     for k, v in dict(getattr(self, name)).items()}
            object.__setattr__(self, name, table)
            if "espeak" in table:
                raise ValueError(f"{name}: espeak voices are set by the accent/variant fields")
            if set(table) - set(self.engines):
                raise ValueError(f"{name} names engines missing from engines: "
                                 f"{sorted(set(table) - set(self.engines))}")
        for engine in self.engines:
            if engine == "espeak":
                continue
            train, test = self.engine_voices(engine)
            if not train:
                raise ValueError(f"engine {engine!r} has no training voices")
            if set(train) & set(test):
                raise ValueError(f"{engine} training voices and test_voices overlap: "
                                 f"{sorted(set(train) & set(test))}")

    def engine_voices(self, engine: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """``(training voices, held-out voices)`` of a non-espeak engine."""
        spec = ENGINES[engine]
        return (self.voices.get(engine, spec.train_voices),
                self.test_voices.get(engine, spec.test_voices))

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_json(), sort_keys=True))

    def to_json(self) -> dict:
        """Plain-JSON form (tuples become lists), as stored in ``corpus.json``."""
        return json.loads(json.dumps(dataclasses.asdict(self)))


@dataclass(frozen=True)
class _Job:
    split: str
    index: int
    text: str
    engine: str
    voice: str  # espeak: "accent+variant"
    rate: int
    pitch: int
    seen_text: bool

    @property
    def speaker(self) -> str:
        return self.voice if self.engine == "espeak" else f"{self.engine}:{self.voice}"

    @property
    def relpath(self) -> str:
        return f"wavs/{self.split}/{self.index:06d}.wav"


def trim_silence(
    audio: np.ndarray, sample_rate: int, threshold_db: float = -40.0, pad_ms: float = 50.0
) -> np.ndarray:
    """Cut leading/trailing stretches quieter than ``threshold_db`` below the loudest 10 ms frame.

    ``pad_ms`` of the original signal is kept on each side of the speech.
    """
    frame = max(1, int(sample_rate * 0.01))
    n_frames = len(audio) // frame
    if n_frames == 0:
        return audio
    frames = audio[: n_frames * frame].reshape(n_frames, frame).astype(np.float64)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    peak = float(rms.max())
    if peak <= 0.0:
        return audio
    loud = np.nonzero(rms >= peak * 10.0 ** (threshold_db / 20.0))[0]
    pad = int(sample_rate * pad_ms / 1000.0)
    start = max(0, int(loud[0]) * frame - pad)
    end = min(len(audio), (int(loud[-1]) + 1) * frame + pad)
    return audio[start:end]


def _render(engine: TTSEngine, text: str, voice: str, sample_rate: int, rate: int, pitch: int,
            volume: int) -> np.ndarray:
    speed = rate / ESPEAK_BASE_RATE
    if isinstance(engine, EspeakEngine):
        audio = engine.synthesize(text, voice, speed, pitch=pitch, volume=volume)
    else:
        audio = engine.synthesize(text, voice, speed)
    if sample_rate != engine.sample_rate:
        audio = soxr.resample(audio, engine.sample_rate, sample_rate)
    audio = trim_silence(np.asarray(audio, dtype=np.float32), sample_rate)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def synthesize_utterance(
    text: str, voice: str, sample_rate: int = 16000, rate: int = 175, pitch: int = 50,
    volume: int = 75, engine: str = "espeak",
) -> np.ndarray:
    """Synthesise one utterance exactly as the corpus builder does (resampled, trimmed).

    ``voice`` is one of ``engine``'s voices; espeak's may carry a variant (``"en-us+m3"``).
    ``rate`` is in espeak words per minute (other engines get ``rate / 175``).
    """
    return _render(get_engine(engine), text, voice, sample_rate, rate, pitch, volume)


# --- planning (pure, deterministic) ---------------------------------------------------
def _voice_pools(config: SyntheticCorpusConfig) -> dict[str, dict[str, tuple[tuple[str, ...], ...]]]:
    """split -> engine -> the lists a voice is drawn from (espeak: accents, then variants)."""
    pools: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {split: {} for split in SPLITS}
    for engine in config.engines:
        if engine == "espeak":
            all_variants = config.train_variants + config.test_variants
            pools["train"][engine] = (config.train_accents, config.train_variants)
            pools["test_variants"][engine] = (config.train_accents, config.test_variants)
            pools["test_accents"][engine] = (config.test_accents, all_variants)
        else:
            train, test = config.engine_voices(engine)
            pools["train"][engine] = (train,)
            if test:
                pools["test_variants"][engine] = (test,)
        pools["dev"][engine] = pools["train"][engine]
    return pools


def _plan(config: SyntheticCorpusConfig, source: TextFileSentences | None = None) -> list[_Job]:
    rng = random.Random(f"synthetic-corpus:{config.seed}")
    n_seen = round(config.num_test * config.seen_text_fraction)
    n_new = config.num_test - n_seen
    n = config.num_train + config.num_dev + 2 * n_new
    if config.text_file is None:  # exactly the pool of the espeak-only builder
        pool = mixed_sentences(n, seed=config.seed, digit_fraction=config.digit_fraction)
    else:
        pool = sentence_pool(source or read_text_file(config.text_file), n, config.text_fraction,
                             seed=config.seed, digit_fraction=config.digit_fraction)
    train_texts = pool[: config.num_train]
    new_texts = pool[config.num_train:]
    dev_texts, new_texts = new_texts[: config.num_dev], new_texts[config.num_dev:]
    texts = {"train": train_texts, "dev": dev_texts}
    for i, split in enumerate(("test_variants", "test_accents")):
        items = rng.sample(train_texts, min(n_seen, len(train_texts)))
        items += new_texts[i * n_new: (i + 1) * n_new]
        rng.shuffle(items)
        texts[split] = items

    pools = _voice_pools(config)
    train_set = set(train_texts)
    jobs: list[_Job] = []
    for split in SPLITS:
        engines = tuple(pools[split])
        for index, text in enumerate(texts[split] if engines else (), start=1):
            # One engine: no draw, so an espeak-only plan is the same as before engines existed.
            engine = engines[0] if len(engines) == 1 else rng.choice(engines)
            voice = "+".join(rng.choice(choices) for choices in pools[split][engine])
            jobs.append(_Job(
                split=split, index=index, text=text, engine=engine, voice=voice,
                rate=rng.choice(config.rates), pitch=rng.randint(*config.pitch_range),
                seen_text=text in train_set,
            ))
    return jobs


def _check_engines(config: SyntheticCorpusConfig) -> dict[str, dict]:
    """Fail early on an unavailable engine or unknown voice; return what corpus.json records."""
    info: dict[str, dict] = {}
    pools = _voice_pools(config)
    for name in config.engines:
        engine = get_engine(name)  # EngineUnavailableError names what to install
        if name == "espeak":
            accents, variants = set(list_english_voices()), set(list_variants())
            bad_accents = [a for a in config.train_accents + config.test_accents
                           if a.lower() not in accents]
            bad_variants = [v for v in config.train_variants + config.test_variants
                            if v not in variants]
            if bad_accents or bad_variants:
                raise ValueError(f"unknown espeak accents {bad_accents} / variants {bad_variants}")
        else:
            installed = set(engine.voices())
            unknown = [v for v in sum(config.engine_voices(name), ()) if v not in installed]
            if unknown:
                raise ValueError(f"unknown {name} voices {unknown}; installed: {sorted(installed)}")
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


def _synthesize_job(job: _Job) -> tuple[str, int, float]:
    assert _worker_args is not None
    out_dir, sample_rate, volume = _worker_args
    if job.engine not in _worker_engines:
        _worker_engines[job.engine] = get_engine(job.engine)
    audio = _render(_worker_engines[job.engine], job.text, job.voice, sample_rate, job.rate,
                    job.pitch, volume)
    sf.write(out_dir / job.relpath, audio, sample_rate, subtype="PCM_16")
    return job.split, job.index, len(audio) / sample_rate


# --- corpus building ------------------------------------------------------------------
def _existing_corpus(config: SyntheticCorpusConfig, out_dir: Path) -> dict[str, Path] | None:
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
        ValueError: unknown voices, or too few usable sentences in ``text_file``.
    """
    out_dir = Path(out_dir)
    existing = _existing_corpus(config, out_dir)
    if existing is not None:
        log.info("synthetic corpus in %s is up to date", out_dir)
        return existing
    engines_info = _check_engines(config)
    started = time.perf_counter()
    source = None if config.text_file is None else read_text_file(config.text_file)
    jobs = _plan(config, source)

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
