"""A synthetic TTS corpus (:mod:`edgeasr.synth`), configured by a recipe YAML.

``--config recipes/synthetic/config.yaml`` holds
:class:`~edgeasr.synth.corpus_config.SyntheticCorpusConfig` fields under ``corpus:`` (its
other sections, ``preset``/``model``/``train``, are for ``edgeasr train``); without
``--config`` the defaults are built. ``--workers`` processes synthesise. No ``--src``.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgeasr.configs import read_yaml
from edgeasr.errors import ConfigError

__all__ = ["build"]


def build(src: str | os.PathLike | None, out_dir: str | os.PathLike,
          config_path: str | os.PathLike | None = None, workers: int = 2) -> dict[str, Path]:
    """Synthesise the corpus into ``out_dir``; ``{split: manifest}`` (see ``edgeasr.synth.corpus``).

    Raises:
        ConfigError: the YAML or its ``corpus:`` section cannot be used (naming the file).
    """
    from edgeasr.synth.corpus import build_synthetic_corpus
    from edgeasr.synth.corpus_config import SyntheticCorpusConfig

    options = None
    if config_path is not None:
        options = read_yaml(config_path).get("corpus")
    try:
        config = SyntheticCorpusConfig.from_dict(options)
    except ConfigError as err:
        where = "" if config_path is None else f"{config_path}: "
        raise ConfigError(f"{where}{err}") from None
    return build_synthetic_corpus(config, out_dir, workers=workers)
