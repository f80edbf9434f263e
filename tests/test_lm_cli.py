"""`edgeasr lm build` (training-side text normalisation) and `edgeasr evaluate --compare`."""

from __future__ import annotations

import math

from click.testing import CliRunner

from edgeasr.cli import main
from edgeasr.cli.evaluate import compared_decodings, decoding_label
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.decoding.arpa import read_arpa


def test_lm_build_normalises_training_text(tmp_path):
    text = tmp_path / "train.txt"
    text.write_text("Turn on the lights at 7!\nSet the volume to 20%.\n")
    manifest = tmp_path / "train.jsonl"
    manifest.write_text('{"audio_filepath": "a.wav", "duration": 1.0, "text": "Mr. Smith"}\n')
    out = tmp_path / "lm.arpa"
    result = CliRunner().invoke(main, ["lm", "build", "--text", str(text), "--text",
                                       str(manifest), "--order", "2", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "from 3 sentences" in result.output
    model = read_arpa(out)
    assert {"seven", "twenty", "percent", "mister"} <= set(model.words)
    total = sum(math.exp(model.log_prob_of(["the"], w)) for w in model.words if w != "<s>")
    assert abs(total - 1.0) < 1e-4


def test_compare_decodings_and_their_labels():
    lm = DecodingOptions(method="beam", beam_width=32, lm="lm.arpa", hotwords=("on",))
    names = [decoding_label(o.to_dict()) for o in compared_decodings(lm)]
    assert names == ["greedy", "beam32", "beam32+lm+hotwords"]
    assert [decoding_label(o.to_dict()) for o in compared_decodings(DecodingOptions())] == \
        ["greedy"]
