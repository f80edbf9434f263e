"""Model presets: shapes, true lengths, padding invariance, config round-trips."""

from __future__ import annotations

import numpy as np
import pytest

from edgeasr.models.config import ModelConfig
from edgeasr.models.ctc_model import CTCModel
from edgeasr.models.presets import PRESETS, get_preset
from edgeasr.runs import build_model
from edgeasr_device.vocab import Vocabulary


@pytest.mark.parametrize("preset", ["tiny", "deepspeech-tiny"])
def test_output_shape_and_lengths(preset):
    model = build_model(get_preset(preset), Vocabulary.english())
    audio = np.random.default_rng(0).standard_normal((2, 24000)).astype(np.float32) * 0.1
    lengths = np.array([24000, 13001], np.int32)
    logits = np.asarray(model({"audio": audio, "audio_lengths": lengths}))
    config = model.config
    assert logits.shape == (2, config.num_output_frames(24000), 29)
    expected = [config.num_output_frames(int(n)) for n in lengths]
    assert list(np.asarray(model.output_lengths(lengths))) == expected


@pytest.mark.parametrize("preset", ["tiny", "deepspeech-tiny"])
def test_padded_batch_matches_lone_utterance(preset):
    """An utterance gives the same logits alone and padded inside a batch."""
    model = build_model(get_preset(preset), Vocabulary.english())
    rng = np.random.default_rng(1)
    audio = rng.standard_normal((2, 32000)).astype(np.float32) * 0.1
    short = 20000 + 77  # odd frame count: catches parity-dependent padding
    audio[1, short:] = 0.0
    batch = np.asarray(model({"audio": audio, "audio_lengths": np.array([32000, short], np.int32)}))
    alone = np.asarray(model(audio[1:2, :short]))
    frames = alone.shape[1]
    np.testing.assert_allclose(batch[1, :frames], alone[0], atol=1e-4)


def test_deepspeech_preset_is_the_published_size():
    """Mozilla DeepSpeech 0.9: 26 MFCC x 19 frames, width 2048 -> about 47 M parameters."""
    model = CTCModel(get_preset("deepspeech"))
    model(np.zeros((1, 8000), np.float32))
    assert 46e6 < model.count_params() < 48.5e6


def test_small_preset_is_about_a_million_parameters():
    model = build_model(get_preset("small"), Vocabulary.english())
    assert 0.8e6 < model.count_params() < 1.6e6


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_config_round_trips(name):
    config = PRESETS[name]
    assert ModelConfig.from_dict(config.to_dict()) == config
    model = CTCModel(config)
    rebuilt = CTCModel.from_config(model.get_config())
    assert rebuilt.config == config


def test_config_replace_and_unknown_keys():
    config = get_preset("small").replace(conv={"channels": 64}, vocab_size=30)
    assert config.conv.channels == 64 and config.vocab_size == 30
    assert config.conv.kernel_sizes == get_preset("small").conv.kernel_sizes
    with pytest.raises(ValueError, match="unknown"):
        ModelConfig.from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(ValueError, match="chanels"):
        config.replace(conv={"chanels": 3})
    with pytest.raises(ValueError, match="unknown preset"):
        get_preset("huge")
