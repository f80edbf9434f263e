"""Errors of the training side. Each one means "this input is not usable" and says what to do.

All derive from :class:`edgeasr_device.errors.EdgeAsrError`, the one type the CLIs show as a
clear line (exit status 1); anything else is a bug and shows its traceback.
"""

from __future__ import annotations

from edgeasr_device.errors import EdgeAsrError

__all__ = ["ConfigError", "DataError", "EdgeAsrError", "RunError", "TrainingError"]


class ConfigError(EdgeAsrError, ValueError):
    """A config file, preset name or option value cannot be used."""


class DataError(EdgeAsrError, ValueError):
    """A manifest, corpus or audio set cannot be used for training or evaluation."""


class RunError(EdgeAsrError):
    """A run directory is missing, incomplete, or from an incompatible version."""


class TrainingError(EdgeAsrError):
    """Training cannot start or continue with the data and options given."""
