"""Training options, saved in the run directory beside the model config.

``TrainConfig`` holds what a whole run shares (epochs, seed) and one section per concern::

    train:
      epochs: 25
      seed: 0
      optim:      {learning_rate: 0.003, warmup_epochs: 1, min_learning_rate_fraction: 0.05,
                   weight_decay: 0.001, clip_norm: 5.0}
      data:       {batch_size: 16, max_batch_seconds: null, repeat: 1, workers: 4,
                   loader_workers: 1, cache_dir: null, augment: null, strict: false}
      checkpoint: {keep: 3, every_minutes: 10, every_steps: 0, stop_at_dev_wer: null}
      finetune:   {init: null, kind: null, freeze: [], lora_rank: 0, lora_alpha: null,
                   new_vocabulary: null}

Extension point: a new concern (fine-tuning, distribution, mixed precision) is a new frozen
dataclass and one more field here with a default. Missing sections take their defaults, so
every run.json written before keeps loading, and ``TrainConfig.from_dict`` refuses unknown
keys, so a misspelt section is an error rather than an ignored option.

edgeasr 0.1 wrote the options flat (``learning_rate: ...``, ``keep_checkpoints: ...``); flat keys
are sorted into their sections by :data:`FLAT_KEYS`, in YAML files, in run.json and as keyword
arguments (``TrainConfig(epochs=3, batch_size=4)``), with the same values.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from edgeasr.configs import dataclass_from_dict
from edgeasr.errors import ConfigError


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then cosine decay to a floor (see ``training/schedule.py``)."""

    learning_rate: float = 2e-3  # the peak, reached after warm-up
    warmup_epochs: float = 1.0
    min_learning_rate_fraction: float = 0.05  # cosine decay ends at this fraction of the peak
    weight_decay: float = 1e-3
    clip_norm: float = 5.0  # global gradient-norm clipping


@dataclass(frozen=True)
class DataConfig:
    """How utterances become batches."""

    batch_size: int = 16
    max_batch_seconds: float | None = None  # cap on padded audio seconds per batch
    repeat: int = 1  # passes over the training set per epoch (for tiny sets)
    workers: int = 4  # threads that decode audio into the shard cache
    loader_workers: int = 1  # processes that assemble (and augment) batches
    cache_dir: str | None = None  # shard cache root; default $EDGEASR_CACHE or ~/.cache/edgeasr
    augment: str | dict | None = None  # None/"none", "default", or AugmentConfig fields
    strict: bool = False  # a bad manifest line is fatal instead of skipped
    language: str | None = None  # text normaliser (en, fr); None: the vocabulary's language


@dataclass(frozen=True)
class CheckpointConfig:
    """What is kept, how often mid-epoch checkpoints are written, when to stop early."""

    keep: int = 3  # epoch checkpoints kept besides the best
    every_minutes: float = 10.0  # mid-epoch checkpoints, for resuming long epochs
    every_steps: int = 0  # the same by step count (0: off)
    stop_at_dev_wer: float | None = None  # end training early once dev WER <= this


FINETUNE_KINDS = ("full", "transfer", "lora")


@dataclass(frozen=True)
class FinetuneConfig:
    """Start from a trained model instead of random weights (see ``training/finetune.py``).

    ``kind``: ``full`` (every weight trains, fresh optimizer state), ``transfer`` (layers
    matching ``freeze`` stay fixed; ``new_vocabulary`` replaces the classifier for another
    alphabet), ``lora`` (rank-``lora_rank`` adapters, all else frozen). None: inferred from
    the other options. ``init`` None: no fine-tuning (a run from scratch).
    """

    init: str | None = None  # run folder or checkpoint folder the weights come from
    kind: str | None = None
    freeze: tuple[str, ...] = ()  # glob patterns over layer names (`edgeasr models --layers`)
    lora_rank: int = 0
    lora_alpha: float | None = None  # LoRA scale alpha / rank; None: alpha = rank
    new_vocabulary: str | None = None  # "en", "fr" or a file with one token per line

    def resolved(self) -> FinetuneConfig:
        """A copy with ``kind`` filled in; ConfigError for options that do not go together."""
        if self.init is None:
            if self.kind or self.freeze or self.lora_rank or self.new_vocabulary:
                raise ConfigError("train.finetune: freeze, lora, kind and new_vocabulary "
                                  "need an initial model (--init RUN_OR_CHECKPOINT)")
            return self
        kind = self.kind or ("lora" if self.lora_rank else
                             "transfer" if self.freeze or self.new_vocabulary else "full")
        if kind not in FINETUNE_KINDS:
            raise ConfigError(f"train.finetune.kind {kind!r}: choose one of {FINETUNE_KINDS}")
        if (kind == "lora") != bool(self.lora_rank):
            raise ConfigError("train.finetune: kind lora goes with a lora_rank (--lora RANK) "
                              "and a lora_rank with kind lora")
        if kind == "full" and (self.freeze or self.new_vocabulary):
            raise ConfigError("train.finetune: kind full trains every weight; freeze or "
                              "new_vocabulary make it a transfer")
        if kind == "lora" and self.freeze:
            raise ConfigError("train.finetune: LoRA already freezes every base weight; "
                              "leave out --freeze")
        if kind == "transfer" and not (self.freeze or self.new_vocabulary):
            raise ConfigError("train.finetune: kind transfer needs --freeze PATTERN and/or "
                              "--new-vocabulary")
        return dataclasses.replace(self, kind=kind)


_SECTIONS: dict[str, type] = {"optim": OptimConfig, "data": DataConfig,
                              "checkpoint": CheckpointConfig, "finetune": FinetuneConfig}

# edgeasr 0.1's flat option -> (section, option).
FLAT_KEYS: dict[str, tuple[str, str]] = {
    **{name: ("optim", name) for name in ("learning_rate", "warmup_epochs",
                                          "min_learning_rate_fraction", "weight_decay",
                                          "clip_norm")},
    **{name: ("data", name) for name in ("batch_size", "max_batch_seconds", "repeat", "workers",
                                         "loader_workers", "cache_dir", "augment", "strict")},
    "keep_checkpoints": ("checkpoint", "keep"),
    "checkpoint_every_minutes": ("checkpoint", "every_minutes"),
    "checkpoint_every_steps": ("checkpoint", "every_steps"),
    "stop_at_dev_wer": ("checkpoint", "stop_at_dev_wer"),
}


@dataclass(frozen=True, init=False)
class TrainConfig:
    """All options of one training run; see the module docstring for the layout."""

    epochs: int = 20
    seed: int = 0
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    def __init__(self, epochs: int = 20, seed: int = 0, optim: OptimConfig | None = None,
                 data: DataConfig | None = None, checkpoint: CheckpointConfig | None = None,
                 finetune: FinetuneConfig | None = None, **flat: Any):
        """Sections as dataclasses, and/or 0.1's flat options as keywords (``batch_size=4``)."""
        sections = _sort_flat(flat, {"optim": optim, "data": data, "checkpoint": checkpoint,
                                     "finetune": finetune})
        object.__setattr__(self, "epochs", epochs)
        object.__setattr__(self, "seed", seed)
        for name, value in sections.items():
            object.__setattr__(self, name, value)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "train") -> TrainConfig:
        """Sectioned or 0.1's flat layout (or a mix) -> a config.

        Raises:
            ConfigError: unknown options (named with ``where``), or an option given twice.
        """
        if data is not None and not isinstance(data, Mapping):
            raise ConfigError(f"{where}: expected a mapping of options, got {data!r}")
        data = dict(data or {})
        flat = {key: data.pop(key) for key in list(data) if key in FLAT_KEYS}
        unknown = sorted(set(data) - {"epochs", "seed", *_SECTIONS})
        if unknown:
            raise ConfigError(f"{where}: unknown option(s) {unknown}; known: {_known_options()}")
        for name, (section, option) in ((k, FLAT_KEYS[k]) for k in flat):
            given = data.get(section)
            if isinstance(given, Mapping) and option in given:
                raise ConfigError(f"{where}: {name!r} and {section}.{option} both given; keep one")
            if given is not None and not isinstance(given, Mapping):
                raise ConfigError(f"{where}.{section}: expected a mapping, got {given!r}")
            data[section] = {**(given or {}), option: flat[name]}
        return dataclass_from_dict(cls, data, where)

    def replace(self, **changes: Any) -> TrainConfig:
        """Copy with the options that are not None changed; flat names (``batch_size``) and
        sections (``optim=OptimConfig(...)``) both work."""
        changes = {k: v for k, v in changes.items() if v is not None}
        top = {k: changes.pop(k) for k in list(changes) if k in ("epochs", "seed", *_SECTIONS)}
        sections = {name: getattr(self, name) for name in _SECTIONS}
        sections.update({k: top.pop(k) for k in list(top) if k in _SECTIONS})
        return TrainConfig(epochs=top.get("epochs", self.epochs), seed=top.get("seed", self.seed),
                           **sections, **changes)


def _sort_flat(flat: Mapping[str, Any], sections: dict[str, Any]) -> dict[str, Any]:
    """Fill ``sections`` (None: defaults) with flat 0.1 options; every section built."""
    unknown = sorted(set(flat) - set(FLAT_KEYS))
    if unknown:
        raise ConfigError(f"train: unknown option(s) {unknown}; known: {_known_options()}")
    changes: dict[str, dict[str, Any]] = {}
    for name, value in flat.items():
        section, option = FLAT_KEYS[name]
        changes.setdefault(section, {})[option] = value
    built = {}
    for name, cls in _SECTIONS.items():
        value = sections[name]
        if value is None:
            value = cls()
        elif not isinstance(value, cls):
            value = dataclass_from_dict(cls, value, f"train.{name}")
        if name in changes:
            try:
                value = dataclasses.replace(value, **changes[name])
            except TypeError as err:
                raise ConfigError(f"train.{name}: {err}") from err
        built[name] = value
    return built


def _known_options() -> str:
    sections = "; ".join(f"{name}: {', '.join(f.name for f in dataclasses.fields(cls))}"
                         for name, cls in _SECTIONS.items())
    return f"epochs, seed; {sections}"
