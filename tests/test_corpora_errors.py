"""Corpus recipes on bad input (every skip reason with its file and line, --strict), the
recipe registry and dispatcher, and `edgeasr prepare`'s report on the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from corpus_support import all_utterances, check_counts, make_fsdd, reasons, run, tone

from edgeasr.data.manifest import read_manifest
from edgeasr.errors import ConfigError
from edgeasr.prepare.corpora import RECIPES, recipe_names
from edgeasr.prepare.corpora.common import CorpusError, read_lines
from edgeasr.prepare.pipeline import prepare, prepare_corpus

# --------------------------------------------------------------------------- bad input

BAD_ROWS = [  # (line content, reason); line numbers start at 2 (after the header)
    (b"good.wav\thello", None),
    (b"missing.wav\thello", "missing_audio"),
    (b"zero_bytes.wav\thello", "empty_audio"),
    (b"zero_frames.wav\thello", "empty_audio"),
    (b"garbage.wav\thello", "unreadable_audio"),
    ("good2.wav\tカタカナ".encode(), "out_of_vocabulary"),
    (b"good3.wav\t", "empty_transcript"),
    (b"good4.wav\t... !", "empty_transcript"),
    (b"good5.wav\tcaf\xe9 au lait", "bad_encoding"),
    (b"good.wav\thello again", "duplicate_audio"),
    (b"just-a-path.wav", "malformed_line"),
    (b"good6.wav\tfine text", None),
]


def make_bad_table(root: Path, rows=BAD_ROWS) -> Path:
    for name in ("good", "good2", "good3", "good4", "good5", "good6"):
        tone(root / f"{name}.wav", 0.1)
    (root / "zero_bytes.wav").write_bytes(b"")
    sf.write(root / "zero_frames.wav", np.zeros(0, np.float32), 16000)
    (root / "garbage.wav").write_bytes(b"RIFF this is not really a wave file" * 4)
    table = root / "list.tsv"
    table.write_bytes(b"\xef\xbb\xbfpath\ttext\n" + b"\n".join(line for line, _ in rows) + b"\n")
    return table


def test_every_bad_input_is_skipped_with_reason_and_line(tmp_path):
    table = make_bad_table(tmp_path)
    manifests, report = run("table", table, tmp_path / "out", dev_fraction=0.0, test_fraction=0.0)
    expected: dict[str, list[str]] = {}
    for number, (_, reason) in enumerate(BAD_ROWS, start=2):
        if reason:
            expected.setdefault(reason, []).append(f"{table}:{number}")
    assert {k: sorted(v) for k, v in reasons(report).items()} == expected
    assert [u.text for u in all_utterances(manifests)["train"]] == ["hello", "fine text"]
    assert report["input"] == len(BAD_ROWS) and report["kept"] == 2
    check_counts(report)
    messages = {r: info["examples"][0]["message"] for r, info in report["skipped_by_reason"].items()}
    assert "0xe9 at column 14" in messages["bad_encoding"]
    assert "'カ'" in messages["out_of_vocabulary"]
    assert "already listed at" in messages["duplicate_audio"] and ":2 " in messages["duplicate_audio"]


@pytest.mark.parametrize("index", [i for i, (_, reason) in enumerate(BAD_ROWS) if reason])
def test_strict_fails_on_each_bad_input_naming_file_and_line(tmp_path, index):
    rows = [BAD_ROWS[0], BAD_ROWS[index]]
    table = make_bad_table(tmp_path, rows)
    reason = BAD_ROWS[index][1]
    line = 3 if reason != "missing_audio" or index else 2
    with pytest.raises(CorpusError, match=rf"list\.tsv:{line}: .*\[{reason}: .*--strict"):
        run("table", table, tmp_path / "out", strict=True)
    assert not (tmp_path / "out" / "train.jsonl").exists()


def test_exclude_test_text_is_counted(tmp_path):
    rows = ["path,text"]
    for i in range(40):
        tone(tmp_path / f"{i}.wav", 0.05)
        rows.append(f"{i}.wav,command number {i % 20}")
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    manifests, report = run("table", tmp_path / "t.csv", tmp_path / "out", exclude_test_text=True)
    splits = all_utterances(manifests)
    held_out = {u.text for name in ("dev", "test") for u in splits[name]}
    assert held_out and not any(u.text in held_out for u in splits["train"])
    assert report["skipped_by_reason"]["test_text_in_train"]["count"] > 0
    check_counts(report)
    (tmp_path / "same.csv").write_text("path,text\n" + "".join(f"{i}.wav,yes\n" for i in range(9)))
    with pytest.raises(CorpusError, match="no training utterances .*--exclude-test-text"):
        run("table", tmp_path / "same.csv", tmp_path / "out2", exclude_test_text=True)


def test_read_lines_reports_utf16_and_keeps_good_lines(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"fine\n\xff\xfeo\x00k\x00\nalso fine\r\n")
    lines = read_lines(path)
    assert lines[0] == (1, "fine") and lines[2] == (3, "also fine")
    assert (lines[1][0], lines[1][1].reason, lines[1][1].source) == (2, "bad_encoding", f"{path}:2")


def test_unusable_corpus_and_wrong_layout_raise(tmp_path):
    (tmp_path / "metadata.csv").write_text("LJ1|text|text\n")
    with pytest.raises(CorpusError, match="no usable utterances .* missing_audio|does not exist"):
        run("ljspeech", tmp_path, tmp_path / "out")
    for recipe in ("librispeech", "mls", "commonvoice", "fsdd", "folder"):
        with pytest.raises(CorpusError, match=recipe if recipe == "librispeech" else "--src|recipe"):
            run(recipe, tmp_path, tmp_path / "out")


# --------------------------------------------------------------------------- dispatcher, CLI

def test_registry_and_cli_choices_agree():
    import importlib

    from edgeasr.cli.data import prepare as command

    choices = next(p for p in command.params if p.name == "recipe").type.choices
    assert list(choices) == list(recipe_names()) == list(RECIPES)
    assert list(RECIPES) == ["synthetic", "ldc93s1", "librispeech", "mls", "commonvoice",
                             "ljspeech", "fsdd", "folder", "kaldi", "table"]
    assert recipe_names(writes_report=False) == ("synthetic", "ldc93s1")
    assert [name for name, r in RECIPES.items() if not r.needs_src] == ["synthetic"]
    for name, recipe in RECIPES.items():  # each module has what its kind is called with
        module = importlib.import_module(f"edgeasr.prepare.corpora.{recipe.module}")
        assert callable(getattr(module, "collect" if recipe.writes_report else "build")), name
        assert recipe.src or not recipe.needs_src, name


def test_dispatcher_keeps_ldc93s1_and_runs_corpora(tmp_path):
    tone(tmp_path / "ldc" / "LDC93S1.wav")
    (tmp_path / "ldc" / "LDC93S1.txt").write_text("0 46797 She had your dark suit.\n")
    manifests = prepare("ldc93s1", tmp_path / "o1", src=tmp_path / "ldc")
    assert list(manifests) == ["all"] and read_manifest(manifests["all"])[0].text == "She had your dark suit."
    make_fsdd(tmp_path / "fsdd", range(5, 7))
    manifests = prepare("fsdd", tmp_path / "o2", src=tmp_path / "fsdd", workers=2)
    assert set(manifests) == {"train", "dev", "test"}
    with pytest.raises(ConfigError, match="unknown recipe 'nope'; known: synthetic, ldc93s1, "):
        prepare("nope", tmp_path / "o3", src=tmp_path)
    with pytest.raises(CorpusError, match="the ldc93s1 recipe needs --src: the folder holding"):
        prepare("ldc93s1", tmp_path / "o4")
    with pytest.raises(CorpusError, match="LDC93S1.wav is missing"):
        prepare("ldc93s1", tmp_path / "o4", src=tmp_path)
    with pytest.raises(CorpusError, match="the fsdd recipe needs --src: the Free Spoken"):
        prepare("fsdd", tmp_path / "o5")
    with pytest.raises(ConfigError, match="synthetic is not a corpus recipe"):
        prepare_corpus("synthetic", tmp_path, tmp_path / "o6")


def test_cli_prints_splits_and_skips_and_strict_exits_nonzero(tmp_path):
    from click.testing import CliRunner

    from edgeasr.cli import main

    table = make_bad_table(tmp_path)
    args = ["prepare", "table", "--src", str(table), "--out", str(tmp_path / "out"),
            "--dev-fraction", "0", "--test-fraction", "0", "--seed", "3"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "train: 2 utterances" in result.output
    assert f"skipped 10 of {len(BAD_ROWS)} inputs" in result.output
    assert json.loads((tmp_path / "out" / "prepare_report.json").read_text())["options"]["seed"] == 3
    result = CliRunner().invoke(main, [*args, "--strict"])
    assert result.exit_code != 0 and f"{table}:3" in result.output
