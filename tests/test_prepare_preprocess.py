"""``edgeasr prepare RECIPE --preprocess CONFIG.yaml``: audio written, report adds up."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from click.testing import CliRunner

import edgeasr.audio.preprocess as preprocess_module
from edgeasr.audio.preprocess import PreprocessConfig, PreprocessError
from edgeasr.cli import main
from edgeasr.data.manifest import read_manifest
from edgeasr.prepare.audio_stage import (
    PREPROCESS_REASONS,
    file_names,
    load_preprocess_config,
    note_kind,
    plan_preprocessing,
)
from edgeasr.prepare.corpora.common import REASONS
from edgeasr_device.vocab import Vocabulary

SOURCE_RATE = 22050  # stereo 24-bit at 22.05 kHz in, 16 kHz mono 16-bit out
RATE = 16000
PRE_YAML = """\
preprocess:
  trim: true
  highpass: true
  loudness: true
  min_seconds: 0.5
  max_seconds: 3.0
"""


def tone(freq: float, seconds: float, amplitude: float, rate: int = SOURCE_RATE) -> np.ndarray:
    t = np.arange(int(round(seconds * rate))) / rate
    return amplitude * np.sin(2 * np.pi * freq * t)


def quiet(seconds: float, rate: int = SOURCE_RATE) -> np.ndarray:
    return np.zeros(int(round(seconds * rate)))


def padded(sound: np.ndarray, seconds: float = 0.6) -> np.ndarray:
    return np.concatenate([quiet(seconds), sound, quiet(seconds)])


def noise(seconds: float, std: float, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, std, int(round(seconds * SOURCE_RATE)))


def clicked(seconds: float) -> np.ndarray:
    x = noise(seconds, 0.002, 7)
    x[len(x) // 2] = 0.9  # reaching -23 LUFS would push the click over full scale
    return x


#: name -> (audio, text, speaker); the fate each one should meet.
CORPUS = {
    "tone": (padded(tone(440, 1.0, 0.3) + noise(1.0, 0.01, 1)), "turn on the light", "s1"),
    "burst": (padded(noise(1.2, 0.05, 2)), "turn it off", "s1"),
    "hum": (padded(tone(500, 1.5, 0.2) + tone(30, 1.5, 0.3)), "hello there", "s2"),
    "click": (padded(clicked(1.0)), "open the door", "s2"),
    "short": (padded(tone(440, 0.15, 0.3)), "hi", "s3"),  # 0.4 s once trimmed
    "silent": (quiet(1.5), "nothing at all", "s3"),
    "long": (padded(tone(300, 3.5, 0.3), 0.2), "a long one", "s3"),
}
EXPECTED_SKIPS = {"too_short": 1, "silent": 1, "too_long": 1}


def make_table(root: Path) -> Path:
    """A table corpus: CORPUS under wav/ plus one listed file that does not exist."""
    rows = ["path,text,speaker"]
    for name, (audio, text, speaker) in CORPUS.items():
        path = root / "wav" / f"{name}.wav"
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, np.stack([audio, audio], axis=1).astype(np.float32), SOURCE_RATE,
                 subtype="PCM_24")
        rows.append(f"{name},{text},{speaker}")
    rows.append("gone,not here,s1")
    table = root / "prompts.csv"
    table.write_text("\n".join(rows) + "\n")
    return table


def prepare(tmp_path: Path, *extra: str, config: str = PRE_YAML, out: str = "out"):
    table = tmp_path / "corpus" / "prompts.csv"
    if not table.exists():
        make_table(table.parent)
    (tmp_path / "pre.yaml").write_text(config)
    args = ["prepare", "table", "--src", str(table), "--out", str(tmp_path / out),
            "--preprocess", str(tmp_path / "pre.yaml"), "--dev-fraction", "0",
            "--test-fraction", "0.2", "--workers", "1", *extra]
    return CliRunner().invoke(main, args)


def report_of(out: Path) -> dict:
    return json.loads((out / "prepare_report.json").read_text())


def tone_amplitude(y: np.ndarray, freq: float) -> float:
    t = np.arange(y.shape[0]) / RATE
    basis = np.stack([np.sin(2 * np.pi * freq * t), np.cos(2 * np.pi * freq * t)], axis=1)
    coef, *_ = np.linalg.lstsq(basis, y.astype(np.float64), rcond=None)
    return float(np.hypot(*coef))


# --------------------------------------------------------------------------- end to end

def test_preprocessed_corpus_files_manifests_and_report(tmp_path):
    result = prepare(tmp_path, "--workers", "2")  # worker processes
    assert result.exit_code == 0, result.output
    out = tmp_path / "out"
    report = report_of(out)
    pre = report["preprocess"]
    # arithmetic: inputs, then preprocessing, then pieces
    assert report["input"] == len(CORPUS) + 1 == report["kept"] + report["skipped"]
    assert {r: i["count"] for r, i in report["skipped_by_reason"].items()} == \
        {**EXPECTED_SKIPS, "missing_audio": 1}
    assert pre["processed"] == len(CORPUS) == pre["kept"] + pre["skipped"]
    assert pre["skipped_by_reason"] == EXPECTED_SKIPS
    assert report["kept"] == pre["kept"] == sum(s["sources"] for s in report["splits"].values())
    assert pre["pieces"] == pre["kept"] == sum(s["utterances"] for s in report["splits"].values())
    assert pre["split"] == {"utterances": 0, "pieces": 0}
    assert pre["notes"]["peak_limited"]["count"] == 1
    assert pre["notes"]["peak_limited"]["examples"][0]["source"].endswith("prompts.csv:5")
    assert pre["config"] == load_preprocess_config(tmp_path / "pre.yaml").to_dict()
    assert pre["config"]["sample_rate"] == RATE and pre["align_model"] is None
    assert pre["hours_after"] < pre["hours_before"]
    examples = {e["source"]: e["message"] for r in EXPECTED_SKIPS
                for e in report["skipped_by_reason"][r]["examples"]}
    message = examples[f"{tmp_path / 'corpus' / 'prompts.csv'}:6"]
    assert "wav/short.wav: shorter than min_seconds (0.4" in message  # 0.15 s + trim padding
    assert "preprocessed 7 inputs into 4 pieces" in result.output
    # files: 16 kHz mono PCM_16 under audio/<split>/, shorter than the originals
    seen = {}
    for split in ("train", "dev", "test"):
        lines = (out / f"{split}.jsonl").read_text().splitlines()
        assert len(lines) == report["splits"][split]["utterances"]
        for utterance, line in zip(read_manifest(out / f"{split}.jsonl") if lines else [], lines):
            assert json.loads(line)["audio_filepath"].startswith(f"audio/{split}/")
            info = sf.info(str(utterance.audio_path))
            assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")
            assert utterance.duration == pytest.approx(info.frames / RATE, abs=1e-4)
            seen[utterance.audio_path.stem] = utterance
    assert sorted(seen) == ["wav-burst", "wav-click", "wav-hum", "wav-tone"]  # path under --src
    seen = {stem.removeprefix("wav-"): utterance for stem, utterance in seen.items()}
    for name, utterance in seen.items():
        original = CORPUS[name][0].shape[0] / SOURCE_RATE
        assert utterance.duration < original - 0.8  # 0.6 s padding each side, 0.1 s kept
        assert (utterance.text, utterance.speaker) == CORPUS[name][1:]
    hum, _ = sf.read(str(seen["hum"].audio_path))
    middle = hum[RATE // 4: -RATE // 4]
    assert tone_amplitude(middle, 30) < 0.05 * tone_amplitude(middle, 500)  # hum gone
    burst, _ = sf.read(str(seen["burst"].audio_path))
    assert pyloudnorm.Meter(RATE).integrated_loudness(burst) == pytest.approx(-23, abs=0.5)
    # a rerun writes the same files and leaves nothing stale or staged behind
    before = {p: p.read_bytes() for p in (out / "audio").rglob("*.wav")}
    assert prepare(tmp_path).exit_code == 0
    after = {p: p.read_bytes() for p in (out / "audio").rglob("*") if p.is_file()}
    assert after == before
    assert report_of(out)["preprocess"]["stale_files_removed"] == 0
    assert not (out / "audio" / ".staging").exists()


def test_without_preprocess_manifests_point_at_the_originals(tmp_path):
    table = make_table(tmp_path / "corpus")
    out = tmp_path / "plain"
    result = CliRunner().invoke(main, ["prepare", "table", "--src", str(table), "--out", str(out),
                                       "--workers", "1"])
    assert result.exit_code == 0, result.output
    report = report_of(out)
    assert "preprocess" not in report and not (out / "audio").exists()
    assert all("sources" not in split for split in report["splits"].values())
    assert report["kept"] == len(CORPUS)  # only the missing file is skipped


# --------------------------------------------------------------------------- split, strict, errors

class KnownWordsAligner:
    """Stand-in alignment model: peaky CTC posteriors for words at known times."""

    vocabulary = Vocabulary.english()
    sample_rate = RATE
    frame_duration = 0.02

    def __init__(self, words: list[tuple[str, float, float]]):
        self.words = words

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        frames = -(-waveform.shape[0] // int(self.frame_duration * RATE))
        probs = np.full((frames, self.vocabulary.size), 0.01)
        probs[:, 0] = 1.0
        for i, (word, start, end) in enumerate(self.words):
            spots = np.linspace(start, end, len(word)) / self.frame_duration
            for char, frame in zip(word, spots.round().astype(int)):
                probs[frame, 0], probs[frame, self.vocabulary.encode(char)[0]] = 0.01, 1.0
            if i:  # the space between two words, in the gap
                gap = int(round((self.words[i - 1][2] + start) / 2 / self.frame_duration))
                probs[gap, 0], probs[gap, self.vocabulary.space_index] = 0.01, 1.0
        return np.log(probs / probs.sum(axis=1, keepdims=True))


def test_long_utterance_is_split_with_an_alignment_model(tmp_path, monkeypatch):
    words, parts, times, t = ["alpha", "bravo", "charlie", "delta", "echo"], [quiet(0.2, RATE)], [], 0.2
    for i, (word, gap) in enumerate(zip(words, [0.2, 0.6, 0.3, 0.2, 0.2])):
        parts += [tone(300 + 100 * i, 0.8, 0.3, RATE), quiet(gap, RATE)]
        times.append((word, t, t + 0.8))
        t += 0.8 + gap
    folder = tmp_path / "corpus"
    folder.mkdir()
    sf.write(folder / "long.wav", np.concatenate(parts).astype(np.float32), RATE)
    (folder / "long.txt").write_text(" ".join(words))
    sf.write(folder / "plain.wav", tone(440, 1.0, 0.3, RATE).astype(np.float32), RATE)
    (folder / "plain.txt").write_text("hello")
    model = tmp_path / "model.tflite"
    model.write_bytes(b"stand-in")
    monkeypatch.setattr(preprocess_module, "ExportedAligner", lambda path: KnownWordsAligner(times))
    (tmp_path / "split.yaml").write_text("max_seconds: 3.0\ntoo_long: split\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "prepare", "folder", "--src", str(folder), "--out", str(out), "--workers", "1",
        "--preprocess", str(tmp_path / "split.yaml"), "--align-model", str(model),
        "--dev-fraction", "0", "--test-fraction", "0"])
    assert result.exit_code == 0, result.output
    pre = report_of(out)["preprocess"]
    assert pre["split"] == {"utterances": 1, "pieces": 3} and pre["pieces"] == 4
    assert pre["align_model"] == str(model.resolve())
    assert pre["notes"]["split"]["count"] == 1
    train = report_of(out)["splits"]["train"]
    assert (train["utterances"], train["sources"]) == (4, 2)
    listed = {u.audio_path.name: u.text for u in read_manifest(out / "train.jsonl")}
    assert listed == {"long_00.wav": "alpha bravo", "long_01.wav": "charlie",
                      "long_02.wav": "delta echo", "plain.wav": "hello"}
    assert "train: 4 utterances (from 2 inputs)" in result.output


def test_split_without_an_alignment_model_fails_before_any_work(tmp_path):
    result = prepare(tmp_path, config="max_seconds: 3\ntoo_long: split\n")
    assert result.exit_code != 0
    assert "too_long: split needs --align-model" in result.output and "pre.yaml" in result.output
    assert not (tmp_path / "out").exists()


def test_strict_makes_a_preprocessing_skip_fatal(tmp_path):
    make_table(tmp_path / "corpus")
    (tmp_path / "corpus" / "prompts.csv").write_text(
        "path,text\ntone,turn on the light\nshort,hi\nsilent,nothing\n")
    result = prepare(tmp_path, "--strict")
    assert result.exit_code != 0
    assert "prompts.csv:3" in result.output and "short.wav: shorter than min_seconds" in result.output
    assert "[too_short:" in result.output
    assert not (tmp_path / "out" / "prepare_report.json").exists()
    assert list((tmp_path / "out" / "audio").rglob("*.wav")) == []


@pytest.mark.parametrize("config,message", [
    ("trim: true\ntrim_db: -40\n", "pre.yaml: preprocess: unknown option(s) ['trim_db']; known: "),
    ("preprocess:\n  trim: true\ncorpus: {}\n", "unknown top-level key(s) 'corpus'"),
    ("trim: [\n", "pre.yaml is not valid YAML"),
    ("- trim\n", "pre.yaml: expected a mapping"),
    ("too_long: cut\n", "too_long must be one of drop, split"),
])
def test_bad_preprocess_yaml_is_refused_naming_the_file(tmp_path, config, message):
    result = prepare(tmp_path, config=config)
    output = " ".join(result.output.split())  # as one line: click wraps nothing, YAML errors do
    assert result.exit_code != 0 and message in output and "pre.yaml" in output
    if "not valid YAML" in message:
        assert "line 2" in output and "recipes/preprocess.example.yaml" in output


def test_preprocess_yaml_forms_and_option_misuse(tmp_path):
    path = tmp_path / "p.yaml"
    for text in ("", "preprocess:\n", "preprocess:\n  trim: true\n", "trim: true\n"):
        path.write_text(text)
        assert load_preprocess_config(path) == PreprocessConfig(trim="trim" in text)
    path.write_text("trim: true\n")
    with pytest.raises(PreprocessError, match="only used to split"):
        plan_preprocessing(path, tmp_path / "model.tflite")
    runner = CliRunner()
    result = runner.invoke(main, ["prepare", "ldc93s1", "--src", str(tmp_path), "--out",
                                  str(tmp_path / "o"), "--preprocess", str(path)])
    assert result.exit_code != 0 and "--preprocess works with the corpus recipes" in result.output


def test_stable_file_names_and_clashes(tmp_path):
    root = tmp_path
    a = root / "a"
    names = file_names({a / "x.wav": 1, a / "X.wav": 1, a / "x.flac": 2, a / "x_00.wav": 1,
                        a / "y.flac": 3, Path("/elsewhere/z z.wav"): 1}, root)
    assert names[a / "y.flac"] == ["a-y_00.wav", "a-y_01.wav", "a-y_02.wav"]
    assert names[Path("/elsewhere/z z.wav")] == ["elsewhere-z_z.wav"]
    for name, stem in [("x.wav", "a-x-"), ("X.wav", "a-X-"), ("x.flac", "a-x-"),
                       ("x_00.wav", "a-x_00-")]:  # clashes get a hash of the path
        assert all(n.startswith(stem) and len(n) > len(stem) + 8 for n in names[a / name])
    flat = [n.lower() for listed in names.values() for n in listed]
    assert len(flat) == len(set(flat))
    assert file_names({root / "a" / "x.wav": 1}, root) == {root / "a" / "x.wav": ["a-x.wav"]}


def test_every_preprocessing_reason_is_explained():
    assert set(PREPROCESS_REASONS) <= set(REASONS)
    assert set(preprocess_module.SKIP_CODES) <= set(PREPROCESS_REASONS)


def test_exclude_test_text_drops_the_staged_pieces_too(tmp_path):
    folder = tmp_path / "corpus"
    for i in range(6):
        (folder / f"spk{i}").mkdir(parents=True)
        sf.write(folder / f"spk{i}" / "a.wav", padded(tone(300 + 50 * i, 0.6, 0.3), 0.3), SOURCE_RATE)
        (folder / f"spk{i}" / "a.txt").write_text("same words" if i % 2 else f"words {i}")
    (tmp_path / "pre.yaml").write_text("trim: true\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(main, [
        "prepare", "folder", "--src", str(folder), "--out", str(out), "--workers", "1",
        "--preprocess", str(tmp_path / "pre.yaml"), "--speaker-from-folder",
        "--no-speaker-disjoint", "--exclude-test-text", "--dev-fraction", "0.3"])
    assert result.exit_code == 0, result.output
    report = report_of(out)
    assert report["input"] == 6 == report["kept"] + report["skipped"]
    assert report["skipped_by_reason"]["test_text_in_train"]["count"] == report["skipped"] > 0
    listed = {u.audio_path for name in ("train", "dev", "test")
              for u in (read_manifest(out / f"{name}.jsonl")
                        if (out / f"{name}.jsonl").stat().st_size else [])}
    assert set((out / "audio").rglob("*.wav")) == listed and len(listed) == report["kept"]


def test_note_kinds():
    assert note_kind("loudness peak-limited to -1 dBFS: -25.0 LUFS instead of -23") == "peak_limited"
    assert note_kind("piece 1: loudness not normalised: too quiet (-80.0 LUFS < -70 LUFS); "
                     "left unchanged") == "too_quiet"
    assert note_kind("piece 2 ('x') dropped: shorter than min_seconds") == "piece_dropped"
    assert note_kind("split into 3 pieces at 1.00 s, 2.00 s") == "split"
    assert note_kind("something new") == "other"


def test_documented_examples_list_every_option_with_its_default(tmp_path):
    import dataclasses
    import re

    recipes = Path(__file__).resolve().parents[1] / "recipes"
    readme = (recipes / "README.md").read_text()
    block = re.search(r"```yaml\n(preprocess:\n.*?)```", readme, re.DOTALL).group(1)
    (tmp_path / "readme.yaml").write_text(block)
    fields = {f.name for f in dataclasses.fields(PreprocessConfig)}
    for path in (recipes / "preprocess.example.yaml", tmp_path / "readme.yaml"):
        assert load_preprocess_config(path) == PreprocessConfig()
        written = set(re.findall(r"^  (\w+):", path.read_text(), re.MULTILINE))
        assert written == fields, path
