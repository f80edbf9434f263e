"""`edgeasr prepare | augment | normalize | bench data`: corpora, augmentation, text."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from edgeasr.cli.common import friendly_errors
from edgeasr.prepare.corpora import RECIPES, recipe_names
from edgeasr_device.audio import DEFAULT_SAMPLE_RATE


@click.group()
def cli() -> None:
    pass


@cli.command()
@click.argument("recipe", type=click.Choice(recipe_names()))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--src", type=click.Path(exists=True),
              help="Source corpus (" + ", ".join(n for n, r in RECIPES.items() if r.needs_src)
                   + "): its folder, or a CSV/TSV file or its folder (table).")
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
@click.option("--language", default="en", show_default=True, type=click.Choice(["en", "fr"]),
              help="Corpora: the transcripts' language (normalisation and alphabet); fr keeps "
                   "accents and leaves out non-speech rows such as [ascending tones].")
@friendly_errors
def prepare(recipe: str, out_dir: str, src: str | None, config_path: str | None, workers: int,
            strict: bool, seed: int, dev_fraction: float, test_fraction: float,
            no_speaker_disjoint: bool, exclude_test_text: bool, resplit: bool,
            path_column: str | None, text_column: str | None, audio_dir: str | None,
            speaker_from_folder: bool, preprocess_path: str | None,
            align_model: str | None, language: str) -> None:
    """Turn a corpus into train/dev/test manifests (+ prepare_report.json for corpora)."""
    from edgeasr.prepare.options import PrepareOptions
    from edgeasr.prepare.pipeline import prepare as run_recipe
    from edgeasr.prepare.report import report_lines
    from edgeasr.text.languages import get_language

    options = PrepareOptions.from_dict({
        "strict": strict, "seed": seed, "dev_fraction": dev_fraction,
        "test_fraction": test_fraction, "speaker_disjoint": not no_speaker_disjoint,
        "exclude_test_text": exclude_test_text, "resplit": resplit, "path_column": path_column,
        "text_column": text_column, "speaker_from_folder": speaker_from_folder,
        "audio_dir": audio_dir, "workers": workers, "language": language,
        "vocabulary": get_language(language).vocabulary()})
    manifests = run_recipe(recipe, out_dir, src=src, config_path=config_path, workers=workers,
                           options=options, preprocess_path=preprocess_path,
                           align_model=align_model)
    summary = report_lines(out_dir) if RECIPES[recipe].writes_report else []
    for line in summary or [f"{split}: {path}" for split, path in manifests.items()]:
        click.echo(line)


@cli.group()
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
@click.option("--sample-rate", default=DEFAULT_SAMPLE_RATE, show_default=True)
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def bench_data(manifest, augment_option, workers, seconds, batch_size, sample_rate, as_json) -> None:
    """Audio-seconds per second the loader produces, per CPU core, from the shard cache."""
    from edgeasr.configs import read_yaml
    from edgeasr.data.shards import load_corpus
    from edgeasr.data.throughput import cpu_count, measure
    from edgeasr.training.trainer import make_augmenter
    from edgeasr_device.vocab import Vocabulary

    started = time.perf_counter()
    corpus = load_corpus(manifest, Vocabulary.english(), sample_rate)
    prepared = time.perf_counter() - started
    option = augment_option
    if option not in ("default", "none"):
        option = read_yaml(option)
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


@cli.command()
@click.argument("text", nargs=-1)
@click.option("--file", "text_file", type=click.Path(exists=True, dir_okay=False),
              help="Normalise this file's text instead.")
@click.option("--language", default="en", show_default=True, type=click.Choice(["en", "fr"]),
              help="Whose normaliser (fr keeps accents and spells numbers in French).")
def normalize(text: tuple[str, ...], text_file: str | None, language: str) -> None:
    """Print TEXT as the models see it (lowercase, numbers as words, no punctuation)."""
    from edgeasr.prepare.corpora.ldc93s1 import strip_sample_range
    from edgeasr.text.languages import get_language

    raw = strip_sample_range(Path(text_file).read_text(encoding="utf-8")) if text_file else " ".join(text)
    click.echo(get_language(language).normalize(raw))


@cli.command()
@click.option("--manifest", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Manifest from which N utterances are picked at random (seeded).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("-n", "count", default=8, show_default=True, help="Utterances to preview.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="YAML of augmentation options (or a config with an `augment:` mapping). "
                   "Default: the training default.")
@click.option("--seed", default=0, show_default=True,
              help="Seed of the utterances picked and of the augmentation.")
@click.option("--sample-rate", default=DEFAULT_SAMPLE_RATE, show_default=True,
              help="Rate of the wavs written (Hz).")
@friendly_errors
def augment(manifest, out_dir, count, config_path, seed, sample_rate) -> None:
    """Write original/augmented wav pairs and spectrogram PNGs to hear and see augmentation."""
    from edgeasr.augment.configs import AugmentConfig
    from edgeasr.augment.preview import write_preview
    from edgeasr.configs import read_yaml

    data = None
    if config_path:
        data = read_yaml(config_path)
        if "augment" in data:
            data = data["augment"]
    result = write_preview(manifest, out_dir, count, AugmentConfig.from_dict(data), seed, sample_rate)
    click.echo(f"wrote {result.written} original/augmented pairs; index: {result.index_path}")
    for problem in result.failed:
        click.echo(f"skipped {problem}", err=True)
