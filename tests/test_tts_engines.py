"""Tests for the TTS engine registry and the multi-engine synthetic corpus.

espeak is always installed; piper (pip), flite and festival (Debian packages) are tested
where they are installed and skipped, saying what to install, where they are not.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgeasr.errors import ConfigError, DataError
from edgeasr.synth.command import CommandEngine
from edgeasr.synth.corpus import build_synthetic_corpus, existing_corpus
from edgeasr.synth.corpus_config import SyntheticCorpusConfig
from edgeasr.synth.engines import (
    ENGINES,
    EngineUnavailableError,
    TTSEngine,
    available_engines,
    get_engine,
)
from edgeasr.synth.festival import FestivalEngine
from edgeasr.synth.flite import FliteEngine
from edgeasr.synth.grammar import ALPHABET
from edgeasr.synth.plan import SPLITS, plan_corpus
from edgeasr.synth.render import synthesize_utterance
from edgeasr.synth.text_file import read_text_file, sentence_pool

STATUS = available_engines()


def _all_default_voices(name: str) -> bool:
    """The engine runs here and has every voice of its default corpus split installed."""
    if STATUS[name] != "ok":
        return False
    spec = ENGINES[name]
    return set(spec.train_voices + spec.test_voices) <= set(get_engine(name).voices())


# Engines a default multi-engine corpus can use here (festival may lack some voice packages).
AVAILABLE = tuple(name for name in STATUS if _all_default_voices(name))
SAMPLE_VOICE = {"espeak": "en-us+m3"}


def _require(name: str) -> None:
    if STATUS[name] != "ok":
        pytest.skip(f"{name} unavailable here: {STATUS[name]}")


def _read(manifest: Path) -> list[dict]:
    return [json.loads(line) for line in manifest.read_text().splitlines()]


# --- the default plan must not move ------------------------------------------------------
# Computed with the code before engines existed (commit 753e82e, edgeasr/data/synthetic.py
# unmodified, now edgeasr/synth/plan.py) by hashing exactly the rows built in
# test_default_plan_is_unchanged:
#   rows = [[j.split, j.index, j.text, j.speaker, j.rate, j.pitch, j.seen_text]
#           for j in _plan(SyntheticCorpusConfig())]
#   hashlib.sha256(json.dumps(rows).encode()).hexdigest()   # 3550 rows
DEFAULT_PLAN_SHA256 = "fd11c3fd39f684897fae85ae1b865ab2ee3d08dd3abe2304c642be5da8cf1f51"


def test_default_plan_is_unchanged() -> None:
    jobs = plan_corpus(SyntheticCorpusConfig())
    rows = [[j.split, j.index, j.text, j.speaker, j.rate, j.pitch, j.seen_text] for j in jobs]
    assert len(rows) == 3550
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest() == DEFAULT_PLAN_SHA256
    assert {j.engine for j in jobs} == {"espeak"}


# --- registry and interface ----------------------------------------------------------------
def test_registry_reports_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    assert set(STATUS) == {"espeak", "piper", "flite", "festival"}
    assert STATUS["espeak"] == "ok"
    assert all(status == "ok" or len(status) > 10 for status in STATUS.values())
    with pytest.raises(ConfigError, match="unknown TTS engine 'nope'"):
        get_engine("nope")
    spec = dataclasses.replace(ENGINES["flite"], status=lambda: "the flite program is missing")
    monkeypatch.setitem(ENGINES, "flite", spec)
    with pytest.raises(EngineUnavailableError, match="apt-get install flite"):
        get_engine("flite")
    config = SyntheticCorpusConfig(engines=("espeak", "flite"), num_train=2, num_dev=0, num_test=0)
    with pytest.raises(EngineUnavailableError, match="flite.*unavailable"):
        build_synthetic_corpus(config, "/nonexistent/corpus")


@pytest.mark.parametrize("name", list(ENGINES))
def test_engine_interface(name: str) -> None:
    _require(name)
    engine = get_engine(name)
    assert isinstance(engine, TTSEngine) and engine.name == name
    voices = engine.voices()
    spec = ENGINES[name]
    missing = sorted(set(spec.train_voices + spec.test_voices) - set(voices))
    if missing:  # the engine is installed, but not every voice package of its default split
        pytest.skip(f"{name} lacks voices {missing}: {spec.install}")
    assert voices
    voice = SAMPLE_VOICE.get(name, spec.train_voices[0] if spec.train_voices else voices[0])
    audio = engine.synthesize("turn on the kitchen lights", voice)
    assert audio.dtype == np.float32 and audio.ndim == 1
    seconds = len(audio) / engine.sample_rate
    assert 0.6 < seconds < 4.0
    assert 0.05 < np.abs(audio).max() <= 1.0
    fast = engine.synthesize("turn on the kitchen lights", voice, rate=1.6)
    assert len(fast) < 0.85 * len(audio)
    assert len(engine.synthesize("", voice)) == 0
    with pytest.raises(ValueError, match="unknown"):
        engine.synthesize("hello", "no-such-voice")


def test_command_engines_share_one_base(monkeypatch: pytest.MonkeyPatch) -> None:
    # flite and festival differ only in their programs, voice lists and command lines.
    for cls in (FliteEngine, FestivalEngine):
        assert issubclass(cls, CommandEngine) and cls.synthesize is CommandEngine.synthesize
    flite, festival = FliteEngine(), FestivalEngine()
    assert flite.sample_rate == festival.sample_rate == 16000
    assert flite.command("slt", 2.0)[1:] == ["-voice", "slt", "--setf", "duration_stretch=0.5000",
                                             "-f", "{text}", "-o", "{wav}"]
    assert festival.command("kal_diphone", 0.5)[1:] == [
        "-eval", "(voice_kal_diphone)", "-eval", "(Parameter.set 'Duration_Stretch 2.0000)",
        "-o", "{wav}", "{text}"]
    assert '(list (list "-r" 1.2500))' in " ".join(festival.command("cmu_us_slt_arctic_hts", 1.25))
    monkeypatch.setattr("shutil.which", lambda program: None)
    assert FliteEngine.status() == "the flite program is not on PATH (Debian package flite)"
    assert FestivalEngine.status().startswith("festival/text2wave are not on PATH")
    monkeypatch.setattr(FliteEngine, "installed_voices", classmethod(lambda cls: ("kal",)))
    with pytest.raises(ConfigError, match="unknown flite voice 'x'; installed"):
        flite.synthesize("hello", "x")
    with pytest.raises(ConfigError, match="rate must be > 0"):
        flite.synthesize("hello", "kal", rate=0)
    assert len(flite.synthesize("  ", "kal")) == 0


# --- config ---------------------------------------------------------------------------------
def test_config_validates_engines_and_voices() -> None:
    with pytest.raises(ConfigError, match="engines must be"):
        SyntheticCorpusConfig(engines=("espeak", "sapi"))
    with pytest.raises(ValueError, match="accent/variant"):
        SyntheticCorpusConfig(voices={"espeak": ["en-us"]})
    with pytest.raises(ValueError, match="missing from engines"):
        SyntheticCorpusConfig(voices={"flite": ["kal"]})
    with pytest.raises(ValueError, match="overlap"):
        SyntheticCorpusConfig(engines=["espeak", "flite"], voices={"flite": ["kal", "rms"]})
    config = SyntheticCorpusConfig(engines=["flite"], voices={"flite": "awb"},
                                   test_voices={"flite": ["slt"]})
    assert config.engines == ("flite",) and config.engine_voices("flite") == (("awb",), ("slt",))
    assert config.to_json()["voices"] == {"flite": ["awb"]}
    assert hash(config) == hash(dataclasses.replace(config))


def test_config_from_dict_refuses_unknown_options() -> None:
    config = SyntheticCorpusConfig.from_dict({"num_train": 5, "rates": [140], "engines": ["espeak"]})
    assert (config.num_train, config.rates) == (5, (140,))
    assert SyntheticCorpusConfig.from_dict(None) == SyntheticCorpusConfig()
    with pytest.raises(ConfigError,
                       match=r"corpus: unknown option\(s\) \['num_trian'\]; known: .*num_train"):
        SyntheticCorpusConfig.from_dict({"num_trian": 5})
    with pytest.raises(ConfigError, match="train_accents and test_accents overlap"):
        SyntheticCorpusConfig.from_dict({"test_accents": ["en"]})


def test_plan_holds_voices_out_per_engine() -> None:
    config = SyntheticCorpusConfig(engines=("espeak", "flite", "festival", "piper"),
                                   num_train=200, num_dev=20, num_test=60, seed=3)
    jobs = plan_corpus(config)  # planning needs no engine installed
    by_split = {s: [j for j in jobs if j.split == s] for s in SPLITS}
    for split in ("train", "dev"):
        assert {j.engine for j in by_split[split]} == set(config.engines)
    held_out = {e: set(config.engine_voices(e)[1]) for e in ("flite", "festival", "piper")}
    for job in by_split["train"] + by_split["dev"]:
        if job.engine != "espeak":
            assert job.voice in config.engine_voices(job.engine)[0]
            assert job.voice not in held_out[job.engine]
    for job in by_split["test_variants"]:
        assert job.engine != "piper"  # its one voice trains
        if job.engine == "espeak":
            assert job.voice.split("+")[1] in config.test_variants
        else:
            assert job.voice in held_out[job.engine]
    assert {j.engine for j in by_split["test_accents"]} == {"espeak"}
    assert plan_corpus(config) == jobs
    piper_only = plan_corpus(dataclasses.replace(config, engines=("piper",)))
    assert {j.split for j in piper_only} == {"train", "dev"}
    assert all(j.speaker == f"piper:{j.voice}" for j in piper_only)


# --- text files -----------------------------------------------------------------------------
TEXT_LINES = (
    "Hello, World!",
    "",
    "...",
    "北京 is far away.",
    "hello world",
    "Dr. Smith paid $5 for the lamp.",
    "It's a café.",
    "The boat sank at 9:30.",
    "Open the window, please",
)


@pytest.fixture()
def text_file(tmp_path: Path) -> Path:
    path = tmp_path / "sentences.txt"
    path.write_text("\n".join(TEXT_LINES) + "\n", encoding="utf-8")
    return path


def test_read_text_file_counts_skips(text_file: Path) -> None:
    source = read_text_file(text_file)
    assert source.sentences == (
        "hello world", "doctor smith paid five dollars for the lamp", "it's a cafe",
        "the boat sank at nine thirty", "open the window please",
    )
    assert (source.lines, source.skipped_empty, source.skipped_characters, source.duplicates) == (
        9, 2, 1, 1)
    assert source.summary()["usable"] == 5 and "sentences" not in source.summary()
    pool = sentence_pool(source, 12, 0.25, seed=1)
    assert len(pool) == len(set(pool)) == 12
    assert len(set(pool) & set(source.sentences)) == 3
    with pytest.raises(DataError, match="5 usable distinct sentences"):
        sentence_pool(source, 12, 0.5)
    with pytest.raises(FileNotFoundError):
        read_text_file(text_file.with_name("missing.txt"))
    latin1 = text_file.with_name("latin1.txt")
    latin1.write_bytes("fine\ncaf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="latin1.txt:2: not UTF-8"):
        read_text_file(latin1)


# --- a tiny corpus with every engine available here -------------------------------------------
@pytest.fixture(scope="module")
def multi(tmp_path_factory: pytest.TempPathFactory) -> tuple[SyntheticCorpusConfig, Path]:
    out = tmp_path_factory.mktemp("multi")
    text = out / "text.txt"
    text.write_text("\n".join(TEXT_LINES) + "\nthe lamp is on\nclose the blinds\n", encoding="utf-8")
    config = SyntheticCorpusConfig(
        train_accents=("en-us",), test_accents=("en-029",), train_variants=("m3", "f1"),
        test_variants=("m8",), num_train=10, num_dev=2, num_test=4, seed=5,
        engines=AVAILABLE, text_file=str(text), text_fraction=0.4,
    )
    build_synthetic_corpus(config, out / "corpus", workers=2)
    return config, out / "corpus"


def test_multi_engine_corpus(multi: tuple[SyntheticCorpusConfig, Path]) -> None:
    config, out = multi
    meta = json.loads((out / "corpus.json").read_text())
    assert meta["config"] == config.to_json() and meta["available_engines"] == STATUS
    assert set(meta["engines"]) == set(config.engines)
    assert meta["text_file"]["usable"] == 7 and meta["text_file"]["skipped_characters"] == 1
    rows = {split: _read(out / f"{split}.jsonl") for split in SPLITS}
    assert sum(meta["counts_by_engine"]["train"].values()) == len(rows["train"]) == 10
    if len(config.engines) >= 2:
        assert len({r["engine"] for r in rows["train"] + rows["dev"]}) >= 2
    file_texts = set(read_text_file(config.text_file).sentences)
    assert len({r["text"] for split in SPLITS for r in rows[split]} & file_texts) >= 4
    for split, split_rows in rows.items():
        for row in split_rows:
            assert row["engine"] in config.engines and set(row["text"]) <= set(ALPHABET)
            voices = meta["engines"][row["engine"]]["voices"][split]
            voice = row["speaker"].removeprefix(f"{row['engine']}:")
            assert voice in voices
            info = sf.info(str(out / row["audio_filepath"]))
            assert (info.samplerate, info.channels, info.subtype) == (16000, 1, "PCM_16")
            assert abs(info.frames / 16000 - row["duration"]) < 1e-3 and row["duration"] > 0.3
    train_voices = {(r["engine"], r["speaker"]) for r in rows["train"] + rows["dev"]}
    assert not train_voices & {(r["engine"], r["speaker"]) for r in rows["test_variants"]}
    assert existing_corpus(config, out) is not None
    Path(config.text_file).write_text("changed\n", encoding="utf-8")  # text changed: rebuild
    assert existing_corpus(config, out) is None


@pytest.mark.parametrize("name", [n for n in ENGINES if n != "espeak"])
def test_synthesize_utterance_other_engines(name: str) -> None:
    _require(name)
    voice = ENGINES[name].train_voices[0]
    audio = synthesize_utterance("open the garage door", voice, engine=name, rate=210)
    assert audio.dtype == np.float32 and 0.4 < len(audio) / 16000 < 3.0
