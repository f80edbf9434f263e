"""`edgeasr lm build`: a word n-gram language model for beam search, from training text.

A thin wrapper over the device package's builder (interpolated modified Kneser-Ney, no native
tools): the only difference from `edgeasr-device lm build` is the text normalisation, which
here is the one used for training transcripts, so the LM's words are spelled as the model
writes them.
"""

from __future__ import annotations

import click

from edgeasr.cli.common import friendly_errors


@click.group()
def cli() -> None:
    pass


@cli.group("lm")
def lm() -> None:
    """Word n-gram language models for beam search (`--lm` of evaluate and transcribe)."""


@lm.command("build")
@click.option("--text", "texts", required=True, multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Text, one sentence per line, or a .jsonl manifest (its \"text\" fields); "
                   "repeatable. Use training text only, never the test sets'.")
@click.option("--order", default=3, show_default=True, type=click.IntRange(1, 9),
              help="Longest n-gram.")
@click.option("--min-count", default="1", show_default=True,
              help="Keep n-grams (orders >= 2) seen at least this often; one number or one "
                   "per order, e.g. 1,1,2.")
@click.option("--max-vocab", type=click.IntRange(min=1), default=None,
              help="Keep this many most frequent words; the rest become <unk>.")
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="ARPA file to write (.gz: compressed; .bin: the compiled form).")
@friendly_errors
def build(texts, order, min_count, max_vocab, out) -> None:
    """Build an n-gram LM (interpolated modified Kneser-Ney) from normalised text."""
    from edgeasr.text.normalize import normalize_english
    from edgeasr_device.cli_lm import read_sentences, write_lm

    write_lm(read_sentences(texts, normalize_english), order, min_count, max_vocab, out)
