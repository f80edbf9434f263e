"""Models that ship inside the package, by name: ``--model en-starter`` / ``Recognizer("en-starter")``.

``en-starter`` is the english-real recipe's int8 model (docs/starter-model.md: what it was
trained on, its licences, its dev figures and its limits). :func:`resolve_model` turns a
name into the packaged file and leaves any other value (a path) as it is.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from edgeasr_device.errors import ArtifactError

__all__ = ["DEFAULT_MODEL", "PACKAGED_MODELS", "packaged_model", "resolve_model"]

#: What ``edgeasr-device transcribe`` uses when no --model is given.
DEFAULT_MODEL = "en-starter"
#: Name -> file in this folder.
PACKAGED_MODELS: dict[str, str] = {"en-starter": "en-starter.tflite"}


def packaged_model(name: str) -> Path:
    """The file of the packaged model ``name``; ArtifactError if unknown or not installed."""
    if name not in PACKAGED_MODELS:
        raise ArtifactError(f"no packaged model named {name!r}; packaged: "
                            f"{', '.join(PACKAGED_MODELS)} (or pass a .tflite path)")
    path = Path(str(resources.files(__name__).joinpath(PACKAGED_MODELS[name])))
    if not path.is_file():
        raise ArtifactError(f"the packaged model {name!r} is missing from this install "
                            f"({path}); reinstall edgeasr-device or pass a .tflite path")
    return path


def resolve_model(model: str | os.PathLike) -> str | os.PathLike:
    """A packaged model's file for its name; any other value (a path) unchanged.

    A file that exists wins over a name, so a local ``en-starter`` file is still usable.
    """
    if isinstance(model, str) and model in PACKAGED_MODELS and not Path(model).exists():
        return str(packaged_model(model))
    return model
