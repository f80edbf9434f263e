"""``edgeasr``: prepare | train | evaluate | export | transcribe. Thin: parse, call, print."""

from __future__ import annotations

import functools
import json
import logging
import os
import sys
import time
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
@click.argument("recipe", type=click.Choice([  # corpus names as in edgeasr.data.corpora.RECIPES
    "synthetic", "ldc93s1", "librispeech", "mls", "commonvoice", "ljspeech", "fsdd", "folder",
    "table"]))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--src", type=click.Path(exists=True),
              help="Source corpus: a folder (ldc93s1, librispeech, mls, commonvoice, ljspeech, "
                   "fsdd, folder) or a CSV/TSV file or its folder (table).")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="Recipe YAML (synthetic: SyntheticCorpusConfig fields under `corpus:`).")
@click.option("--workers", default=2, show_default=True,
              help="Worker processes (synthetic, --preprocess) or audio-header reading threads "
                   "(corpora).")
@click.option("--strict", is_flag=True,
              help="Fail on the first bad input (or, with --preprocess, the first one "
                   "preprocessing leaves out) instead of skipping it.")
@click.option("--seed", default=0, show_default=True, help="Seed of the deterministic split.")
@click.option("--dev-fraction", default=0.1, show_default=True,
              help="Dev share of the duration, where the corpus has no official dev split.")
@click.option("--test-fraction", default=0.1, show_default=True,
              help="Test share of the duration, where the corpus has no official test split.")
@click.option("--no-speaker-disjoint", is_flag=True,
              help="Split by utterance even where speakers are known.")
@click.option("--exclude-test-text", is_flag=True,
              help="Drop train utterances whose normalised text is also in dev or test.")
@click.option("--resplit", is_flag=True,
              help="Ignore the corpus's official splits and split with the seed and fractions.")
@click.option("--path-column", help="table: audio path column (name, or 0-based index without a header).")
@click.option("--text-column", help="table: transcript column (name, or 0-based index without a header).")
@click.option("--audio-dir", type=click.Path(file_okay=False),
              help="table: folder relative audio paths start from (default: the table's folder).")
@click.option("--speaker-from-folder", is_flag=True,
              help="folder/table: the audio file's parent folder names the speaker.")
@click.option("--preprocess", "preprocess_path", type=click.Path(exists=True, dir_okay=False),
              help="Corpora: YAML of preprocessing options (recipes/preprocess.example.yaml); "
                   "the processed audio is written to OUT/audio/ as 16-bit PCM WAV.")
@click.option("--align-model", type=click.Path(exists=True, dir_okay=False),
              help="Exported .tflite model that aligns words to split long utterances "
                   "(--preprocess with too_long: split).")
@friendly_errors
def prepare(recipe: str, out_dir: str, src: str | None, config_path: str | None, workers: int,
            strict: bool, seed: int, dev_fraction: float, test_fraction: float,
            no_speaker_disjoint: bool, exclude_test_text: bool, resplit: bool,
            path_column: str | None, text_column: str | None, audio_dir: str | None,
            speaker_from_folder: bool, preprocess_path: str | None,
            align_model: str | None) -> None:
    """Turn a corpus into train/dev/test manifests (+ prepare_report.json for corpora)."""
    from edgeasr.data import prepare as recipes
    from edgeasr.data.corpora.common import PrepareOptions

    options = PrepareOptions(strict=strict, seed=seed, dev_fraction=dev_fraction,
                             test_fraction=test_fraction, speaker_disjoint=not no_speaker_disjoint,
                             exclude_test_text=exclude_test_text, resplit=resplit,
                             path_column=path_column, text_column=text_column,
                             speaker_from_folder=speaker_from_folder, audio_dir=audio_dir,
                             workers=workers)
    manifests = recipes.prepare(recipe, out_dir, src=src, config_path=config_path, workers=workers,
                                options=options, preprocess_path=preprocess_path,
                                align_model=align_model)
    summary = recipes.report_lines(out_dir) if recipe not in ("synthetic", "ldc93s1") else []
    for line in summary or [f"{split}: {path}" for split, path in manifests.items()]:
        click.echo(line)


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
              help="Manifest of calibration audio (int8). Default: the run's training manifest.")
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


@main.group()
def bench() -> None:
    """Benchmarks (figures go to docs/benchmarks.md)."""


@bench.command("data")
@click.option("--manifest", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Training manifest to stream (its shard cache is built first if needed).")
@click.option("--augment", "augment_option", default="default", show_default=True,
              help="Augmentation to time besides none: default, none, or a YAML file of AugmentConfig fields.")
@click.option("--workers", default=0, help="Also time this many loader processes (0: skip).")
@click.option("--seconds", default=10.0, show_default=True, help="Wall time per measurement.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--sample-rate", default=16000, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def bench_data(manifest, augment_option, workers, seconds, batch_size, sample_rate, as_json) -> None:
    """Audio-seconds per second the loader produces, per CPU core, from the shard cache."""
    from edgeasr.data.shards import load_corpus
    from edgeasr.data.throughput import cpu_count, measure
    from edgeasr.training.trainer import make_augmenter
    from edgeasr_device.vocab import Vocabulary

    started = time.perf_counter()
    corpus = load_corpus(manifest, Vocabulary.english(), sample_rate)
    prepared = time.perf_counter() - started
    option = augment_option
    if option not in ("default", "none"):
        import yaml

        option = yaml.safe_load(Path(option).read_text())
    augmenter = make_augmenter(option, sample_rate, seed=0)
    runs = [measure(corpus, "cache, no augmentation", None, 1, batch_size, seconds)]
    if augmenter is not None:
        runs.append(measure(corpus, f"cache + {augment_option} augmentation", augmenter, 1, batch_size, seconds))
        if workers > 1:
            runs.append(measure(corpus, f"cache + {augment_option} augmentation", augmenter, workers,
                                batch_size, seconds))
    if as_json:
        click.echo(json.dumps({"manifest": manifest, "utterances": len(corpus),
                               "corpus_seconds": corpus.seconds, "cache_open_seconds": prepared,
                               "cpus": cpu_count(), "runs": [r.to_dict() for r in runs]}))
        return
    click.echo(f"{manifest}: {len(corpus)} utterances, {corpus.seconds / 3600:.2f} h; "
               f"cache ready in {prepared:.1f} s; {cpu_count()} CPUs")
    click.echo(f"{'pipeline':40s} {'workers':>7s} {'audio-s/s':>10s} {'per core':>10s}")
    for r in runs:
        click.echo(f"{r.name:40s} {r.workers:7d} {r.audio_per_second:10.0f} {r.per_core:10.0f}")


@main.command()
@click.argument("text", nargs=-1)
@click.option("--file", "text_file", type=click.Path(exists=True, dir_okay=False),
              help="Normalise this file's text instead.")
def normalize(text: tuple[str, ...], text_file: str | None) -> None:
    """Print TEXT as the models see it (lowercase, numbers as words, no punctuation)."""
    from edgeasr.text.normalize import normalize_english

    from edgeasr.data.prepare import strip_sample_range

    raw = strip_sample_range(Path(text_file).read_text(encoding="utf-8")) if text_file else " ".join(text)
    click.echo(normalize_english(raw))


@main.command()
def presets() -> None:
    """List the model presets."""
    from edgeasr.models.presets import PRESETS

    for name, config in PRESETS.items():
        detail = (f"conv {config.conv.channels}ch x {len(config.conv.kernel_sizes)} blocks"
                  if config.encoder == "conv" else f"deepspeech width {config.deepspeech.width}")
        click.echo(f"{name:16s} {config.frontend.kind:6s} {detail}")


@main.command()
@click.option("--manifest", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Manifest whose first N utterances are previewed.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("-n", "count", default=8, show_default=True, help="Utterances to preview.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="YAML of augmentation options (or a config with an `augment:` mapping). "
                   "Default: the training default.")
@click.option("--seed", default=0, show_default=True, help="Augmentation seed.")
@click.option("--sample-rate", default=16000, show_default=True, help="Rate of the wavs written (Hz).")
@friendly_errors
def augment(manifest, out_dir, count, config_path, seed, sample_rate) -> None:
    """Write original/augmented wav pairs and spectrogram PNGs to hear and see augmentation."""
    import yaml

    from edgeasr.data.augment import AugmentConfig
    from edgeasr.data.augment_preview import write_preview

    data = None
    if config_path:
        try:
            data = yaml.safe_load(Path(config_path).read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise ValueError(f"{config_path} is not valid YAML: {err}") from err
        if isinstance(data, dict) and "augment" in data:
            data = data["augment"]
    result = write_preview(manifest, out_dir, count, AugmentConfig.from_dict(data), seed, sample_rate)
    click.echo(f"wrote {result.written} original/augmented pairs; index: {result.index_path}")
    for problem in result.failed:
        click.echo(f"skipped {problem}", err=True)


if __name__ == "__main__":
    main()
