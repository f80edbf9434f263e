"""One way to read configuration: YAML files and plain dicts -> frozen dataclasses.

Every config in edgeasr is a frozen dataclass that round-trips through ``to_dict`` /
``from_dict`` and travels inside run folders and exported models. This module holds the two
pieces they all share:

- :func:`read_yaml`: a YAML file -> a mapping, with errors that name the file;
- :func:`dataclass_from_dict`: a mapping -> a dataclass, nested dataclass fields built from
  nested mappings, lists turned into tuples where the field is a tuple, unknown keys refused
  with the list of known ones.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from edgeasr.errors import ConfigError

T = TypeVar("T")

__all__ = ["ConfigError", "dataclass_from_dict", "read_yaml"]


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
