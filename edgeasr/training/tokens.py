"""A run's output tokens: characters, or the SentencePiece tokenizer of a piece run.

A fresh run with ``train.data.tokens.kind: sentencepiece`` trains its tokenizer on the
normalised transcripts of its training manifest (:func:`fresh_tokenizer`) and keeps it as
``RUN/tokenizer.model``; resuming reads it back, and fine-tuning from a piece model takes the
initial run's (:func:`run_encoder`). The labels of the shard caches come from
:func:`run_encoder`.
"""

from __future__ import annotations

import os
from pathlib import Path

from edgeasr.data.manifest import read_manifest
from edgeasr.errors import ConfigError, RunError
from edgeasr.text.languages import get_language
from edgeasr.text.subword import (
    TOKENIZER_FILE,
    CharacterEncoder,
    Tokenizer,
    text_encoder,
    train_tokenizer,
)
from edgeasr.training.config import TrainConfig
from edgeasr_device.vocab import PIECES, Vocabulary

__all__ = ["find_tokenizer", "fresh_tokenizer", "run_encoder"]


def fresh_tokenizer(cfg: TrainConfig, train_manifest: str | os.PathLike,
                    vocabulary: Vocabulary | None = None) -> Tokenizer | None:
    """The tokenizer a fresh run (not fine-tuning) trains, or None for characters.

    Raises:
        ConfigError: sentencepiece with an explicit character ``vocabulary`` or with
            fine-tuning, or a size the transcripts do not allow.
    """
    tokens = cfg.data.tokens
    if tokens.kind != "sentencepiece":
        return None
    if cfg.finetune.init is not None:
        raise ConfigError("train.data.tokens: sentencepiece trains a new tokenizer, which "
                          "fine-tuning (--init) cannot use yet: fine-tuning a piece model "
                          "keeps its tokenizer; leave --tokens out")
    if vocabulary is not None:
        raise ConfigError("train.data.tokens: sentencepiece makes the vocabulary; do not "
                          "pass one as well")
    language = get_language(cfg.data.language or "en")
    texts = [language.normalize(u.text) for u in read_manifest(train_manifest)]
    return train_tokenizer(texts, tokens.size, tokens.model_type, seed=cfg.seed)


def find_tokenizer(source: str | os.PathLike) -> Path:
    """The tokenizer file of a run folder or of a checkpoint folder inside a run.

    Raises:
        RunError: neither has one.
    """
    path = Path(source)
    for candidate in (path / TOKENIZER_FILE, path.parent.parent / TOKENIZER_FILE):
        if candidate.is_file():
            return candidate
    raise RunError(f"{source} has a SentencePiece vocabulary but no {TOKENIZER_FILE} (it is "
                   "kept in the run folder beside run.json); restore it from the run")


def run_encoder(run_path: str | os.PathLike, vocabulary: Vocabulary,
                tokenizer: Tokenizer | None = None, init: str | None = None,
                write: bool = True) -> CharacterEncoder | Tokenizer:
    """What the run's labels are made with; saves a new tokenizer into the run.

    Args:
        run_path: the run folder.
        vocabulary: the run's vocabulary.
        tokenizer: one just trained (:func:`fresh_tokenizer`): written to
            ``RUN/tokenizer.model``. None: a piece run reads its own, or (fine-tuning a piece
            model, ``init`` given and the run has none yet) copies the initial run's.
        write: save the tokenizer (False in every process of a distributed run but the
            first: each trains the same bytes, SentencePiece being seeded and single-threaded,
            and only the first writes the run folder).
    """
    if vocabulary.kind != PIECES:
        return text_encoder(vocabulary)
    path = Path(run_path) / TOKENIZER_FILE
    if tokenizer is None:
        if not path.is_file() and init is not None:
            tokenizer = Tokenizer.load(find_tokenizer(init))
        else:
            return text_encoder(vocabulary, Tokenizer.load(find_tokenizer(run_path)))
    encoder = text_encoder(vocabulary, tokenizer)
    if write:
        tokenizer.save(path)
    return encoder
