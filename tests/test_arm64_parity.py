"""scripts/arm64_parity.py compare: a few float32 steps pass at any magnitude, more fail."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "arm64_parity.py"


@pytest.fixture(scope="module")
def parity():
    spec = importlib.util.spec_from_file_location("arm64_parity", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(folder: Path, parity, shift, text: str = "a") -> None:
    """Every model's outputs: log-probabilities from -84 to 0, moved by ``shift(values)``."""
    folder.mkdir()
    values = np.linspace(-84.0, 0.0, 58, dtype=np.float32).reshape(2, 29)
    for model in parity.MODELS:
        stem = model.removesuffix(".tflite")
        for source in ("input.npy", *parity.RECORDINGS):
            np.save(folder / f"{stem}.{source}.npy", (values + shift(values)).astype(np.float32))
    texts = {m.removesuffix(".tflite"): {r: text for r in parity.RECORDINGS} for m in parity.MODELS}
    (folder / "result.json").write_text(json.dumps({"machine": {"machine": "x", "python": "3"},
                                                    "texts": texts}))


def test_float_steps_at_large_magnitudes_pass(parity, tmp_path, capsys):
    write(tmp_path / "host", parity, lambda v: 0 * v)
    # Three float32 steps everywhere: 2.3e-5 at -84, as the starter model measured.
    write(tmp_path / "guest", parity, lambda v: 3 * np.spacing(np.abs(v)))
    assert parity.compare(tmp_path / "host", tmp_path / "guest", "a72") == 0
    assert "MISMATCH" not in capsys.readouterr().out


@pytest.mark.parametrize("shift, text", [
    (lambda v: np.where(np.abs(v) < 1, 5e-5, 0.0), "a"),   # near 0: the absolute part only
    (lambda v: 3e-4 * np.abs(v) / 84, "a"),               # 3e-4 at -84: beyond 1e-5 + 1.7e-4
    (lambda v: 0 * v, "b"),                                 # the greedy text differs
])
def test_larger_differences_fail(parity, tmp_path, capsys, shift, text):
    write(tmp_path / "host", parity, lambda v: 0 * v)
    write(tmp_path / "guest", parity, shift, text)
    assert parity.compare(tmp_path / "host", tmp_path / "guest", "a72") == 1
    assert "MISMATCH" in capsys.readouterr().out
