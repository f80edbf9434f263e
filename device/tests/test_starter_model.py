"""The packaged starter model (``en-starter``): it loads, its metadata is pinned, names resolve.

The slow test (``--slow``; skipped when ../shared/data is absent) transcribes held-out real
recordings and checks the dev WER that docs/starter-model.md states, from the same manifest
lines the english-real recipe scored (rebuilt here from ../shared/data, no training side).
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest

import edgeasr_device
from edgeasr_device import Recognizer, read_metadata
from edgeasr_device.errors import ArtifactError
from edgeasr_device.models import DEFAULT_MODEL, PACKAGED_MODELS, packaged_model, resolve_model

MODELS = Path(edgeasr_device.__file__).resolve().parent / "models"  # as installed
STARTER = MODELS / "en-starter.tflite"
CARD = MODELS / "en-starter.json"
REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
DOC = REPO / "docs" / "starter-model.md"


def card() -> dict:
    return json.loads(CARD.read_text(encoding="utf-8"))


def test_default_and_names_resolve_to_the_packaged_file():
    assert DEFAULT_MODEL == "en-starter" and PACKAGED_MODELS == {"en-starter": "en-starter.tflite"}
    assert Path(resolve_model("en-starter")) == packaged_model("en-starter") == STARTER
    assert resolve_model("some/model.tflite") == "some/model.tflite"
    with pytest.raises(ArtifactError, match="no packaged model named 'fr-starter'"):
        packaged_model("fr-starter")


def test_starter_file_is_small_int8_and_its_metadata_is_pinned():
    assert STARTER.stat().st_size <= 5 * 1024 * 1024
    info = card()
    assert hashlib.sha256(STARTER.read_bytes()).hexdigest() == info["sha256"]
    metadata = read_metadata(STARTER)
    assert metadata.quantization == "int8"
    assert metadata.sample_rate == 16000 and metadata.streaming is None
    assert metadata.vocabulary.tokens[1:] == tuple(" abcdefghijklmnopqrstuvwxyz'")
    assert metadata.model.get("name", info["preset"]) == info["preset"]
    assert metadata.frame_duration == pytest.approx(info["frame_duration"])
    assert info["recipe"] == "recipes/english-real"
    # The card's figures were measured with the margin the file asks for.
    assert metadata.margin == info.get("margin", 0.0) == Recognizer("en-starter").margin


def test_recognizer_by_name_transcribes_audio():
    recognizer = Recognizer("en-starter")
    assert recognizer.metadata is not None and recognizer.metadata.quantization == "int8"
    silence = np.zeros(16000, np.float32)
    assert isinstance(recognizer.transcribe(silence, sample_rate=16000).text, str)


def test_cli_transcribes_with_the_default_model(tmp_path):
    import soundfile as sf
    from click.testing import CliRunner

    from edgeasr_device.cli import main

    wav = tmp_path / "quiet.wav"
    sf.write(wav, np.zeros(8000, np.float32), 16000)
    result = CliRunner().invoke(main, ["transcribe", str(wav)])
    assert result.exit_code == 0, result.output
    bad = CliRunner().invoke(main, ["transcribe", "--model", "nope-starter", str(wav)])
    assert bad.exit_code == 2 and "neither a .tflite file nor a packaged model" in bad.output


def test_readme_states_the_card_figures():
    text = DOC.read_text(encoding="utf-8")
    for source, figures in card()["dev_wer"].items():
        row = re.search(rf"^\| `{re.escape(source)}` .*$", text, re.MULTILINE)
        assert row, f"docs/starter-model.md has no row for {source}"
        assert f"{100 * figures['greedy']:.1f}%" in row.group(0)


# --------------------------------------------------------------------------- slow

def word_errors(reference: str, hypothesis: str) -> tuple[int, int]:
    """(edit distance in words, reference words)."""
    ref, hyp = reference.split(), hypothesis.split()
    row = list(range(len(hyp) + 1))
    for i, word in enumerate(ref, start=1):
        previous, row[0] = row[0], i
        for j, other in enumerate(hyp, start=1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (word != other))
    return row[-1], len(ref)


def fsdd_dev() -> list[tuple[Path, str]]:
    """FSDD's held-out recordings: indices 5-9 of every speaker (the recipe's dev set)."""
    words = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    found = []
    for path in sorted((SHARED / "fsdd" / "recordings").glob("*.wav")):
        digit, _, index = path.stem.split("_")
        if 5 <= int(index) <= 9:
            found.append((path, words[int(digit)]))
    return found


@pytest.mark.slow
def test_stated_dev_wer_on_held_out_fsdd_recordings(request):
    if not request.config.getoption("--slow", default=False):
        pytest.skip("slow: pass --slow to run")
    if not (SHARED / "fsdd" / "recordings").is_dir():
        pytest.skip(f"needs the real recordings in {SHARED / 'fsdd'} (absent here)")
    pairs = fsdd_dev()
    assert len(pairs) == 300
    recognizer = Recognizer("en-starter")  # the file's own margin, as the card was measured
    errors = words = 0
    for path, text in pairs:
        e, n = word_errors(text, recognizer.transcribe(str(path)).text)
        errors, words = errors + e, words + n
    stated = card()["dev_wer"]["fsdd_dev"]["greedy"]
    assert errors / words == pytest.approx(stated, abs=0.005)
