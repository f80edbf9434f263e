"""Fine-tuning: the first weights of a run come from a trained model (``--init``).

Three kinds (:class:`edgeasr.training.config.FinetuneConfig`):

- ``full``: every weight trains from the initial model's values; the optimizer state is
  fresh and the peak learning rate defaults lower (:data:`DEFAULT_LEARNING_RATES`).
- ``transfer``: layers matching ``--freeze`` patterns keep their values (batch norm in
  them runs in inference mode); ``--new-vocabulary`` replaces the classifier with a freshly
  initialised one for another alphabet and keeps every other weight (DeepSpeech's "drop
  source layers").
- ``lora``: Keras LoRA adapters on the Dense and convolution kernels, everything else frozen
  (:mod:`edgeasr.models.adapters.lora`, which says what stays frozen); checkpoints hold the
  merged kernels, so the exported model has the base model's size, ops and speed.

The initial model is a run folder (its ``best`` checkpoint) or one checkpoint folder,
including runs written by edgeasr 0.1. The fine-tuning options travel in run.json
(``train.finetune``), so ``--resume`` rebuilds the same frozen layers or adapters before it
loads the checkpoint; the initial model is not needed again.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path

from edgeasr.errors import ConfigError, RunError
from edgeasr.models.adapters.lora import (
    adapter_variables,
    base_parameter_count,
    enable_lora,
    has_lora,
    restart_adapters,
)
from edgeasr.models.adapters.naming import copy_weights, match_layers, parameter_count
from edgeasr.models.config import ModelConfig
from edgeasr.runs import RunDirectory, RunInfo, build_model, load_model, restore_checkpoint
from edgeasr.text.languages import LANGUAGES, get_language
from edgeasr.training.config import FinetuneConfig
from edgeasr_device.vocab import BLANK, Vocabulary

__all__ = ["DEFAULT_LEARNING_RATES", "FinetuneStart", "apply_kind", "load_init",
           "parameter_summary", "read_vocabulary_file", "resolve_vocabulary", "start_model"]

#: Peak learning rate of each kind when neither --lr nor the config sets one (from scratch
#: the default is 2e-3): full fine-tuning moves trained weights less far.
DEFAULT_LEARNING_RATES = {"full": 4e-4, "transfer": 1e-3, "lora": 2e-3}
CLASSIFIER = "classifier"


@dataclass
class FinetuneStart:
    """A fine-tuning run's first model (weights copied, kinds applied) and what it is."""

    model: object  # CTCModel
    config: ModelConfig
    vocabulary: Vocabulary
    init_info: RunInfo
    finetune: FinetuneConfig  # resolved: kind filled in, init an absolute path


def read_vocabulary_file(path: str | os.PathLike) -> Vocabulary:
    """One token per line (``<space>`` or a line holding one space is the space); the blank
    is ``<blank>`` where listed, else it is added as class 0.

    Raises:
        ConfigError: the file cannot be read or lists no tokens.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"--new-vocabulary {path}: cannot be read ({err})") from err
    tokens = [" " if line in (" ", "<space>") else line.strip() for line in lines]
    tokens = [t for t in tokens if t]
    if not tokens:
        raise ConfigError(f"--new-vocabulary {path}: lists no tokens (one per line)")
    if BLANK not in tokens:
        tokens = [BLANK, *tokens]
    return Vocabulary(tuple(tokens), tokens.index(BLANK))


def resolve_vocabulary(spec: str) -> Vocabulary:
    """A language code/name (``en``, ``fr``) or a vocabulary file -> the vocabulary."""
    if Path(spec).is_file():
        return read_vocabulary_file(spec)
    try:
        return get_language(spec).vocabulary()
    except ConfigError:
        raise ConfigError(f"--new-vocabulary {spec!r} is neither a file nor a language "
                          f"({', '.join(LANGUAGES)})") from None


def load_init(source: str | os.PathLike):
    """(model, RunInfo) of the initial model: a run folder (its best checkpoint) or a
    checkpoint folder (``RUN/checkpoints/NAME``, with or without its own run.json).

    Raises:
        RunError: ``source`` is neither.
    """
    path = Path(source)
    if (path / "model.weights.h5").is_file():
        info_dir = path if (path / "run.json").is_file() else path.parent.parent
        info = RunDirectory(info_dir).read_info()
        model = build_model(info.model, info.vocabulary)
        restore_checkpoint(model, path, with_optimizer=False)
        return model, info
    if (path / "run.json").is_file():
        return load_model(path, "best")
    raise RunError(f"--init {source}: not a training run (no run.json) nor a checkpoint "
                   "folder (no model.weights.h5); pass a run's --out folder or "
                   "RUN/checkpoints/NAME")


def apply_kind(model, finetune: FinetuneConfig, seed: int = 0) -> list[str]:
    """Freeze layers or add LoRA adapters as ``finetune`` (resolved) asks; the layer names
    frozen or adapted."""
    train_fully = (CLASSIFIER,) if finetune.new_vocabulary else ()
    if finetune.kind == "lora":
        return enable_lora(model, finetune.lora_rank, finetune.lora_alpha, train_fully, seed)
    if finetune.kind == "transfer" and finetune.freeze:
        frozen = match_layers(model, finetune.freeze)
        for name in train_fully:
            if name in frozen:
                raise ConfigError(f"--freeze matches {name!r}, which --new-vocabulary "
                                  "replaces and must train")
        for layer in frozen.values():
            layer.trainable = False
        return sorted(frozen)
    return []


def start_model(finetune: FinetuneConfig, seed: int = 0,
                overrides: ModelConfig | None = None) -> FinetuneStart:
    """Load ``finetune.init``, build the run's model from it and apply the kind.

    ``overrides``: a model config to use instead of the initial model's (same weight
    shapes required; e.g. other dropout or SpecAugment).
    """
    finetune = finetune.resolved()
    init_model, init_info = load_init(finetune.init)
    vocabulary = init_info.vocabulary
    skip: tuple[str, ...] = ()
    if finetune.new_vocabulary:
        vocabulary = resolve_vocabulary(finetune.new_vocabulary)
        skip = (CLASSIFIER,)
    config = (overrides or init_info.model).replace(vocab_size=vocabulary.size)
    model = build_model(config, vocabulary, seed=seed)
    copy_weights(init_model, model, skip=skip)
    apply_kind(model, finetune, seed)
    init = str(Path(finetune.init).resolve())
    vocab = finetune.new_vocabulary
    if vocab and Path(vocab).is_file():
        vocab = str(Path(vocab).resolve())
    return FinetuneStart(model, config, vocabulary, init_info,
                         dataclasses.replace(finetune, init=init, new_vocabulary=vocab))


def resume_model(info: RunInfo, finetune: FinetuneConfig, seed: int = 0):
    """A resumed fine-tuning run's model before its checkpoint loads: the same frozen
    layers or adapters as when it started (no initial weights needed)."""
    model = build_model(info.model, info.vocabulary, seed=seed)
    apply_kind(model, finetune.resolved(), seed)
    return model


def after_restore(model, seed: int = 0) -> None:
    """What a checkpoint load leaves to do: LoRA layers load merged with A = B = 0."""
    if has_lora(model):
        restart_adapters(model, seed)


def parameter_summary(model) -> str:
    """``trainable N of M parameters`` (and, with LoRA, the exported model's count)."""
    total = parameter_count(model.weights)
    trainable = parameter_count(model.trainable_weights)
    text = f"{trainable:,} trainable of {total:,} parameters ({100 * trainable / total:.1f}%)"
    if adapter_variables(model):
        text += f"; exported model (adapters merged): {base_parameter_count(model):,}"
    return text
