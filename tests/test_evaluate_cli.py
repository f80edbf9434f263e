"""`edgeasr evaluate` table: test sets and models told apart by readable names."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import edgeasr.evaluation.evaluate as evaluation
from edgeasr.cli import main
from edgeasr.cli.evaluate import distinct_names
from edgeasr.evaluation.evaluate import EvaluationReport
from edgeasr.evaluation.metrics import ErrorRates


@pytest.fixture
def fake_evaluation(monkeypatch):
    """Replace the evaluation with one whose WER encodes (model, manifest)."""
    calls = []

    def fake(model, manifest, checkpoint="best", threads=1, options=None, margin=None):
        calls.append((model, manifest))
        wer = 0.01 * len(calls)
        return EvaluationReport(model=str(model), manifest=str(manifest),
                                rates=ErrorRates(wer=wer, cer=wer / 2, words=10, utterances=3,
                                                 exact=1),
                                audio_seconds=3.0, decode_seconds=0.3, utterances=[], failed=[])

    monkeypatch.setattr(evaluation, "evaluate", fake)
    return calls


def test_same_file_names_in_different_folders_are_told_apart(tmp_path, fake_evaluation):
    long_name = "librispeech-960h-conformer-small-int8-calibrated-on-train-clean"
    models = [tmp_path / "runs" / long_name / "model.tflite",
              tmp_path / "runs" / "baseline" / "model.tflite"]
    for m in models:
        m.parent.mkdir(parents=True)
        m.write_bytes(b"")
    manifests = [tmp_path / "a" / "test.jsonl", tmp_path / "b" / "test.jsonl"]
    for m in manifests:
        m.parent.mkdir()
        m.write_text("")
    args = ["evaluate"]
    for m in models:
        args += ["--model", str(m)]
    for m in manifests:
        args += ["--manifest", str(m)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    header, *rows = result.output.splitlines()
    assert header.split()[:3] == ["model", "test", "set"]
    assert len(rows) == 4
    cells = [row.split() for row in rows]
    assert [c[0] for c in cells] == [f"{long_name}/model.tflite"] * 2 + ["baseline/model.tflite"] * 2
    assert [c[1] for c in cells] == ["a/test", "b/test", "a/test", "b/test"]
    assert [c[2] for c in cells] == ["1.00%", "2.00%", "3.00%", "4.00%"]
    assert "..." not in result.output
    # columns line up: every row's WER starts where the header's does
    column = header.index("    WER")
    assert all(row[column:].split()[0].endswith("%") for row in rows)


def test_distinct_names():
    assert distinct_names(["a/test.jsonl", "b/test.jsonl"], drop_extension=True) == ["a/test", "b/test"]
    assert distinct_names(["x/dev.jsonl", "x/test.jsonl"], drop_extension=True) == ["dev", "test"]
    assert distinct_names(["x/dev.jsonl", "x/dev.json"], drop_extension=True) == ["dev.jsonl",
                                                                                  "dev.json"]
    assert distinct_names(["x/dev.jsonl", "./x/dev.jsonl"]) == ["dev.jsonl", "dev.jsonl"]
    assert distinct_names(["/a/b", "/x/a/b"]) == ["/a/b", "x/a/b"]
    assert distinct_names(["runs/e1/model.tflite", "runs/e2/model.tflite", "runs/e2"]) == [
        "e1/model.tflite", "e2/model.tflite", "e2"]


def test_a_set_of_non_speech_clips_reports_words_not_a_rate():
    from edgeasr.cli.evaluate import results_table
    from edgeasr.evaluation.metrics import error_rates

    rates = error_rates(["", "", ""], ["", "six", "oh two"])  # 3 inserted words, 2 clips
    report = EvaluationReport(model="m.tflite", manifest="noise.jsonl", rates=rates,
                              audio_seconds=9.0, decode_seconds=0.1, utterances=[], failed=[])
    header, row, note = results_table([report])
    assert row.split()[2:5] == ["-", "-", "-"] and "%" not in row
    assert note == ("m.tflite on noise: no speech in the references; 3 word(s) in 2 of 3 "
                    "transcripts (should be none)")


def test_margin_reaches_the_evaluation_and_its_report(tmp_path, monkeypatch):
    seen = []

    def fake(model, manifest, checkpoint="best", threads=1, options=None, margin=None):
        seen.append(margin)
        return EvaluationReport(model=str(model), manifest=str(manifest),
                                rates=ErrorRates(wer=0.1, cer=0.05, words=10, utterances=3,
                                                 exact=1), audio_seconds=3.0,
                                decode_seconds=0.3, utterances=[], failed=[], margin=margin)

    monkeypatch.setattr(evaluation, "evaluate", fake)
    model, manifest, report = tmp_path / "m.tflite", tmp_path / "t.jsonl", tmp_path / "r.json"
    model.write_bytes(b"")
    manifest.write_text("")
    base = ["evaluate", "--model", str(model), "--manifest", str(manifest)]
    assert CliRunner().invoke(main, base).exit_code == 0
    result = CliRunner().invoke(main, [*base, "--margin", "0.5", "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert seen == [None, 0.5] and json.loads(report.read_text())["margin"] == 0.5
    bad = CliRunner().invoke(main, [*base, "--margin", "-1"])
    assert bad.exit_code == 2 and "--margin" in bad.output
