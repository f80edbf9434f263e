"""What the `edgeasr` CLI prints: no native start-up noise unless --verbose, one clear line
for input errors, and a traceback for bugs."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from support import REPO

from edgeasr.cli.common import friendly_errors, is_native_noise
from edgeasr.errors import ConfigError

EDGEASR = str(Path(sys.executable).parent / "edgeasr")
LEGACY_RUN = REPO / "tests/fixtures/legacy_v1/run-tiny"


@pytest.mark.parametrize("line", [
    b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    b"I0000 00:00:1796136287.675935   24876 port.cc:153] oneDNN custom operations are on.",
    b"I1201 14:01:02.123456    77 cpu_feature_guard.cc:210] This TensorFlow binary is optimized",
    b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.",
    b"E0000 00:00:1796137242.863985    1585 util.cc:131] oneDNN supports DT_BOOL only on "
    b"platforms with AVX-512. Falling back to the default Eigen-based implementation.",
    b"fully_quantize: 0, inference_type: 6, input_inference_type: FLOAT32, output_inference_type: FLOAT32",
])
def test_native_info_lines_are_noise(line):
    assert is_native_noise(line)


@pytest.mark.parametrize("line", [
    b"W0000 00:00:1796136287.675935   24876 some_op.cc:12] a real warning",
    b"E0000 00:00:1796136287.675935   24876 loader.cc:9] an error",
    b"Error: --run: no such directory",
    b"Traceback (most recent call last):",
    b"INFO: something edgeasr itself would never hide",
])
def test_warnings_errors_and_our_own_output_are_kept(line):
    assert not is_native_noise(line)


@pytest.fixture(scope="module")
def exported_quietly(tmp_path_factory):
    """`edgeasr export` of a small run as a real process, with and without --verbose."""
    tmp = tmp_path_factory.mktemp("quiet")
    run = tmp / "run"
    shutil.copytree(LEGACY_RUN, run)
    results = {}
    for flags in ((), ("--verbose",)):
        results[flags] = subprocess.run(
            [EDGEASR, *flags, "export", "--run", str(run), "--out", str(tmp / "m.tflite"),
             "--quantize", "float32"], capture_output=True, text=True, timeout=300)
    return results


def test_export_prints_no_native_noise(exported_quietly):
    quiet = exported_quietly[()]
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stdout.startswith("wrote ")
    assert quiet.stderr == ""


def test_verbose_shows_the_native_lines(exported_quietly):
    """--verbose lets through what the quiet run hides: TensorFlow's INFO log, and native
    start-up lines where this build of TensorFlow/LiteRT writes any (ai-edge-litert 2.3 with
    TF 2.21 writes none at TF_CPP_MIN_LOG_LEVEL 2; older builds wrote absl's and oneDNN's)."""
    loud, quiet = exported_quietly[("--verbose",)], exported_quietly[()]
    assert loud.returncode == 0, loud.stderr
    assert "INFO tensorflow:" in loud.stderr and "INFO tensorflow:" not in quiet.stderr


def test_input_errors_still_reach_stderr_through_the_filter(tmp_path):
    (tmp_path / "run").mkdir()
    result = subprocess.run([EDGEASR, "export", "--run", str(tmp_path / "run"),
                             "--out", str(tmp_path / "m.tflite")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and "run.json" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def _command(error: Exception) -> click.Command:
    @click.command()
    @friendly_errors
    def command():
        raise error

    return command


def test_an_input_error_is_one_line_with_status_1():
    result = CliRunner().invoke(_command(ConfigError("config.yaml: unknown key 'epochz'")))
    assert result.exit_code == 1
    assert result.output.strip() == "Error: config.yaml: unknown key 'epochz'"


def test_a_bug_is_not_dressed_up_as_an_input_error():
    """A ValueError from edgeasr's own code propagates with its traceback."""
    result = CliRunner().invoke(_command(ValueError("operands could not be broadcast")))
    assert isinstance(result.exception, ValueError)
    assert "Error:" not in result.output
