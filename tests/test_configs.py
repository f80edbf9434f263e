"""The --config loader and the training config sections: layouts old and new, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgeasr.configs import SECTIONS, ConfigError, ConfigFile, load_config
from edgeasr.models.presets import get_preset, model_config
from edgeasr.training.config import (
    FLAT_KEYS,
    CheckpointConfig,
    DataConfig,
    OptimConfig,
    TrainConfig,
)

RECIPES = Path(__file__).resolve().parents[1] / "recipes"

# The recipes' train sections as edgeasr 0.1 wrote them (flat).
FLAT_RECIPES = {
    "fsdd": """preset: small
train:
  epochs: 25
  batch_size: 16
  learning_rate: 0.003
  warmup_epochs: 1
  augment: default
  loader_workers: 2
  seed: 0
""",
    "ldc93s1": """preset: tiny
train:
  epochs: 80
  batch_size: 8
  repeat: 8
  learning_rate: 0.003
  warmup_epochs: 2
  weight_decay: 0.0
  keep_checkpoints: 1
  seed: 0
""",
    "synthetic": """corpus: {num_train: 3000, num_dev: 150, num_test: 200, seed: 0}
preset: small
train:
  epochs: 8
  batch_size: 16
  learning_rate: 0.003
  warmup_epochs: 0.5
  weight_decay: 0.001
  seed: 0
""",
}


@pytest.mark.parametrize("recipe", sorted(FLAT_RECIPES))
def test_recipe_configs_load_in_both_layouts_with_the_same_values(recipe, tmp_path):
    new = load_config(RECIPES / recipe / "config.yaml")
    (tmp_path / "old.yaml").write_text(FLAT_RECIPES[recipe])
    old = load_config(tmp_path / "old.yaml")
    assert new.preset == old.preset and new.corpus == old.corpus
    new_train = TrainConfig.from_dict(new.train, new.where("train"))
    assert new_train == TrainConfig.from_dict(old.train, old.where("train"))
    assert model_config(new.preset, new.model) == get_preset(new.preset)


def test_every_flat_option_lands_in_its_section_with_its_value():
    flat = {"epochs": 7, "seed": 3, "learning_rate": 0.1, "warmup_epochs": 0.5,
            "min_learning_rate_fraction": 0.2, "weight_decay": 0.0, "clip_norm": 1.0,
            "batch_size": 2, "max_batch_seconds": 30.0, "repeat": 4, "workers": 2,
            "loader_workers": 3, "cache_dir": "/tmp/c", "augment": {"gain": "off"},
            "strict": True, "keep_checkpoints": 5, "checkpoint_every_minutes": 1.5,
            "checkpoint_every_steps": 9, "stop_at_dev_wer": 0.01}
    assert set(flat) == {"epochs", "seed", *FLAT_KEYS}
    config = TrainConfig.from_dict(flat)
    assert config == TrainConfig(
        epochs=7, seed=3,
        optim=OptimConfig(0.1, 0.5, 0.2, 0.0, 1.0),
        data=DataConfig(2, 30.0, 4, 2, 3, "/tmp/c", {"gain": "off"}, True),
        checkpoint=CheckpointConfig(5, 1.5, 9, 0.01),
    )
    assert TrainConfig(**flat) == config  # keyword arguments, the same way
    assert TrainConfig.from_dict(config.to_dict()) == config  # sectioned round trip
    assert config.to_dict()["checkpoint"] == {"keep": 5, "every_minutes": 1.5, "every_steps": 9,
                                              "stop_at_dev_wer": 0.01}


def test_train_config_replace_takes_flat_names_and_ignores_none():
    config = TrainConfig(epochs=3).replace(epochs=5, batch_size=2, learning_rate=None, strict=True)
    assert (config.epochs, config.data.batch_size, config.data.strict) == (5, 2, True)
    assert config.optim == OptimConfig()
    assert config.replace(optim=OptimConfig(learning_rate=1.0)).optim.learning_rate == 1.0


@pytest.mark.parametrize(("data", "message"), [
    ({"epoch": 3}, r"train: unknown option\(s\) \['epoch'\]; known: epochs, seed; optim: "),
    ({"optim": {"lr": 1}}, r"train.optim: unknown option\(s\) \['lr'\]"),
    ({"batch_size": 2, "data": {"batch_size": 3}}, "'batch_size' and data.batch_size both given"),
    ({"data": 3}, "train.data: expected a mapping"),
    ([1, 2], "train: expected a mapping"),
])
def test_bad_training_options_are_config_errors(data, message):
    with pytest.raises(ConfigError, match=message):
        TrainConfig.from_dict(data)


def test_load_config_sections_and_errors_name_the_file(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("preset: tiny\nmodel:\n  encoder: {channels: 32}\n"
                    "train:\n  optim: {learning_rate: 0.01}\n"
                    "augment: {gain: off}\npreprocess: {trim: true}\n")
    config = load_config(path)
    assert config.given() == ("preset", "model", "train", "augment", "preprocess")
    assert config.where("train") == f"{path}: train"
    assert model_config(config.preset, config.model).encoder.channels == 32
    assert load_config(None) == ConfigFile() and ConfigFile().where("train") == "train"
    cases = {
        "presets: tiny\n": r"c.yaml: unknown top-level key\(s\) \['presets'\]; use preset",
        "preset: [tiny]\n": "c.yaml: preset: expected a preset name",
        "train: 3\n": "c.yaml: train: expected a mapping",
        "train: [\n": "c.yaml is not valid YAML",
        "- a\n": "c.yaml: expected a mapping of sections",
    }
    for text, message in cases.items():
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    assert set(SECTIONS) == {"preset", "model", "train", "augment", "corpus", "preprocess"}


def test_section_errors_carry_the_file_name(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("train:\n  data: {batch_sise: 3}\n")
    config = load_config(path)
    with pytest.raises(ConfigError,
                       match=r"c.yaml: train.data: unknown option\(s\) \['batch_sise'\]"):
        TrainConfig.from_dict(config.train, config.where("train"))
    path.write_text("preset: tiny\nmodel:\n  encoder: {chanels: 3}\n")
    config = load_config(path)
    with pytest.raises(ConfigError,
                       match=r"c.yaml: model.encoder \(conv\): unknown option\(s\) \['chanels'\]"):
        model_config(config.preset, config.model, config.where("model"))
