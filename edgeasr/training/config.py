"""Training options, saved in the run directory beside the model config.

``TrainConfig`` holds what a whole run shares (epochs, seed) and one section per concern::

    train:
      epochs: 25
      seed: 0
      precision: float32       # or mixed_bfloat16, mixed_float16 (training/precision.py)
      optim:      {learning_rate: 0.003, warmup_epochs: 1, min_learning_rate_fraction: 0.05,
                   weight_decay: 0.001, clip_norm: 5.0,
                   schedule: cosine,          # or exponential (decay_rate per epoch), plateau
                   decay_rate: 0.9, plateau_factor: 0.5, plateau_patience: 2,
                   accumulate_steps: 1, ema: null, skip_nonfinite: true}
      data:       {batch_size: 16, max_batch_seconds: null, repeat: 1, workers: 4,
                   loader_workers: 1, cache_dir: null, augment: null, strict: false,
                   tokens: {kind: characters, size: 256, model_type: unigram}}
      checkpoint: {keep: 3, every_minutes: 10, every_steps: 0, stop_at_dev_wer: null}
      finetune:   {init: null, kind: null, freeze: [], lora_rank: 0, lora_alpha: null,
                   new_vocabulary: null}
      distribute: {kind: none, coordinator: null, num_processes: null, process_id: null}

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
from math import inf
from typing import Any

from edgeasr.configs import dataclass_from_dict
from edgeasr.errors import ConfigError

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")  # Keras dtype policies
SCHEDULES = ("cosine", "exponential", "plateau")


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up then a decay to a floor (``training/schedule.py``: cosine by
    default; exponential; or reduce-on-plateau of dev WER); optionally gradient accumulation,
    an EMA of the weights and the skipping of non-finite steps (``training/optimizer.py``)."""

    learning_rate: float = 2e-3  # the peak, reached after warm-up
    warmup_epochs: float = 1.0
    min_learning_rate_fraction: float = 0.05  # the decay ends at (never goes below) this x peak
    weight_decay: float = 1e-3
    clip_norm: float = 5.0  # global gradient-norm clipping
    schedule: str = "cosine"  # cosine | exponential | plateau
    decay_rate: float = 0.9  # exponential: the rate is multiplied by this every epoch
    plateau_factor: float = 0.5  # plateau: multiply the rate by this when dev WER stalls
    plateau_patience: int = 2  # plateau: epochs without a better dev WER before that
    accumulate_steps: int = 1  # batches whose mean gradient makes one update
    ema: float | None = None  # momentum of an average of the weights (e.g. 0.999), per update
    skip_nonfinite: bool = True  # a step with a NaN/Inf loss or gradient changes nothing

    def __post_init__(self) -> None:
        if not (isinstance(self.learning_rate, (int, float)) and 0.0 < self.learning_rate < inf):
            raise ConfigError(f"train.optim.learning_rate (--lr) must be a number above 0 such "
                              f"as 0.001, got {self.learning_rate!r}")
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"train.optim.schedule {self.schedule!r}: choose one of "
                              f"{', '.join(SCHEDULES)}")
        if not 0.0 < self.decay_rate <= 1.0:
            raise ConfigError(f"train.optim.decay_rate must be in (0, 1] (the factor per "
                              f"epoch), got {self.decay_rate!r}")
        if not 0.0 < self.plateau_factor < 1.0:
            raise ConfigError(f"train.optim.plateau_factor must be in (0, 1), got "
                              f"{self.plateau_factor!r}")
        for name in ("plateau_patience", "accumulate_steps"):
            value, least = getattr(self, name), 0 if name == "plateau_patience" else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"train.optim.{name} must be a whole number >= {least}, "
                                  f"got {value!r}")
        if self.ema is not None and not 0.0 < self.ema < 1.0:
            raise ConfigError(f"train.optim.ema must be a momentum in (0, 1) such as 0.999, "
                              f"or null for none, got {self.ema!r}")


TOKEN_KINDS = ("characters", "sentencepiece")


@dataclass(frozen=True)
class TokensConfig:
    """The model's output classes: the language's characters, or SentencePiece pieces
    trained on the normalised training transcripts of a fresh run (``edgeasr/text/subword.py``;
    saved as ``RUN/tokenizer.model``, reused on resume). ``size`` and ``model_type`` are for
    sentencepiece: pieces including ``<unk>`` (the model has one more class, the blank), and
    ``unigram`` or ``bpe``."""

    kind: str = "characters"
    size: int = 256
    model_type: str = "unigram"

    def __post_init__(self) -> None:
        if self.kind not in TOKEN_KINDS:
            raise ConfigError(f"train.data.tokens.kind {self.kind!r}: choose one of "
                              f"{', '.join(TOKEN_KINDS)}")
        if isinstance(self.size, bool) or not isinstance(self.size, int) or self.size < 2:
            raise ConfigError(f"train.data.tokens.size must be a whole number of pieces >= 2, "
                              f"got {self.size!r}")
        if self.model_type not in ("unigram", "bpe"):
            raise ConfigError(f"train.data.tokens.model_type {self.model_type!r}: choose "
                              "unigram or bpe")

    @classmethod
    def parse(cls, spec: str) -> TokensConfig:
        """``characters``, ``sentencepiece[:SIZE[:MODEL_TYPE]]`` (``--tokens``) -> a config."""
        kind, *rest = str(spec).split(":")
        if kind not in TOKEN_KINDS or len(rest) > 2 or (kind == "characters" and rest):
            raise ConfigError(f"--tokens {spec!r}: use characters or "
                              "sentencepiece[:SIZE[:unigram|bpe]], e.g. sentencepiece:256")
        if rest and not rest[0].isdigit():
            raise ConfigError(f"--tokens {spec!r}: SIZE must be a whole number of pieces")
        size = int(rest[0]) if rest else cls.size
        return cls(kind, size, *rest[1:])


@dataclass(frozen=True)
class DataConfig:
    """How utterances become batches (and transcripts labels: ``tokens``)."""

    batch_size: int = 16
    max_batch_seconds: float | None = None  # cap on padded audio seconds per batch
    repeat: int = 1  # passes over the training set per epoch (for tiny sets)
    workers: int = 4  # threads that decode audio into the shard cache
    loader_workers: int = 1  # processes that assemble (and augment) batches
    cache_dir: str | None = None  # shard cache root; default $EDGEASR_CACHE or ~/.cache/edgeasr
    augment: str | dict | None = None  # None/"none", "default", or AugmentConfig fields
    strict: bool = False  # a bad manifest line is fatal instead of skipped
    language: str | None = None  # text normaliser (en, fr); None: the vocabulary's language
    tokens: TokensConfig = field(default_factory=TokensConfig)  # characters or sentencepiece


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


DISTRIBUTE_KINDS = ("none", "data-parallel", "mirrored")
MULTI_WORKER_HINT = (
    "Keras 3 cannot train with TensorFlow's MultiWorkerMirroredStrategy "
    "(keras-team/keras#20585); train on several machines with the JAX backend: "
    "KERAS_BACKEND=jax edgeasr train --distribute data-parallel --coordinator HOST:PORT "
    "--num-processes N --process-id I")


@dataclass(frozen=True)
class DistributeConfig:
    """Where one run trains: one device, every local device, or several machines
    (``training/distribute.py``; the batch size stays the global one).

    ``kind``: ``none``; ``data-parallel`` (JAX: ``keras.distribution.DataParallel`` over every
    device of every process); ``mirrored`` (TensorFlow: ``tf.distribute.MirroredStrategy``
    over the local GPUs). ``coordinator`` (``HOST:PORT`` of process 0), ``num_processes`` and
    ``process_id`` start several JAX processes; None takes Keras' variables
    ``KERAS_DISTRIBUTION_JOB_ADDRESSES``, ``KERAS_DISTRIBUTION_NUM_PROCESSES`` and
    ``KERAS_DISTRIBUTION_PROCESS_ID``. They describe a launch, not the model: run.json keeps
    process 0's, and a resumed run uses those of its new launch.
    """

    kind: str = "none"
    coordinator: str | None = None
    num_processes: int | None = None
    process_id: int | None = None

    def __post_init__(self) -> None:
        if self.kind == "multi-worker":
            raise ConfigError(f"train.distribute.kind multi-worker: {MULTI_WORKER_HINT}")
        if self.kind not in DISTRIBUTE_KINDS:
            raise ConfigError(f"train.distribute.kind {self.kind!r} (--distribute): choose one "
                              f"of {', '.join(DISTRIBUTE_KINDS)}")
        for name in ("num_processes", "process_id"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < (1 if name == "num_processes" else 0)):
                raise ConfigError(f"train.distribute.{name} must be a whole number "
                                  f"{'>= 1' if name == 'num_processes' else '>= 0'}, "
                                  f"got {value!r}")
        if (self.num_processes is not None and self.process_id is not None
                and self.process_id >= self.num_processes):
            raise ConfigError(f"train.distribute: process_id {self.process_id} is not below "
                              f"num_processes {self.num_processes} (ids count from 0)")
        if self.coordinator is not None:
            host, _, port = str(self.coordinator).split(",")[0].rpartition(":")
            if not host or not port.isdigit():
                raise ConfigError(f"train.distribute.coordinator {self.coordinator!r} "
                                  "(--coordinator): give process 0's HOST:PORT, e.g. 10.0.0.1:1234")
        launch = (self.coordinator, self.num_processes, self.process_id)
        if self.kind == "mirrored" and any(v is not None for v in launch):
            raise ConfigError(f"--distribute mirrored runs on one machine. {MULTI_WORKER_HINT}")
        if self.kind == "none" and any(v is not None for v in launch):
            raise ConfigError("--coordinator, --num-processes and --process-id need "
                              "--distribute data-parallel (KERAS_BACKEND=jax)")


_SECTIONS: dict[str, type] = {"optim": OptimConfig, "data": DataConfig,
                              "checkpoint": CheckpointConfig, "finetune": FinetuneConfig,
                              "distribute": DistributeConfig}

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
    precision: str = "float32"  # a Keras dtype policy: float32, mixed_float16, mixed_bfloat16
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)
    checkpoint: CheckpointConfig = field(default_factory=CheckpointConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)
    distribute: DistributeConfig = field(default_factory=DistributeConfig)

    def __init__(self, epochs: int = 20, seed: int = 0, optim: OptimConfig | None = None,
                 data: DataConfig | None = None, checkpoint: CheckpointConfig | None = None,
                 finetune: FinetuneConfig | None = None,
                 distribute: DistributeConfig | None = None, precision: str = "float32",
                 **flat: Any):
        """Sections as dataclasses, and/or 0.1's flat options as keywords (``batch_size=4``)."""
        sections = _sort_flat(flat, {"optim": optim, "data": data, "checkpoint": checkpoint,
                                     "finetune": finetune, "distribute": distribute})
        if precision not in PRECISIONS:
            raise ConfigError(f"train.precision {precision!r}: choose one of "
                              f"{', '.join(PRECISIONS)}")
        if sections["optim"].ema is not None and sections["finetune"].lora_rank:
            raise ConfigError("train.optim.ema does not go with LoRA fine-tuning (its "
                              "checkpoints merge the adapters); leave out one of them")
        object.__setattr__(self, "epochs", epochs)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "precision", precision)
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
        unknown = sorted(set(data) - {"epochs", "seed", "precision", *_SECTIONS})
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
        top = {k: changes.pop(k) for k in list(changes)
               if k in ("epochs", "seed", "precision", *_SECTIONS)}
        sections = {name: getattr(self, name) for name in _SECTIONS}
        sections.update({k: top.pop(k) for k in list(top) if k in _SECTIONS})
        return TrainConfig(epochs=top.get("epochs", self.epochs), seed=top.get("seed", self.seed),
                           precision=top.get("precision", self.precision), **sections, **changes)


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
    return f"epochs, seed; {sections}; precision"
