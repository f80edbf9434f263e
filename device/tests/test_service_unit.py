"""The systemd unit (device/edgeasr-device.service) runs a command the CLI accepts."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from edgeasr_device.cli import main

UNIT = Path(__file__).resolve().parents[1] / "edgeasr-device.service"


def test_unit_execstart_parses(tiny_tflite):
    if not UNIT.is_file():
        pytest.skip("needs the repository's unit file")
    text = UNIT.read_text()
    sections = [line.strip() for line in text.splitlines() if line.startswith("[")]
    assert sections == ["[Unit]", "[Service]", "[Install]"]
    (exec_line,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    argv = shlex.split(exec_line.removeprefix("ExecStart="))
    assert argv[0].endswith("/edgeasr-device") and argv[1] == "serve"
    args = argv[2:]
    args[args.index("--model") + 1] = str(tiny_tflite)  # the unit's path exists on the Pi only
    context = main.commands["serve"].make_context("serve", args)
    assert context.params["uri"] == "tcp://0.0.0.0:10300"
    assert context.params["zeroconf_name"] == ""
    assert "User=edgeasr" in text and "Restart=on-failure" in text
