"""``edgeasr``: prepare | train | evaluate | export | transcribe. Thin: parse, call, print."""

from __future__ import annotations

import functools
import json
import logging
import os
import re
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

import click  # noqa: E402

from edgeasr import __version__  # noqa: E402
from edgeasr_device.errors import EdgeAsrError  # noqa: E402


def friendly_errors(command):
    """Show input problems as one clear line and exit 2, not as a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (EdgeAsrError, ValueError, FileNotFoundError) as err:
            raise click.ClickException(str(err)) from err

    return wrapper


@click.group()
@click.version_option(__version__, prog_name="edgeasr")
@click.option("-v", "--verbose", is_flag=True, help="Log more detail.")
def main(verbose: bool) -> None:
    """Train CTC speech recognisers and export them for the edgeasr-device runtime."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


@main.command()
@click.argument("recipe", type=click.Choice(["synthetic", "ldc93s1"]))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--src", type=click.Path(exists=True), help="Source corpus folder (ldc93s1).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Recipe YAML (synthetic: SyntheticCorpusConfig fields under `corpus:`).")
@click.option("--workers", default=2, show_default=True, help="Worker processes.")
@friendly_errors
def prepare(recipe: str, out_dir: str, src: str | None, config_path: str | None, workers: int) -> None:
    """Turn a corpus into train/dev/test manifests."""
    from edgeasr.data import prepare as recipes

    manifests = recipes.prepare(recipe, out_dir, src=src, config_path=config_path, workers=workers)
    for split, path in manifests.items():
        click.echo(f"{split}: {path}")


@main.command()
@click.option("--train", "train_manifest", type=click.Path(exists=True, dir_okay=False),
              help="Training manifest (JSON lines).")
@click.option("--dev", "dev_manifest", type=click.Path(exists=True, dir_okay=False),
              help="Dev manifest: WER/CER every epoch, picks the best checkpoint.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--preset", default=None, help="Model preset (see `edgeasr presets`). Default: small.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="YAML with `preset`, `model` overrides and `train` options.")
@click.option("--epochs", type=int, help="Epochs (on --resume: the new total).")
@click.option("--batch-size", type=int, help="Utterances per batch.")
@click.option("--lr", "learning_rate", type=float, help="Peak learning rate.")
@click.option("--seed", type=int, help="Random seed.")
@click.option("--strict", is_flag=True, default=None, help="Fail on a bad manifest line instead of skipping it.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@friendly_errors
def train(train_manifest, dev_manifest, out_dir, preset, config_path, epochs, batch_size,
          learning_rate, seed, strict, resume) -> None:
    """Train a model; checkpoints every epoch, the best by dev WER, resumable."""
    from edgeasr.models.presets import get_preset
    from edgeasr.training.config import TrainConfig
    from edgeasr.training.trainer import load_yaml_config, train as run_training

    data = load_yaml_config(config_path) if config_path else {}
    model_config = get_preset(preset or data.get("preset", "small"))
    if data.get("model"):
        model_config = model_config.replace(**data["model"])
    train_config = TrainConfig.from_dict(data.get("train", {})).replace(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed, strict=strict
    )
    result = run_training(
        train_manifest, dev_manifest, out_dir, model_config,
        train_config if (not resume or epochs) else None, resume=resume,
        verbose=1 if sys.stdout.isatty() else 2,  # a progress bar only on a terminal
    )
    best = "n/a" if result.best_dev_wer is None else f"{100 * result.best_dev_wer:.2f}% (epoch {result.best_epoch})"
    click.echo(f"done: {result.epochs_done} epochs in {result.run_dir}; best dev WER {best}")


@main.command()
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


@main.command()
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option("--quantize", default="int8", show_default=True,
              type=click.Choice(["float32", "float16", "dynamic", "int8"]))
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False),
              help="Manifest of calibration audio (int8). Default: the run's dev manifest.")
@click.option("--checkpoint", default="best", show_default=True)
@friendly_errors
def export(run_dir, out_path, quantize, calibration, checkpoint) -> None:
    """Export a run to a .tflite file (builtin ops only, metadata embedded)."""
    from edgeasr_export.exporter import export_run

    report = export_run(run_dir, out_path, quantize, calibration, checkpoint)
    click.echo(f"wrote {report.path} ({report.size_bytes / 1e6:.2f} MB, {quantize}, "
               f"{report.parameters:,} parameters)")
    click.echo(f"ops: {', '.join(report.ops)}")
    p = report.parity
    if p is not None:
        click.echo(f"parity vs Keras on {p.utterances} utterances: max |delta prob| "
                   f"{p.max_prob_delta:.3g}, max |delta log-prob| {p.max_abs_delta:.3g}, "
                   f"frame argmax agreement {100 * p.argmax_agreement:.1f}%, "
                   f"greedy transcripts equal {100 * p.transcript_agreement:.0f}%")
        for keras_text, lite_text in p.mismatches:
            click.echo(f"  keras: {keras_text!r}\n  tflite: {lite_text!r}")


@main.command()
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


@main.command()
@click.argument("text", nargs=-1)
@click.option("--file", "text_file", type=click.Path(exists=True, dir_okay=False),
              help="Normalise this file's text instead.")
def normalize(text: tuple[str, ...], text_file: str | None) -> None:
    """Print TEXT as the models see it (lowercase, numbers as words, no punctuation)."""
    from edgeasr.text.normalize import normalize_english

    raw = Path(text_file).read_text(encoding="utf-8") if text_file else " ".join(text)
    if text_file:
        raw = re.sub(r"^\s*\d+\s+\d+\s+", "", raw)  # TIMIT-style "<start> <end> text"
    click.echo(normalize_english(raw))


@main.command()
def presets() -> None:
    """List the model presets."""
    from edgeasr.models.presets import PRESETS

    for name, config in PRESETS.items():
        detail = (f"conv {config.conv.channels}ch x {len(config.conv.kernel_sizes)} blocks"
                  if config.encoder == "conv" else f"deepspeech width {config.deepspeech.width}")
        click.echo(f"{name:16s} {config.frontend.kind:6s} {detail}")


if __name__ == "__main__":
    main()
