"""Model presets: shapes, true lengths, padding invariance, config round-trips."""

from __future__ import annotations

import numpy as np
import pytest

from edgeasr.errors import ConfigError
from edgeasr.models.config import ModelConfig
from edgeasr.models.ctc_model import CTCModel
from edgeasr.models.encoders import (
    DeepSpeechConfig,
    encoder_class,
    encoder_from_dict,
    encoder_names,
)
from edgeasr.models.presets import PRESETS, get_preset, model_config
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
    config = get_preset("small").replace(encoder={"channels": 64}, vocab_size=30)
    assert config.encoder.channels == 64 and config.vocab_size == 30
    assert config.encoder.kernel_sizes == get_preset("small").encoder.kernel_sizes
    with pytest.raises(ConfigError, match="unknown"):
        ModelConfig.from_dict({**config.to_dict(), "colour": "red"})
    with pytest.raises(ConfigError, match="chanels"):
        config.replace(encoder={"chanels": 3})
    with pytest.raises(ConfigError, match="unknown preset"):
        get_preset("huge")
    with pytest.raises(ConfigError, match="unknown encoder 'transformer'.*conv, deepspeech"):
        config.replace(encoder={"kind": "transformer"})


def test_replace_with_another_encoder_starts_from_its_defaults():
    config = get_preset("small").replace(encoder={"kind": "deepspeech", "width": 64})
    assert config.encoder == DeepSpeechConfig(width=64)
    assert config.time_stride == 1 and get_preset("small").time_stride == 2


def test_legacy_spellings_of_overrides_still_apply():
    """0.1 YAML overrides: ``deepspeech: {width: ...}`` / ``conv: {...}`` / ``encoder: NAME``."""
    assert get_preset("deepspeech").replace(deepspeech={"width": 1024}).encoder.width == 1024
    assert get_preset("small").replace(conv={"channels": 64}).encoder.channels == 64
    # a section for an encoder the preset does not use changed nothing in 0.1 either
    assert get_preset("small").replace(deepspeech={"width": 8}) == get_preset("small")
    switched = get_preset("small").replace(encoder="deepspeech", deepspeech={"width": 8})
    assert switched.encoder == DeepSpeechConfig(width=8)


WHOLE_UTTERANCE_ENCODERS = {"conformer", "deepspeech2"}


def test_encoders_come_from_the_registry():
    assert {"conv", "deepspeech"} <= set(encoder_names())
    for name in encoder_names():
        config = encoder_class(name)()
        assert config.kind == name and config.time_stride >= 1
        assert encoder_from_dict(config.to_dict()) == config
        plan = config.streaming_state(40, 4)
        if name in WHOLE_UTTERANCE_ENCODERS:  # attention / bidirectional GRUs by default
            assert plan is None
        else:
            assert plan is not None and plan.shapes  # these stream (export --streaming)
    with pytest.raises(ConfigError, match="'kind' is missing"):
        encoder_from_dict({"channels": 3})


def test_model_config_applies_yaml_overrides():
    config = model_config("tiny", {"encoder": {"channels": 32}, "specaugment": {"freq_masks": 1}})
    assert config.name == "tiny" and config.encoder.channels == 32
    assert config.specaugment.freq_masks == 1
    assert model_config() == get_preset("small")


def test_macs_per_second_count_every_kernel_at_its_frame_rate():
    """deepspeech-tiny by hand: frontend projections at 50 frames/s, then per logit frame
    (50/s) the context dense (19 x 26 -> w), 3 x (w -> w), the LSTM (4 w (w + w)), classifier."""
    from edgeasr.models.cost import model_cost

    config = get_preset("deepspeech-tiny").replace(encoder={"width": 16})
    w, v, rate = 16, config.vocab_size, 50
    frontend = (257 * 40 + 40 * 26) * rate
    encoder = (19 * 26 * w + 2 * w * w + 4 * w * (w + w) + w * w + w * v) * rate
    cost = model_cost(config)
    assert cost.frontend_macs_per_second == frontend
    assert cost.macs_per_second == frontend + encoder
    assert cost.parameters == build_model(config, Vocabulary.english()).count_params()
    tiny = model_cost(get_preset("tiny"))  # stride 2: kernels run at 50 frames/s, not 100
    assert tiny.frontend_macs_per_second == 257 * 40 * 100
