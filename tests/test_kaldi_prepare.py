"""``edgeasr prepare kaldi``: Kaldi/ESPnet/icefall data dirs, built in tmp for each test."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edgeasr.data.manifest import read_manifest
from edgeasr.prepare.corpora import RECIPES
from edgeasr.prepare.corpora.common import CorpusError
from edgeasr.prepare.options import PrepareOptions
from edgeasr.prepare.pipeline import prepare_corpus

RATE = 16000


def tone(path: Path, seconds: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    sf.write(path, (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), RATE)


def write(folder: Path, name: str, lines: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_dir(data: Path, speakers: int = 10, per_speaker: int = 3) -> list[str]:
    """A data dir ``data`` whose wav.scp paths are relative to its parent (Kaldi style)."""
    text, scp, utt2spk, genders, ids = [], [], [], [], []
    for s in range(speakers):
        speaker = f"spk{s:02d}"
        genders.append(f"{speaker} {'mf'[s % 2]}")
        for i in range(per_speaker):
            utt = f"{speaker}-{i:03d}"
            tone(data.parent / "wav" / f"{utt}.wav", 0.3 + 0.05 * i)
            text.append(f"{utt} HELLO WORLD {i}")
            scp.append(f"{utt}\twav/{utt}.wav")
            utt2spk.append(f"{utt} {speaker}")
            ids.append(utt)
    write(data, "text", text)
    write(data, "wav.scp", scp)
    write(data, "utt2spk", utt2spk)
    write(data, "spk2gender", genders)
    return ids


def utterances(manifests: dict[str, Path]) -> list:
    return [u for path in manifests.values() if path.stat().st_size for u in read_manifest(path)]


def run(src: Path, out: Path, **options):
    return prepare_corpus("kaldi", src, out, PrepareOptions(workers=1, **options))


def test_registered_with_its_src_and_split_description():
    recipe = RECIPES["kaldi"]
    assert recipe.writes_report and recipe.needs_src
    assert "wav.scp" in recipe.src and "speaker-disjoint" in recipe.splits


def test_one_data_dir_is_split_speaker_disjoint(tmp_path):
    make_dir(tmp_path / "corpus" / "data")
    manifests, report = run(tmp_path / "corpus" / "data", tmp_path / "out")
    splits = {name: read_manifest(path) for name, path in manifests.items()}
    speakers = {name: {u.speaker for u in utts} for name, utts in splits.items()}
    assert all(splits.values())
    assert not (speakers["train"] & speakers["dev"] or speakers["train"] & speakers["test"]
                or speakers["dev"] & speakers["test"])
    assert report["kept"] == 30 and report["skipped"] == 0
    assert "spk2gender: 5 f, 5 m" in report["layout"]
    by_path = {u.audio_path: u.text for utts in splits.values() for u in utts}
    assert by_path[tmp_path / "corpus" / "wav" / "spk00-002.wav"] == "HELLO WORLD 2"


def test_folder_of_data_dirs_keeps_official_splits(tmp_path):
    make_dir(tmp_path / "train", speakers=4)
    make_dir(tmp_path / "test_clean", speakers=2)
    manifests, report = run(tmp_path, tmp_path / "out")
    test = read_manifest(manifests["test"])
    assert {u.speaker for u in test} == {"spk00", "spk01"} and len(test) == 6
    assert read_manifest(manifests["dev"])  # carved out of train
    assert "official splits" in report["split_method"]


def test_segments_are_cut_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("EDGEASR_CACHE", str(tmp_path / "cache"))
    tone(tmp_path / "rec" / "long.wav", 2.0)
    data = tmp_path / "data"
    write(data, "wav.scp", ["rec1 rec/long.wav"])
    write(data, "segments", ["u1 rec1 0.00 0.50", "u2 rec1 0.50 1.75", "u3 rec1 1.0 0.5",
                             "u4 nope 0 1"])
    write(data, "text", ["u1 ONE", "u2 TWO", "u3 THREE", "u4 FOUR", "u5 FIVE"])
    write(data, "utt2spk", ["u1 a", "u2 a", "u3 a", "u4 a", "u5 a"])
    manifests, report = run(data, tmp_path / "out")
    kept = sorted(utterances(manifests), key=lambda u: u.text)
    assert [(u.text, round(u.duration, 2)) for u in kept] == [("ONE", 0.5), ("TWO", 1.25)]
    assert all(u.audio_path.is_relative_to(tmp_path / "cache" / "kaldi-segments") for u in kept)
    reasons = {r: [e["source"] for e in info["examples"]]
               for r, info in report["skipped_by_reason"].items()}
    assert reasons["malformed_line"] == [f"{data / 'segments'}:3"]  # end before start
    assert sorted(reasons["missing_audio"]) == sorted([f"{data / 'segments'}:4",
                                                       f"{data / 'text'}:5"])
    again, _ = run(data, tmp_path / "out2")  # cut once: the same files are reused
    assert sorted(u.audio_path for u in utterances(again)) == sorted(u.audio_path for u in kept)


def test_pipe_command_is_refused_naming_file_and_line(tmp_path):
    make_dir(tmp_path / "data", speakers=2)
    scp = tmp_path / "data" / "wav.scp"
    scp.write_text(scp.read_text() + "spk00-009 sox in.sph -t wav - |\n")
    with pytest.raises(CorpusError, match=rf"{scp}:7: wav.scp line is a pipe command .*"
                                          "runs no commands"):
        run(tmp_path / "data", tmp_path / "out")


def test_missing_files_and_bad_lines_are_reported(tmp_path):
    ids = make_dir(tmp_path / "data", speakers=10)
    (tmp_path / "wav" / f"{ids[0]}.wav").unlink()
    data = tmp_path / "data"
    (data / "text").write_text((data / "text").read_text() + "lonely\nextra-utt HI\n")
    (data / "wav.scp").write_text((data / "wav.scp").read_text() + "orphan wav/orphan.wav\n")
    _, report = run(data, tmp_path / "out")
    reasons = {r: [e["source"] for e in info["examples"]]
               for r, info in report["skipped_by_reason"].items()}
    assert reasons["missing_audio"] == [f"{data / 'text'}:1", f"{data / 'text'}:32"]
    assert reasons["malformed_line"] == [f"{data / 'text'}:31"]
    assert reasons["missing_transcript"] == [f"{data / 'wav.scp'}:31"]
    assert report["input"] == report["kept"] + report["skipped"]
    with pytest.raises(CorpusError, match=r"text:31: expected UTT TRANSCRIPT, got .lonely."):
        run(data, tmp_path / "out3", strict=True)


@pytest.mark.parametrize("missing", ["text", "wav.scp"])
def test_not_a_data_dir(tmp_path, missing):
    make_dir(tmp_path / "data", speakers=1)
    (tmp_path / "data" / missing).unlink()
    with pytest.raises(CorpusError, match=rf"not a Kaldi data dir \(no {missing}\)"):
        run(tmp_path / "data", tmp_path / "out")
    with pytest.raises(CorpusError, match="does not exist"):
        run(tmp_path / "nothing", tmp_path / "out")


def test_report_is_json_and_names_the_recipe(tmp_path):
    make_dir(tmp_path / "data")
    run(tmp_path / "data", tmp_path / "out")
    report = json.loads((tmp_path / "out" / "prepare_report.json").read_text())
    assert report["recipe"] == "kaldi" and report["kept"] == 30
