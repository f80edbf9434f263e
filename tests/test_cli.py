"""CLI behaviour: clear one-line errors for bad input, normalisation, presets."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from edgeasr.cli import main
from edgeasr_device.cli import main as device_main


@pytest.fixture
def runner():
    return CliRunner()


def test_normalize_and_presets(runner, tmp_path):
    result = runner.invoke(main, ["normalize", "Turn on 2 lights, Dr. Smith's!"])
    assert result.exit_code == 0 and result.output.strip() == "turn on two lights doctor smith's"
    (tmp_path / "t.txt").write_text("0 46797 She had your dark suit.\n")
    result = runner.invoke(main, ["normalize", "--file", str(tmp_path / "t.txt")])
    assert result.output.strip() == "she had your dark suit"
    result = runner.invoke(main, ["presets"])
    assert result.exit_code == 0 and "deepspeech" in result.output and "small" in result.output


def test_presets_show_encoder_parameters_and_macs(runner):
    from edgeasr.models.cost import model_cost
    from edgeasr.models.presets import PRESETS

    result = runner.invoke(main, ["presets"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:-1]}
    assert set(lines) == set(PRESETS)
    for name, config in PRESETS.items():
        cost = model_cost(config)
        assert f"{cost.parameters / 1e6:.2f}M" in lines[name]
        assert f"{cost.macs_per_second / 1e6:.1f}" in lines[name]
        assert config.encoder.describe() in lines[name]
    assert "deepspeech width 2048" in lines["deepspeech"] and "47." in lines["deepspeech"]
    alias = runner.invoke(main, ["models", "--no-cost"])
    assert alias.exit_code == 0 and "conv 96ch x 2 blocks" in alias.output


def test_models_measures_int8_speed_of_the_presets_named(runner):
    """--rtf exports the named preset (random weights) to int8 and times it on the device
    runtime: a number per row, faster than real time for the tiny preset on any machine."""
    result = runner.invoke(main, ["models", "tiny", "--rtf", "--seconds", "2"])
    assert result.exit_code == 0, result.output
    header, row, *notes = result.output.splitlines()
    assert "int8 RTF@1" in header and row.split()[0] == "tiny" and len(notes) == 2
    rtf = float(row.split()[5])
    assert 0 < rtf < 1, row
    assert "2 s of audio, 1 thread" in notes[1]
    unknown = runner.invoke(main, ["models", "no-such-preset"])
    assert unknown.exit_code == 1 and "unknown preset 'no-such-preset'" in unknown.output


def test_train_reports_a_broken_manifest_by_line(runner, tmp_path):
    (tmp_path / "m.jsonl").write_text('{"audio_filepath": "x.wav", "duration": 1, "text": "hi"}\n{oops\n')
    result = runner.invoke(main, ["train", "--train", str(tmp_path / "m.jsonl"),
                                  "--dev", str(tmp_path / "m.jsonl"), "--out", str(tmp_path / "run")])
    assert result.exit_code == 1
    assert "m.jsonl:1: audio file" in result.output and "does not exist" in result.output
    assert "Traceback" not in result.output


def test_train_rejects_unknown_yaml_keys(runner, tmp_path, speech_corpus):
    (tmp_path / "c.yaml").write_text("preset: tiny\ntrain:\n  epoch: 3\n")
    manifest = str(speech_corpus / "train.jsonl")
    result = runner.invoke(main, ["train", "--train", manifest, "--dev", manifest,
                                  "--out", str(tmp_path / "run"), "--config", str(tmp_path / "c.yaml")])
    assert result.exit_code == 1 and "c.yaml: train: unknown option(s) ['epoch']" in result.output
    (tmp_path / "c.yaml").write_text("preset: tiny\naugment: {gain: off}\n")
    result = runner.invoke(main, ["train", "--train", manifest, "--dev", manifest,
                                  "--out", str(tmp_path / "run"), "--config", str(tmp_path / "c.yaml")])
    assert result.exit_code == 1 and "c.yaml: augment: this section is for `edgeasr augment`" in result.output
    assert not (tmp_path / "run").exists()


def test_missing_checkpoint_lists_the_ones_there_are(runner, tiny_run, tmp_path):
    result = runner.invoke(main, ["export", "--run", str(tiny_run), "--out", str(tmp_path / "m.tflite"),
                                  "--quantize", "float32", "--checkpoint", "epoch-0007"])
    assert result.exit_code == 1
    assert "no 'epoch-0007' checkpoint; choose one of: best, epoch-0001 (or 'last')" in result.output


def test_evaluate_and_transcribe_with_a_run(runner, tiny_run, speech_corpus, tmp_path):
    report = tmp_path / "r.json"
    result = runner.invoke(main, ["evaluate", "--model", str(tiny_run), "--manifest",
                                  str(speech_corpus / "train.jsonl"), "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert "WER" in result.output
    data = json.loads(report.read_text())
    assert len(data["utterances"]) == 4 and 0 <= data["wer"]
    assert data["utterances"][0]["reference"] == "turn on the kitchen lights"
    (tmp_path / "bad.wav").write_text("this is not audio")
    result = runner.invoke(main, ["transcribe", "--model", str(tiny_run),
                                  str(speech_corpus / "utt0.wav"), str(tmp_path / "bad.wav")])
    assert result.exit_code == 1
    assert "bad.wav" in result.output


def test_evaluate_gate_fails_above_max_wer(runner, tiny_run, speech_corpus):
    result = runner.invoke(main, ["evaluate", "--model", str(tiny_run), "--manifest",
                                  str(speech_corpus / "train.jsonl"), "--max-wer", "-1"])
    assert result.exit_code == 1 and "FAIL: WER" in result.output


def test_device_cli_errors_name_the_file(runner, tmp_path):
    not_model = tmp_path / "model.tflite"
    not_model.write_bytes(b"\x00" * 64)
    result = runner.invoke(device_main, ["transcribe", "--model", str(not_model), "x.wav"])
    assert result.exit_code == 1 and "model.tflite" in result.output and "TFLite" in result.output
