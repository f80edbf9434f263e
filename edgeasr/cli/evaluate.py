"""`edgeasr evaluate | transcribe`: WER/CER tables and transcripts for runs and .tflite files."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from edgeasr.cli.common import friendly_errors


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
@friendly_errors
def evaluate(models, manifests, report_path, checkpoint, threads, max_wer) -> None:
    """WER and CER (jiwer) of models on manifests; a table when there are several."""
    from edgeasr.evaluation.evaluate import evaluate as run_evaluation
    from edgeasr.files import atomic_write_json

    reports = [run_evaluation(m, t, checkpoint=checkpoint, threads=threads)
               for m in models for t in manifests]
    if len(reports) == 1:
        r = reports[0].rates
        click.echo(f"WER {100 * r.wer:.2f}%  CER {100 * r.cer:.2f}%  "
                   f"({r.utterances} utterances, {r.words} words, {r.exact} exact)")
    else:
        click.echo(f"{'model':32s} {'test set':24s} {'WER':>7s} {'CER':>7s} {'utts':>5s} {'RTF':>7s}")
        for report in reports:
            r = report.rates
            rtf = report.decode_seconds / max(report.audio_seconds, 1e-9)
            click.echo(f"{_short(report.model):32s} {Path(report.manifest).stem:24s} "
                       f"{100 * r.wer:6.2f}% {100 * r.cer:6.2f}% {r.utterances:5d} {rtf:7.4f}")
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
                       f"{_short(r.model)} on {r.manifest}", err=True)
        if over:
            sys.exit(1)


def _short(path: str, width: int = 32) -> str:
    text = str(path)
    return text if len(text) <= width else "..." + text[-(width - 3):]


@cli.command()
@click.option("--model", "model_path", required=True, type=click.Path(exists=True),
              help="A run folder or an exported .tflite file.")
@click.argument("audio", nargs=-1, required=True, type=click.Path())
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file, with word times.")
@click.option("--checkpoint", default="best", show_default=True)
@friendly_errors
def transcribe(model_path, audio, as_json, checkpoint) -> None:
    """Transcribe audio files with a run or a .tflite file."""
    from edgeasr.evaluation.evaluate import load_transcriber

    run, _ = load_transcriber(model_path, checkpoint)
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
