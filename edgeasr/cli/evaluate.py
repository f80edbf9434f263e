"""`edgeasr evaluate | transcribe`: WER/CER/TER tables and transcripts for runs and .tflite
files."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import click

from edgeasr.cli.common import friendly_errors
from edgeasr_device.cli_options import decoding_options, margin_option, shown_warnings
from edgeasr_device.decoding import DecodingOptions


@click.group()
def cli() -> None:
    pass


@cli.command()
@click.option("--model", "models", required=True, multiple=True, type=click.Path(exists=True),
              help="A run folder or an exported .tflite file (repeat to compare models).")
@click.option("--manifest", "manifests", required=True, multiple=True,
              type=click.Path(exists=True, dir_okay=False), help="Test manifest (repeatable).")
@click.option("--report", "report_path", type=click.Path(dir_okay=False),
              help="Write per-utterance results as JSON.")
@click.option("--checkpoint", default="best", show_default=True, help="Run checkpoint: best, last or a name.")
@click.option("--threads", default=1, show_default=True, help="Interpreter threads (.tflite).")
@click.option("--max-wer", type=float, help="Exit with status 1 if any WER is above this (0.10 = 10%).")
@click.option("--compare", is_flag=True,
              help="Also decode greedily (and, with --lm, by beam search without it): one "
                   "table row per decoding.")
@margin_option
@decoding_options
@friendly_errors
def evaluate(models, manifests, report_path, checkpoint, threads, max_wer, compare, margin,
             decoding: DecodingOptions) -> None:
    """WER, CER and TER (jiwer) of models on manifests; a table when there are several.

    TER is the token error rate over the model's own tokens (characters, spaces included, or
    its SentencePiece pieces). Greedy decoding unless a beam flag is given (--beam-width,
    --nbest, --lm, --hotword).
    """
    from edgeasr.evaluation.evaluate import evaluate as run_evaluation
    from edgeasr.files import atomic_write_json

    decodings = compared_decodings(decoding) if compare else [decoding]
    with shown_warnings():
        reports = [run_evaluation(m, t, checkpoint=checkpoint, threads=threads, options=o,
                                  margin=margin)
                   for o in decodings for m in models for t in manifests]
    if len(reports) == 1:
        r = reports[0].rates
        click.echo(f"WER {100 * r.wer:.2f}%  CER {100 * r.cer:.2f}%  TER {percent(r.ter)}  "
                   f"({r.utterances} utterances, {r.words} words, {r.exact} exact)")
    else:
        for line in results_table(reports):
            click.echo(line)
    for report in reports:
        if report.failed:
            click.echo(f"{report.manifest}: {len(report.failed)} utterance(s) could not be read, "
                       f"e.g. {report.failed[0]['error']}", err=True)
    if report_path:
        data = [r.to_dict() for r in reports]
        atomic_write_json(report_path, data[0] if len(data) == 1 else data)
        click.echo(f"report: {report_path}")
    if max_wer is not None:
        over = [r for r in reports if r.rates.wer > max_wer]
        for r in over:
            click.echo(f"FAIL: WER {100 * r.rates.wer:.2f}% > {100 * max_wer:.2f}% for "
                       f"{r.model} on {r.manifest}", err=True)
        if over:
            sys.exit(1)


def compared_decodings(decoding: DecodingOptions) -> list[DecodingOptions]:
    """``--compare``: greedy, then beam search without the LM and hotwords (when the options
    have any), then the options themselves."""
    out = [DecodingOptions()]
    if decoding.uses_beam and (decoding.lm is not None or decoding.hotwords):
        out.append(decoding.replace(lm=None, hotwords=(), word_bonus=0.0))
    out.append(decoding)
    return list(dict.fromkeys(out))


def percent(rate: float | None) -> str:
    """``12.34%``, or ``n/a`` for a rate that was not measured."""
    return "n/a" if rate is None else f"{100 * rate:.2f}%"


def decoding_label(options: dict) -> str:
    """A short name of decoding options (``DecodingOptions.to_dict()``): ``greedy``,
    ``beam16``, ``beam16+lm``, ``beam16+lm+hotwords``."""
    if options.get("method", "greedy") == "greedy":
        return "greedy"
    label = f"{options.get('method')}{options.get('beam_width', '')}"
    if options.get("lm"):
        label += "+lm"
    if options.get("hotwords"):
        label += "+hotwords"
    return label


def results_table(reports) -> list[str]:
    """Lines of the model x test set (x decoding) table; columns sized to the names in them.

    Models and test sets are named by the shortest end of their paths that tells them apart
    (test sets without the file extension where that suffices). A decoding column appears
    when the reports were decoded in more than one way.
    """
    models = distinct_names([r.model for r in reports])
    sets = distinct_names([r.manifest for r in reports], drop_extension=True)
    labels = [decoding_label(getattr(r, "decoding", {}) or {}) for r in reports]
    with_decoding = len(set(labels)) > 1
    mw = max(len("model"), *map(len, models))
    sw = max(len("test set"), *map(len, sets))
    dw = max(len("decoding"), *map(len, labels))
    head = f"{'decoding':{dw}s} " if with_decoding else ""
    lines = [(f"{'model':{mw}s} {'test set':{sw}s} {head}"
              f"{'WER':>7s} {'CER':>7s} {'TER':>7s} {'utts':>5s} {'RTF':>7s}")]
    notes = []
    for report, model, test_set, label in zip(reports, models, sets, labels):
        r = report.rates
        rtf = report.decode_seconds / max(report.audio_seconds, 1e-9)
        cell = f"{label:{dw}s} " if with_decoding else ""
        if r.words == 0:  # nothing but non-speech: an error rate has nothing to divide by
            rates = f"{'-':>7s} {'-':>7s} {'-':>7s}"
            notes.append(f"{model} on {test_set}{' (' + label + ')' if with_decoding else ''}: "
                         f"no speech in the references; {round(r.wer)} word(s) in "
                         f"{r.utterances - r.exact} of {r.utterances} transcripts (should be "
                         f"none)")
        else:
            rates = f"{100 * r.wer:6.2f}% {100 * r.cer:6.2f}% {percent(r.ter):>7s}"
        lines.append(f"{model:{mw}s} {test_set:{sw}s} {cell}{rates} {r.utterances:5d} "
                     f"{rtf:7.4f}")
    return lines + notes


def distinct_names(paths: Sequence[str | os.PathLike],
                   drop_extension: bool = False) -> list[str]:
    """For each path, its last few components: the fewest that no other path ends with.

    ``a/test.jsonl`` and ``b/test.jsonl`` become ``a/test.jsonl`` and ``b/test.jsonl``;
    ``x/dev.jsonl`` and ``x/test.jsonl`` become ``dev.jsonl`` and ``test.jsonl`` (``dev``
    and ``test`` with ``drop_extension``, used when that keeps every name distinct). The same
    path given twice gets the same name.
    """
    absolute = [Path(os.path.abspath(p)).parts for p in paths]
    distinct = sorted(set(absolute))

    def tail(parts: tuple[str, ...], k: int, strip: bool) -> str:
        last = Path(parts[-1]).stem if strip and len(parts) > 1 else parts[-1]
        return str(Path(*parts[-k:-1], last)) if k > 1 else last

    for strip in ((True, False) if drop_extension else (False,)):
        chosen: dict[tuple[str, ...], str] = {}
        for parts in distinct:
            others = [o for o in distinct if o != parts]
            k = next((k for k in range(1, len(parts) + 1)
                      if all(tail(o, k, strip) != tail(parts, k, strip) for o in others)),
                     len(parts))
            chosen[parts] = tail(parts, k, strip)
        if len(set(chosen.values())) == len(distinct):
            return [chosen[parts] for parts in absolute]
    return [str(Path(*parts)) for parts in absolute]


@cli.command()
@click.option("--model", "model_path", required=True, type=click.Path(exists=True),
              help="A run folder or an exported .tflite file.")
@click.argument("audio", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, with word times.")
@click.option("--checkpoint", default="best", show_default=True)
@margin_option
@decoding_options
@friendly_errors
def transcribe(model_path, audio, as_json, checkpoint, margin,
               decoding: DecodingOptions) -> None:
    """Transcribe audio files with a run or a .tflite file (greedy unless a beam flag is
    given)."""
    from edgeasr.evaluation.evaluate import load_transcriber

    with shown_warnings():
        run, _, _ = load_transcriber(model_path, checkpoint, options=decoding, margin=margin)
    failures = 0
    for path, result in zip(audio, run([Path(a) for a in audio])):
        if isinstance(result, Exception):
            failures += 1
            click.echo(f"error: {result}", err=True)
        elif as_json:
            click.echo(json.dumps({"file": path, **result.to_dict()}))
        else:
            click.echo(f"{path}\t{result.text}" if len(audio) > 1 else result.text)
    if failures:
        sys.exit(1)
