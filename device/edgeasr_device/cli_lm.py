"""``edgeasr-device lm build | compile | info``: language models made and checked on the device."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

import click

from edgeasr_device.cli_options import friendly_errors

__all__ = ["lm", "read_sentences", "write_lm"]


@click.group()
def lm() -> None:
    """Word n-gram language models for beam search (--lm)."""


def read_sentences(paths, normalize) -> list[list[str]]:
    """Words of every non-empty line of ``paths`` (``.jsonl`` manifests: their ``text``
    fields), each line passed through ``normalize`` (str -> str) first."""
    import json

    sentences = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if str(path).endswith(".jsonl"):
                    if not line.strip():
                        continue
                    try:
                        line = json.loads(line)["text"]
                    except (ValueError, KeyError, TypeError) as err:
                        raise click.ClickException(f"{path}, line {number}: not a manifest "
                                                   f"row with a \"text\" field ({err})") from err
                words = normalize(line).split()
                if words:
                    sentences.append(words)
    return sentences


def write_lm(sentences, order: int, min_count: str, max_vocab: int | None, out: str) -> None:
    """Build with Kneser-Ney and write ARPA (or the compiled form when ``out`` ends in
    ``.bin``); prints a one-line summary."""
    from edgeasr_device.decoding.arpa import write_arpa
    from edgeasr_device.decoding.kneser_ney import build_lm
    from edgeasr_device.decoding.lm_file import save_lm
    from edgeasr_device.decoding.ngram import NgramModel

    try:
        counts = [int(v) for v in min_count.split(",")]
    except ValueError:
        raise click.BadParameter(f"{min_count!r} is not a number or a comma-separated list "
                                 "of numbers", param_hint="--min-count") from None
    started = time.perf_counter()
    entries = build_lm(sentences, order=order, min_counts=counts, max_vocab=max_vocab)
    if out.endswith(".bin"):
        save_lm(NgramModel.from_entries(entries, source=out), out)
    else:
        write_arpa(out, entries)
    sizes = ", ".join(f"{len(e.grams)} {e.order}-grams" for e in entries)
    words = sum(len(s) for s in sentences)
    click.echo(f"{out}: {sizes} from {len(sentences)} sentences ({words} words) in "
               f"{time.perf_counter() - started:.2f} s")


_ORDER = click.option("--order", default=3, show_default=True, type=click.IntRange(1, 9),
                      help="Longest n-gram.")
_MIN_COUNT = click.option("--min-count", default="1", show_default=True,
                          help="Keep n-grams (orders >= 2) seen at least this often; one "
                               "number or one per order, e.g. 1,1,2.")
_MAX_VOCAB = click.option("--max-vocab", type=click.IntRange(min=1), default=None,
                          help="Keep this many most frequent words; the rest become <unk>.")


@lm.command("build")
@click.option("--text", "texts", required=True, multiple=True,
              type=click.Path(exists=True, dir_okay=False),
              help="Sentences, one per line (or a .jsonl manifest); repeatable.")
@_ORDER
@_MIN_COUNT
@_MAX_VOCAB
@click.option("--out", required=True, type=click.Path(dir_okay=False),
              help="ARPA file to write (.gz: compressed; .bin: compiled instead).")
@friendly_errors
def build(texts, order, min_count, max_vocab, out) -> None:
    """Build an n-gram model from a sentence list (interpolated modified Kneser-Ney).

    Each line is lower-cased and punctuation other than apostrophes inside words is
    removed; write numbers as words.
    """
    from edgeasr_device.decoding.kneser_ney import simple_normalize

    write_lm(read_sentences(texts, simple_normalize), order, min_count, max_vocab, out)


@lm.command("compile")
@click.argument("arpa", type=click.Path(exists=True, dir_okay=False))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option("--lowercase", is_flag=True,
              help="Lower-case the words (an upper-case LM for a lower-case model).")
@friendly_errors
def compile_command(arpa: str, out: str, lowercase: bool) -> None:
    """Compile an ARPA file into the compact form that loads in milliseconds."""
    from edgeasr_device.decoding.lm_file import compile_lm

    started = time.perf_counter()
    model = compile_lm(arpa, out, lowercase=lowercase)
    click.echo(f"{out}: order {model.order}, {sum(model.counts)} n-grams "
               f"({', '.join(map(str, model.counts))}), {os.path.getsize(out) / 1e6:.1f} MB, "
               f"in {time.perf_counter() - started:.1f} s")


@lm.command("info")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--model", "model_path", type=click.Path(exists=True, dir_okay=False),
              help="Also check the words against this model's alphabet.")
@friendly_errors
def info(path: str, model_path: str | None) -> None:
    """Order, n-gram counts, load time and memory of a language model."""
    from edgeasr_device.decoding.lm_file import is_compiled, load_lm

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    model = load_lm(path, cache=False)
    seconds = time.perf_counter() - started
    grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    kind = "compiled" if is_compiled(path) else "ARPA"
    click.echo(f"{path}: {kind}, order {model.order}, {model.num_words} words, n-grams "
               f"{', '.join(map(str, model.counts))}; loaded in {1000 * seconds:.1f} ms, "
               f"peak memory +{grown / 1024:.1f} MB, arrays {model.nbytes / 1e6:.1f} MB")
    if model_path:
        from edgeasr_device.artifact import read_metadata
        from edgeasr_device.decoding.lm_scorer import NgramScorer

        scorer = NgramScorer(model, read_metadata(Path(model_path).read_bytes(),
                                                  source=model_path).vocabulary)
        click.echo(f"{scorer.skipped} word(s) use characters {model_path} cannot write"
                   + (f" (e.g. {', '.join(map(repr, scorer.skipped_examples))})"
                      if scorer.skipped else ""))
