"""`edgeasr export | import | average`: a run -> a self-describing .tflite file, and back;
the mean of a run's last checkpoints as one more checkpoint to export."""

from __future__ import annotations

import click

from edgeasr.cli.common import friendly_errors
from edgeasr_device.artifact import MAX_MARGIN


@click.group()
def cli() -> None:
    pass


@cli.command()
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--out", "out_path", required=True, type=click.Path(dir_okay=False))
@click.option("--quantize", default="int8", show_default=True,
              type=click.Choice(["float32", "float16", "dynamic", "int8"]))
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False),
              help="Manifest of calibration audio (int8). Default: the run's training manifest.")
@click.option("--checkpoint", default="best", show_default=True)
@click.option("--streaming", is_flag=True,
              help="Write the chunked graph (audio chunk + state -> log-probs + state) for "
                   "live audio and long files; see docs/streaming.md.")
@click.option("--chunk-frames", type=click.IntRange(min=1), default=None,
              help="Output frames per streaming chunk (default 16: 0.32 s for 'small').")
@click.option("--margin", type=click.FloatRange(0, MAX_MARGIN), default=0.0, show_default=True,
              help="Seconds of silence the device decodes each utterance between by default "
                   "(written into the file; pick it on dev data: docs/streaming.md).")
@friendly_errors
def export(run_dir, out_path, quantize, calibration, checkpoint, streaming, chunk_frames,
           margin) -> None:
    """Export a run to a .tflite file (builtin ops only, metadata embedded)."""
    from edgeasr_export.exporter import export_run

    if chunk_frames is not None and not streaming:
        raise click.UsageError("--chunk-frames needs --streaming")
    report = export_run(run_dir, out_path, quantize, calibration, checkpoint,
                        streaming=streaming, chunk_frames=chunk_frames, margin=margin)
    if streaming:
        click.echo("streaming: chunked graph (see `edgeasr-device info` for the chunk size)")
    click.echo(f"wrote {report.path} ({report.size_bytes / 1e6:.2f} MB, {quantize}, "
               f"{report.parameters:,} parameters)")
    click.echo(f"ops: {', '.join(report.ops)}")
    if margin:
        click.echo(f"margin: {margin:g} s of silence around each utterance by default")
    p = report.parity
    if p is not None:
        click.echo(f"parity{' (chunked)' if streaming else ''} vs Keras on {p.utterances} utterances: max |delta prob| "
                   f"{p.max_prob_delta:.3g}, max |delta log-prob| {p.max_abs_delta:.3g}, "
                   f"frame argmax agreement {100 * p.argmax_agreement:.1f}%, "
                   f"greedy transcripts equal {100 * p.transcript_agreement:.0f}%")
        for keras_text, lite_text in p.mismatches:
            click.echo(f"  keras: {keras_text!r}\n  tflite: {lite_text!r}")


@cli.command("import")
@click.argument("model")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="A new run folder; `edgeasr train --init OUT` fine-tunes it.")
@click.option("--calibration", type=click.Path(exists=True, dir_okay=False),
              help="Manifest of speech like the model's training data: batch norm's input "
                   "statistics are measured on it (strongly advised before training).")
@click.option("--calibration-utterances", type=click.IntRange(min=1), default=64,
              show_default=True)
@friendly_errors
def import_(model, out_dir, calibration, calibration_utterances) -> None:
    """Turn an exported whole-file MODEL (.tflite, or a packaged name such as en-starter)
    back into a run folder, so it can be fine-tuned or evaluated in Keras.

    Conv-family models (small, tiny, edge-*). An int8 file gives its dequantised weights.
    """
    from edgeasr_device.models import resolve_model
    from edgeasr_export.importer import import_model

    report = import_model(str(resolve_model(model)), out_dir, calibration, calibration_utterances)
    click.echo(f"wrote {report.run} from {report.source} ({report.quantization}, "
               f"{report.parameters:,} parameters; batch norm measured on "
               f"{report.calibration_utterances} utterances)")
    for note in report.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"fine-tune it: edgeasr train --init {report.run} --train ... --dev ... --out NEW_RUN")


@cli.command()
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--last", type=click.IntRange(min=1), default=None,
              help="Average the run's last N epoch checkpoints.")
@click.option("--checkpoint", "checkpoints", multiple=True, metavar="NAME|FOLDER",
              help="A checkpoint to average (repeatable): a name in --run (epoch-0003, best, "
                   "last) or the folder of a checkpoint of the run this one was fine-tuned "
                   "from (an earlier stage).")
@click.option("--name", default=None,
              help="The new checkpoint's name in --run (default: avg-last-N, or average).")
@friendly_errors
def average(run_dir, last, checkpoints, name) -> None:
    """Average checkpoints of one training trajectory into a new checkpoint of --run, for
    `edgeasr export --checkpoint NAME` and `edgeasr evaluate --checkpoint NAME`.

    The mean of the last few epochs often decodes better than any one of them; measure it on
    dev data (docs/benchmarks.md, "Checkpoint averaging"). Floating-point weights and batch
    norm statistics are averaged; the optimizer state is not kept, so the result fine-tunes
    (`edgeasr train --init`) but does not --resume.
    """
    from edgeasr.averaging import average_checkpoints

    name = name or (f"avg-last-{last}" if last and not checkpoints else "average")
    report = average_checkpoints(run_dir, name, list(checkpoints), last)
    click.echo(f"wrote {report.folder}: the mean of {len(report.sources)} checkpoints "
               f"({report.variables} variables averaged)")
    for source in report.sources:
        click.echo(f"  {source}")
    click.echo(f"export it: edgeasr export --run {run_dir} --checkpoint {report.folder.name} "
               "--out ...")
