"""``edgeasr evaluate``: WER/CER/TER of a training run or an exported ``.tflite`` on a manifest.

TER (token error rate over the model's own tokens) is defined in :mod:`.metrics`.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgeasr.data.manifest import read_manifest
from edgeasr.errors import DataError
from edgeasr.evaluation.metrics import (
    ErrorRates,
    error_rates,
    token_edits,
    utterance_rates,
    with_token_rate,
)
from edgeasr.text.languages import language_of
from edgeasr.text.subword import TOKENIZER_FILE, TextEncoder, Tokenizer, text_encoder
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.errors import AudioError
from edgeasr_device.vocab import Vocabulary


@dataclass(frozen=True)
class EvaluationReport:
    model: str
    manifest: str
    rates: ErrorRates
    audio_seconds: float
    decode_seconds: float
    utterances: list[dict[str, Any]]  # per utterance: source, reference, hypothesis, wer, cer, ter
    failed: list[dict[str, str]]  # utterances whose audio could not be read
    decoding: dict[str, Any] = field(default_factory=dict)  # DecodingOptions.to_dict()
    margin: float = 0.0  # seconds of silence decoded around each utterance

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "manifest": self.manifest,
            "decoding": self.decoding,
            "margin": self.margin,
            **{k: v for k, v in asdict(self.rates).items()},
            "audio_seconds": self.audio_seconds,
            "decode_seconds": self.decode_seconds,
            "utterances": self.utterances,
            "failed": self.failed,
        }


def is_tflite(path: str | os.PathLike) -> bool:
    return Path(path).is_file() and Path(path).suffix == ".tflite"


def load_transcriber(model_path: str | os.PathLike, checkpoint: str = "best", threads: int = 1,
                     options: DecodingOptions | None = None, margin: float | None = None):
    """A callable ``paths -> transcripts`` for a ``.tflite`` file or a run directory, the
    model's sample rate and the margin it decodes with. Each is an acoustic model plus the
    decoder ``options`` name (default greedy), decoding each file between ``margin`` seconds
    of silence (None: a file's own margin, 0 for a run); a path whose audio cannot be read
    gives its :class:`AudioError` instead."""
    if is_tflite(model_path):
        from edgeasr_device.recognizer import Recognizer

        recognizer = Recognizer(model_path, num_threads=threads, options=options, margin=margin)

        def run_tflite(paths):
            results = []
            for path in paths:
                try:
                    results.append(recognizer.transcribe(path))
                except AudioError as err:
                    results.append(err)
            return results

        return run_tflite, recognizer.sample_rate, recognizer.margin

    from edgeasr.evaluation.decode import transcribe_waveforms
    from edgeasr.evaluation.keras_model import KerasModel
    from edgeasr.runs import load_model
    from edgeasr_device.audio import load_audio

    network, info = load_model(model_path, checkpoint)
    model = KerasModel(network, info.vocabulary)
    rate = model.sample_rate
    margin = 0.0 if margin is None else margin

    def run_keras(paths):
        loaded, results = [], []
        for path in paths:
            try:
                loaded.append(load_audio(path, rate))
            except AudioError as err:
                loaded.append(err)
        good = [w for w in loaded if not isinstance(w, Exception)]
        transcripts = iter(transcribe_waveforms(model, good, options, margin))
        for item in loaded:
            results.append(item if isinstance(item, Exception) else next(transcripts))
        return results

    return run_keras, rate, margin


def model_vocabulary(model_path: str | os.PathLike) -> Vocabulary:
    """The output vocabulary of a ``.tflite`` file or a run directory (no model is built)."""
    if is_tflite(model_path):
        from edgeasr_device.artifact import read_metadata

        return read_metadata(model_path).vocabulary
    from edgeasr.runs import RunDirectory

    return RunDirectory(model_path).read_info().vocabulary


def model_encoder(model_path: str | os.PathLike) -> TextEncoder | None:
    """How the model of a ``.tflite`` file or a run directory cuts text into its tokens
    (characters, or its SentencePiece model), or None when a piece model's file has no
    tokenizer to do it with."""
    vocabulary = model_vocabulary(model_path)
    if vocabulary.kind != "pieces":
        return text_encoder(vocabulary)
    try:
        if is_tflite(model_path):
            from edgeasr_device.artifact import read_metadata

            entry = read_metadata(model_path).tokenizer
            if entry is None:
                return None
            tokenizer = Tokenizer.from_metadata(entry, str(model_path))
        else:
            tokenizer = Tokenizer.load(Path(model_path) / TOKENIZER_FILE)
        return text_encoder(vocabulary, tokenizer)
    except DataError:
        return None


def evaluate(model_path: str | os.PathLike, manifest: str | os.PathLike,
             checkpoint: str = "best", threads: int = 1,
             options: DecodingOptions | None = None,
             margin: float | None = None) -> EvaluationReport:
    """WER/CER/TER of a run or ``.tflite`` file on a manifest, decoded as ``options`` say,
    each utterance between ``margin`` seconds of silence (None: as ``edgeasr-device`` would,
    the file's own margin; 0 for a run)."""
    utterances = read_manifest(manifest)
    normalize = language_of(model_vocabulary(model_path)).normalize
    encoder = model_encoder(model_path)
    ref_ids: list[list[int]] = []
    hyp_ids: list[list[int]] = []
    transcribe, _, margin = load_transcriber(model_path, checkpoint, threads, options, margin)
    started = time.perf_counter()
    results = transcribe([u.audio_path for u in utterances])
    decode_seconds = time.perf_counter() - started
    rows, failed, refs, hyps = [], [], [], []
    for utterance, result in zip(utterances, results):
        if isinstance(result, Exception):
            failed.append({"source": utterance.source, "error": str(result)})
            continue
        reference = normalize(utterance.text)
        wer, cer = utterance_rates(reference, result.text)
        refs.append(reference)
        hyps.append(result.text)
        ter = None
        if encoder is not None:
            ref_ids.append(encoder.score_ids(reference))
            hyp_ids.append(encoder.score_ids(result.text))
            edits, tokens = token_edits(ref_ids[-1:], hyp_ids[-1:])
            ter = edits / max(tokens, 1)
        rows.append({
            "source": utterance.source,
            "audio_filepath": str(utterance.audio_path),
            "reference": reference,
            "hypothesis": result.text,
            "wer": wer,
            "cer": cer,
            "ter": ter,
            "confidence": result.confidence,
        })
    if not rows:
        raise AudioError(f"{manifest}: no utterance could be read (first error: {failed[0]['error']})")
    return EvaluationReport(
        model=str(model_path),
        manifest=str(manifest),
        rates=(error_rates(refs, hyps) if encoder is None
               else with_token_rate(error_rates(refs, hyps), ref_ids, hyp_ids)),
        audio_seconds=sum(u.duration for u in utterances),
        decode_seconds=decode_seconds,
        utterances=rows,
        failed=failed,
        decoding=(options or DecodingOptions()).to_dict(),
        margin=margin,
    )
