"""The device package stands alone: importing it (and using it) never loads TF or Keras."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.parametrize("module", ["edgeasr_device", "edgeasr_device.cli", "edgeasr_device.recognizer",
                                    "edgeasr_device.model", "edgeasr_device.decoding",
                                    "edgeasr_device.bench"])
def test_import_loads_neither_tensorflow_nor_keras(module):
    code = textwrap.dedent(f"""
        import sys
        import {module}
        from edgeasr_device.interpreter import interpreter_class
        interpreter_class()
        banned = [m for m in sys.modules
                  if m.split(".")[0] in ("tensorflow", "keras", "edgeasr", "edgeasr_export")]
        print(",".join(banned))
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"{module} imported: {result.stdout.strip()}"


def test_cli_help_runs_without_training_side():
    result = subprocess.run([sys.executable, "-m", "edgeasr_device.cli", "transcribe", "--help"],
                            capture_output=True, text=True, check=True)
    assert "--model" in result.stdout
