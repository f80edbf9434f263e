"""Stable names for the layers of a model: the attribute path from the model down.

Keras names layers with a process-wide counter (``batch_normalization_7``), so the same
architecture built twice has different ``layer.path``\\ s. Fine-tuning needs names that are
the same in every build: a layer is named by the attributes that lead to it, list items by
their index::

    frontend  specaugment  encoder  encoder/input_norm  encoder/prologue
    encoder/blocks/0  encoder/blocks/0/convs/0  ...  encoder/epilogue  classifier

Keras' ``MultiHeadAttention`` (and subclasses such as the conformer's relative-position
attention) keeps its four projections in private attributes; they are named ``query``,
``key``, ``value`` and ``output`` below the attention layer, so ``--freeze`` and ``--lora``
reach them like any Dense layer.

``--freeze`` patterns (:func:`match_layers`) and the weight copy between two builds
(:func:`copy_weights`) use these names; ``edgeasr models --layers PRESET`` lists them.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence

import keras
import numpy as np

from edgeasr.errors import ConfigError

__all__ = ["copy_weights", "leaf_layers", "match_layers", "named_layers", "owned_weights",
           "parameter_count"]

#: Public names of ``MultiHeadAttention``'s projection layers (private attributes in Keras).
ATTENTION_PROJECTIONS = {"query": "_query_dense", "key": "_key_dense", "value": "_value_dense",
                         "output": "_output_dense"}


def _children(layer: keras.layers.Layer) -> list[tuple[str, object]]:
    """(name, value) of the public attributes, plus an attention layer's projections."""
    items = [(k, v) for k, v in vars(layer).items() if not k.startswith("_")]
    if isinstance(layer, keras.layers.MultiHeadAttention):
        items += [(name, getattr(layer, private, None))
                  for name, private in ATTENTION_PROJECTIONS.items()]
    return items


def named_layers(model: keras.layers.Layer) -> dict[str, keras.layers.Layer]:
    """Name -> layer for every layer below ``model`` with weights or sublayers, parents first."""
    found: dict[str, keras.layers.Layer] = {}
    seen: set[int] = {id(model)}

    def visit(layer: keras.layers.Layer, prefix: str) -> None:
        for attribute, value in _children(layer):
            items = [(attribute, value)]
            if isinstance(value, (list, tuple)):
                items = [(f"{attribute}/{i}", item) for i, item in enumerate(value)]
            for name, child in items:
                if not isinstance(child, keras.layers.Layer) or id(child) in seen:
                    continue
                seen.add(id(child))
                if child.weights or _has_sublayers(child):
                    found[prefix + name] = child
                visit(child, f"{prefix}{name}/")

    visit(model, "")
    return found


def _has_sublayers(layer: keras.layers.Layer) -> bool:
    return any(isinstance(v, keras.layers.Layer) or (isinstance(v, (list, tuple)) and any(
        isinstance(i, keras.layers.Layer) for i in v)) for _, v in _children(layer))


def leaf_layers(model: keras.layers.Layer) -> dict[str, keras.layers.Layer]:
    """The named layers that own weights directly (no named sublayers below them)."""
    named = named_layers(model)
    return {name: layer for name, layer in named.items()
            if layer.weights and not any(other.startswith(name + "/") for other in named)}


def owned_weights(model: keras.layers.Layer) -> dict[str, list]:
    """Name -> the weights a named layer holds itself, not through a named sublayer, for
    every named layer that holds any: the leaves' weights, and those of a parent with weights
    of its own beside its sublayers (the conformer attention's position biases)."""
    named = named_layers(model)
    owned = {}
    for name, layer in named.items():
        below = {id(w) for other, sub in named.items() if other.startswith(name + "/")
                 for w in sub.weights}
        own = [w for w in layer.weights if id(w) not in below]
        if own:
            owned[name] = own
    return owned


def match_layers(model: keras.layers.Layer, patterns: Iterable[str]) -> dict[str, keras.layers.Layer]:
    """The named layers matching any glob pattern (``encoder/blocks/*``, ``frontend``).

    Raises:
        ConfigError: a pattern matches no layer (the message lists the top-level names).
    """
    named = named_layers(model)
    chosen: dict[str, keras.layers.Layer] = {}
    for pattern in patterns:
        hits = {name: layer for name, layer in named.items() if fnmatch.fnmatchcase(name, pattern)}
        if not hits:
            shown = ", ".join(n for n in named if n.count("/") <= 2)
            raise ConfigError(f"--freeze {pattern!r} matches no layer; layers include: {shown} "
                              "(all of them: `edgeasr models --layers PRESET`)")
        chosen.update(hits)
    return chosen


def parameter_count(variables: Sequence) -> int:
    """Number of scalars in ``variables``."""
    return int(sum(np.prod(v.shape) for v in variables))


def copy_weights(source: keras.layers.Layer, target: keras.layers.Layer,
                 skip: Sequence[str] = ()) -> list[str]:
    """Copy every named layer's own weights (:func:`owned_weights`) from ``source`` to the
    same-named layer of ``target``.

    ``skip``: names (and their sublayers) left as ``target`` has them (a new classifier).
    Returns the names copied.

    Raises:
        ConfigError: a layer is missing on one side or its weights have other shapes.
    """
    sources, targets = owned_weights(source), owned_weights(target)
    copied = []
    for name, weights in targets.items():
        if any(name == s or name.startswith(s + "/") for s in skip):
            continue
        other = sources.get(name)
        shapes = [tuple(w.shape) for w in weights]
        if other is None or [tuple(w.shape) for w in other] != shapes:
            found = None if other is None else [tuple(w.shape) for w in other]
            raise ConfigError(f"layer {name!r} does not fit the initial model's "
                              f"(weights {shapes} here, {found} there); fine-tune with the "
                              "initial model's architecture")
        for mine, theirs in zip(weights, other):
            mine.assign(theirs)
        copied.append(name)
    return copied
