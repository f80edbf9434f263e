"""LoRA fine-tuning on Keras' own adapters, and merging them back into plain kernels.

:func:`enable_lora` calls Keras' ``layer.enable_lora(rank)`` on every Dense and convolution
layer (Keras >= 3.3: ``Dense``, ``EinsumDense``, ``Conv1D``...; each freezes its kernel and
learns ``kernel + (alpha / rank) * A @ B`` with A (in, r) seeded He-uniform and B (r, out)
zero, so training starts from the base model's function). Everything else is frozen:

- biases, batch-norm scales and statistics (batch norm then runs in inference mode);
- LSTM/GRU kernels (``deepspeech``'s ``encoder/lstm``): Keras has no adapter for them and
  edgeasr adds none, so they stay frozen; the dense layers around them are adapted;
- separable convolutions (the ``conv`` encoder's ``encoder/blocks/N/convs/M``): Keras has
  no adapter for depthwise/separable kernels either, so they stay frozen; each block's
  1x1 residual convolution, the prologue, the epilogue and the classifier are adapted.

Layers named in ``train_fully`` (a classifier replaced for a new alphabet) stay fully
trainable without an adapter.

Merging: Keras writes a LoRA layer's *merged* kernel (``kernel + scale * A @ B``) when it
saves weights and leaves A, B out, so a LoRA run's checkpoints load into the plain model:
evaluation and export need nothing special, and the exported file has exactly the base
model's tensors, ops and speed. :func:`merge_lora` does the same for a model in memory.
Loading into a LoRA layer sets A = B = 0 (Keras); :func:`restart_adapters` then draws a
new A so training can go on (``--resume``): the function is the checkpoint's, the adapters
and their optimizer moments start again from there.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np

from edgeasr.errors import ConfigError
from edgeasr.models.adapters.naming import leaf_layers, owned_weights, parameter_count

__all__ = ["adapter_variables", "base_parameter_count", "enable_lora", "has_lora", "lora_layers", "lora_support",
           "merge_lora", "restart_adapters"]


def lora_support(layer: keras.layers.Layer) -> str:
    """``"lora"`` if Keras can put an adapter on ``layer``, else why not (for listings)."""
    if isinstance(layer, keras.layers.RNN) or any(k in type(layer).__name__ for k in ("LSTM", "GRU")):
        return "frozen: no LoRA for recurrent kernels"
    if "Separable" in type(layer).__name__ or "Depthwise" in type(layer).__name__:
        return "frozen: no LoRA for separable/depthwise kernels"
    if hasattr(layer, "enable_lora") and getattr(layer, "kernel_constraint", None) is None:
        return "lora"
    return "frozen" if layer.weights else "-"


def lora_layers(model: keras.layers.Layer) -> dict[str, keras.layers.Layer]:
    """Named leaf layers whose LoRA adapter is on."""
    return {n: l for n, l in leaf_layers(model).items() if getattr(l, "lora_enabled", False)}


def has_lora(model: keras.layers.Layer) -> bool:
    return bool(lora_layers(model))


def adapter_variables(model: keras.layers.Layer) -> list:
    """The A and B matrices of every adapter."""
    return [v for layer in lora_layers(model).values()
            for v in (layer.lora_kernel_a, layer.lora_kernel_b)]


def enable_lora(model: keras.layers.Layer, rank: int, alpha: float | None = None,
                train_fully: Sequence[str] = (), seed: int = 0) -> list[str]:
    """Adapters of rank ``rank`` on every layer that supports one, all else frozen.

    Returns the names of the adapted layers.

    Raises:
        ConfigError: ``rank`` < 1, or no layer can take an adapter.
    """
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise ConfigError(f"--lora needs a rank of 1 or more, got {rank!r}")
    def trained_fully(name: str) -> bool:
        return any(name == t or name.startswith(t + "/") for t in train_fully)

    adapted = []
    leaves = leaf_layers(model)
    for name, weights in owned_weights(model).items():  # a parent's own weights (biases)
        if name not in leaves and not trained_fully(name):
            for variable in weights:
                variable.trainable = False
    for index, (name, layer) in enumerate(leaves.items()):
        if trained_fully(name):
            continue
        if lora_support(layer) != "lora":
            layer.trainable = False
            continue
        layer.enable_lora(rank, lora_alpha=alpha,
                          a_initializer=keras.initializers.HeUniform(seed=seed + index))
        for variable in layer.weights:
            if variable is not layer.lora_kernel_a and variable is not layer.lora_kernel_b:
                variable.trainable = False
        adapted.append(name)
    if not adapted:
        raise ConfigError("this model has no layer LoRA can adapt (Dense or convolution)")
    return adapted


def restart_adapters(model: keras.layers.Layer, seed: int = 0) -> None:
    """After loading a checkpoint (merged kernels, A = B = 0): a fresh seeded A, B = 0, and
    zeroed optimizer moments for both, so the model computes the checkpoint's function."""
    names = set()
    for index, layer in enumerate(lora_layers(model).values()):
        a = layer.lora_kernel_a
        a.assign(keras.initializers.HeUniform(seed=seed + 1000 + index)(a.shape, a.dtype))
        layer.lora_kernel_b.assign(np.zeros(layer.lora_kernel_b.shape, "float32"))
        names.update(v.path.replace("/", "_") for v in (a, layer.lora_kernel_b))
    optimizer = getattr(model, "optimizer", None)
    for variable in getattr(optimizer, "variables", []) if optimizer is not None else []:
        if any(variable.path.endswith(f"{name}_momentum") or variable.path.endswith(
                f"{name}_velocity") for name in names):
            variable.assign(np.zeros(variable.shape, variable.dtype))


def merge_lora(model):
    """A plain copy of a ``CTCModel`` with every adapter merged into its kernel.

    Goes through Keras' own weight file (which stores merged kernels), so it is exactly what
    a checkpoint of the run holds. A model without adapters is returned as it is.
    """
    if not has_lora(model):
        return model
    from edgeasr.models.ctc_model import CTCModel

    plain = CTCModel(model.config, blank_index=model.blank_index).build_weights()
    with tempfile.TemporaryDirectory(prefix="edgeasr-merge-") as tmp:
        path = Path(tmp) / "merged.weights.h5"
        model.save_weights(path)
        with warnings.catch_warnings():  # the optimizer's variables, if any, are not wanted
            warnings.simplefilter("ignore")
            plain.load_weights(path)
    return plain


def base_parameter_count(model: keras.layers.Layer) -> int:
    """Parameters of the model without its adapters (what an export holds)."""
    return parameter_count(model.weights) - parameter_count(adapter_variables(model))
