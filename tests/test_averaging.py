"""Checkpoint averaging (edgeasr/averaging.py, `edgeasr average`)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from edgeasr.averaging import average_checkpoints
from edgeasr.cli import main
from edgeasr.errors import RunError
from edgeasr.runs import (
    RunDirectory,
    build_model,
    load_model,
    read_checkpoint_state,
    save_checkpoint,
)


def _floating(variable) -> bool:
    return np.issubdtype(np.dtype(variable.dtype), np.floating)


@pytest.fixture
def two_epochs(tiny_run, tmp_path):
    """A copy of the tiny run with an epoch-0002 whose floating-point weights are three
    times epoch 1's (and whose integer variables are 7)."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    model, info = load_model(run, "epoch-0001")
    model.set_weights([np.asarray(v.numpy()) * 3 if _floating(v)
                       else np.full(v.shape, 7, np.dtype(v.dtype)) for v in model.weights])
    save_checkpoint(model, RunDirectory(run).checkpoints / "epoch-0002", {"epoch": 2, "step": 0},
                    info)
    return run


def test_the_average_is_the_element_wise_mean(two_epochs):
    first, _ = load_model(two_epochs, "epoch-0001")
    report = average_checkpoints(two_epochs, "avg", ["epoch-0001", "epoch-0002"])
    mean, _ = load_model(two_epochs, "avg")
    floats = [_floating(v) for v in first.weights]
    assert report.variables == sum(floats) > 0
    assert report.kept == len(floats) - sum(floats)
    moving = [v for v in mean.weights if "moving" in v.path]
    assert moving, "batch norm statistics are among the averaged variables"
    for a, m, f in zip(first.weights, mean.weights, floats):
        if f:
            np.testing.assert_allclose(np.asarray(m), 2 * np.asarray(a), rtol=1e-6, atol=1e-7)
        else:  # integers come from the last checkpoint listed
            assert (np.asarray(m) == 7).all()
    state = read_checkpoint_state(report.folder)
    assert state["averaged_epochs"] == [1, 2]
    assert [p.rsplit("/", 1)[-1] for p in state["averaged"]] == ["epoch-0001", "epoch-0002"]
    assert (report.folder / "run.json").is_file()  # self-describing, like every checkpoint


def test_last_n_and_the_run_state_is_untouched(two_epochs):
    before = (two_epochs / "state.json").read_text()
    report = average_checkpoints(two_epochs, "avg-last-2", [], last=2)
    assert [p.name for p in report.sources] == ["epoch-0001", "epoch-0002"]
    assert (two_epochs / "state.json").read_text() == before  # best, last, resume: as they were
    with pytest.raises(RunError, match=r"has 2 epoch checkpoint\(s\) \(epoch-0001, epoch-0002\); "
                                       r"--last 3 needs 3"):
        average_checkpoints(two_epochs, "x", [], last=3)


def test_a_checkpoint_of_another_run_can_join(two_epochs, tmp_path):
    """An earlier stage's checkpoint, named by its folder."""
    other = tmp_path / "earlier"
    shutil.copytree(two_epochs, other)
    earlier = str(other / "checkpoints" / "epoch-0002")
    report = average_checkpoints(two_epochs, "avg", [earlier, "last"])
    assert report.sources[0].parent.parent == other.resolve()


@pytest.mark.parametrize("name", ["best", "last", "partial", "epoch-0003", "../x", ""])
def test_reserved_or_malformed_names_are_refused(two_epochs, name):
    with pytest.raises(RunError, match="cannot name an average"):
        average_checkpoints(two_epochs, name, ["epoch-0001", "epoch-0002"])


def test_bad_lists_are_clear_errors(two_epochs, tmp_path):
    with pytest.raises(RunError, match="at least two checkpoints"):
        average_checkpoints(two_epochs, "avg", ["epoch-0001"])
    with pytest.raises(RunError, match="no 'epoch-0009' checkpoint; choose one of"):
        average_checkpoints(two_epochs, "avg", ["epoch-0001", "epoch-0009"])
    with pytest.raises(RunError, match="is not a checkpoint folder"):
        average_checkpoints(two_epochs, "avg", ["epoch-0001", str(tmp_path / "nowhere")])
    # `best` is a copy of epoch 1 here: the same weights twice would skew the mean
    with pytest.raises(RunError, match="hold the same weights"):
        average_checkpoints(two_epochs, "avg", ["epoch-0001", "best"])
    with pytest.raises(RunError, match="listed twice"):
        average_checkpoints(two_epochs, "avg", ["epoch-0001", "last"])  # last: epoch 1


def test_a_checkpoint_of_another_model_is_refused(two_epochs, tmp_path):
    from edgeasr.models.presets import get_preset

    info = RunDirectory(two_epochs).read_info()
    assert info.model.name != "small"
    wider = build_model(get_preset("small"), info.vocabulary)
    foreign = tmp_path / "foreign"
    save_checkpoint(wider, foreign, {"epoch": 1})
    with pytest.raises(RunError, match="does not fit this model"):
        average_checkpoints(two_epochs, "avg", ["epoch-0001", str(foreign)])
    assert not (two_epochs / "checkpoints" / "avg").exists()  # nothing half-written


def test_cli_average_then_evaluate(two_epochs, speech_corpus):
    runner = CliRunner()
    result = runner.invoke(main, ["average", "--run", str(two_epochs), "--last", "2"])
    assert result.exit_code == 0, result.output
    assert "the mean of 2 checkpoints" in result.output
    assert "--checkpoint avg-last-2" in result.output
    result = runner.invoke(main, ["evaluate", "--model", str(two_epochs), "--checkpoint",
                                  "avg-last-2", "--manifest", str(speech_corpus / "train.jsonl")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["average", "--run", str(two_epochs), "--checkpoint", "best"])
    assert result.exit_code != 0 and "at least two checkpoints" in result.output
    state = json.loads((two_epochs / "checkpoints" / "avg-last-2" / "state.json").read_text())
    assert state["epoch"] == 2
