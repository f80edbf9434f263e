"""One way to read configuration: YAML files and plain dicts -> frozen dataclasses.

Every config in edgeasr is a frozen dataclass that round-trips through ``to_dict`` /
``from_dict`` and travels inside run folders and exported models. This module holds the
pieces they all share:

- :func:`read_yaml`: a YAML file -> a mapping, with errors that name the file;
- :func:`dataclass_from_dict`: a mapping -> a dataclass, nested dataclass fields built from
  nested mappings, lists turned into tuples where the field is a tuple, unknown keys refused
  with the list of known ones;
- :func:`load_config`: the YAML file users pass to ``--config`` -> a :class:`ConfigFile`
  with its sections (:data:`SECTIONS`) checked, unknown ones refused naming the file.

Each section's contents become a typed config where the type lives, with the file named in
every error: ``TrainConfig.from_dict(cf.train, cf.where("train"))``,
``edgeasr.models.presets.model_config(cf.preset, cf.model, cf.where("model"))``,
``AugmentConfig.from_dict(cf.augment)``.
This module sits below models, training and data (they all import it), so it names their
sections without importing them.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from edgeasr.errors import ConfigError

T = TypeVar("T")

__all__ = ["SECTIONS", "ConfigError", "ConfigFile", "dataclass_from_dict", "load_config",
           "read_yaml"]

# The top-level sections of a --config file and what reads each.
SECTIONS: dict[str, str] = {
    "preset": "model preset name, see `edgeasr presets`",
    "model": "overrides of the preset's fields",
    "train": "`edgeasr train` options",
    "augment": "waveform augmentation for `edgeasr augment`",
    "corpus": "`edgeasr prepare` corpus options",
    "preprocess": "`edgeasr prepare --preprocess` audio options",
}


@dataclass(frozen=True)
class ConfigFile:
    """The sections of one ``--config`` YAML file (None: the section is absent).

    ``preset`` is a name; every other section is a mapping, turned into its typed config by
    the command that reads it (see the module docstring).
    """

    path: Path | None = None
    preset: str | None = None
    model: Mapping[str, Any] | None = None
    train: Mapping[str, Any] | None = None
    augment: Mapping[str, Any] | None = None
    corpus: Mapping[str, Any] | None = None
    preprocess: Mapping[str, Any] | None = None

    def where(self, section: str) -> str:
        """``"FILE: section"``, the prefix for errors about that section."""
        return section if self.path is None else f"{self.path}: {section}"

    def given(self) -> tuple[str, ...]:
        """The sections this file has."""
        return tuple(name for name in SECTIONS if getattr(self, name) is not None)


def load_config(path: str | os.PathLike | None) -> ConfigFile:
    """Read a ``--config`` file (``None``: an empty config).

    Raises:
        ConfigError: naming the file, for unreadable YAML, unknown sections (listing
            :data:`SECTIONS`), a ``preset`` that is not a name, or a section that is not a
            mapping.
    """
    if path is None:
        return ConfigFile()
    data = read_yaml(path, allowed=SECTIONS)
    path = Path(path)
    preset = data.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise ConfigError(f"{path}: preset: expected a preset name, got {preset!r}")
    for name, holds in SECTIONS.items():
        value = data.get(name)
        if name != "preset" and value is not None and not isinstance(value, Mapping):
            raise ConfigError(f"{path}: {name}: expected a mapping ({holds}), "
                              f"got {type(value).__name__} {value!r}")
    return ConfigFile(path=path, **{name: data.get(name) for name in SECTIONS})


def read_yaml(path: str | os.PathLike, allowed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The top-level mapping of a YAML file (``{}`` for an empty file).

    Args:
        path: the file.
        allowed: if given, ``{key: what it holds}``; any other top-level key is refused with
            this list in the message.

    Raises:
        ConfigError: naming the file when it is missing, not YAML, not a mapping, holds
            values that are not plain data, or has keys outside ``allowed``.
    """
    import yaml

    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except UnicodeDecodeError as err:
        raise ConfigError(f"{path} is not UTF-8 text ({err})") from None
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML: {err}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of sections at the top, got "
                          f"{type(data).__name__}")
    if allowed is not None:
        unknown = sorted(set(data) - set(allowed))
        if unknown:
            known = ", ".join(f"{k} ({v})" for k, v in allowed.items())
            raise ConfigError(f"{path}: unknown top-level key(s) {unknown}; use {known}")
    return data


def dataclass_from_dict(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; fields missing from ``data`` keep their defaults.

    Nested dataclass fields accept mappings (recursively), tuple fields accept lists, and
    ``where`` (e.g. ``"train.optim"``) prefixes every error message.

    Raises:
        ConfigError: for a non-mapping, unknown keys (listing the known ones), or values the
            dataclass refuses (its ``TypeError``/``ValueError`` is reported).
    """
    label = where or cls.__name__
    if data is None:
        data = {}
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{label}: expected a mapping of options, got {type(data).__name__} "
                          f"{data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(f"{label}: unknown option(s) {unknown}; known: {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    values = {}
    for key, value in data.items():
        hint = hints.get(key)
        nested = _dataclass_in(hint)
        if nested is not None and isinstance(value, Mapping):
            value = dataclass_from_dict(nested, value, f"{label}.{key}")
        elif isinstance(value, list) and _is_tuple(hint):
            value = tuple(value)
        values[key] = value
    try:
        return cls(**values)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{label}: {err}") from err


def _dataclass_in(hint: Any) -> type | None:
    """The dataclass a field holds (``X`` or ``X | None``), else None."""
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return hint
    for arg in typing.get_args(hint):
        if dataclasses.is_dataclass(arg) and isinstance(arg, type):
            return arg
    return None


def _is_tuple(hint: Any) -> bool:
    if hint is tuple or typing.get_origin(hint) is tuple:
        return True
    return any(_is_tuple(arg) for arg in typing.get_args(hint) if arg is not type(None))
