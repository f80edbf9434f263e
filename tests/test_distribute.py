"""Training on several devices and processes follows the one-device run; shards; clear errors.

The distributed runs happen in subprocesses (tests/distributed_train.py), because the Keras
backend, XLA's host device count and TensorFlow's logical devices are fixed per process. All
four start at once (one fixture) and the tests compare what they wrote: the per-step losses
(log.csv: one batch per epoch) and every array of the last checkpoint (weights and optimizer
state).

Tolerances, with the differences measured on a 2-core x86 CPU (Keras 3.15.1, jax 0.10.2,
TensorFlow 2.21): losses within a relative 1e-5 (measured: 6e-8 JAX 2 devices, 6e-8 JAX 2
processes, 3e-7 TensorFlow mirrored); checkpoint arrays within 1e-4 + 1e-3 x |value|
(measured: at most 5e-5 JAX, 7e-5 TensorFlow). The TensorFlow comparison runs without gradient
clipping: Keras 3 clips each replica's gradients before summing them, which moved the loss by
8e-4 (relative) within three steps at clip_norm 5 (README, "Several GPUs and machines").
"""

from __future__ import annotations

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from click.testing import CliRunner

from edgeasr.cli import main
from edgeasr.data.batches import BatchShard, SpeechBatches
from edgeasr.data.corpus import MemoryCorpus
from edgeasr.errors import ConfigError
from edgeasr.training.config import DistributeConfig, TrainConfig
from edgeasr.training.distribute import Distributed, Follower, start_distribution

HELPER = Path(__file__).with_name("distributed_train.py")
LOSS_RTOL = 1e-5
#: Gradient accumulation over 2 batches and a NaN in epoch 2's batch (index 1), 5 epochs of
#: one batch: accumulate, skip, update, accumulate, update (tests/distributed_train.py).
GUARDED = "accumulate=2,poison=1,epochs=5"
#: The same without accumulation, which Keras 3 cannot run under MirroredStrategy (refused:
#: test_accumulation_under_mirrored_is_refused_before_training).
GUARDED_TF = "poison=1,epochs=5"
WEIGHT_ATOL, WEIGHT_RTOL = 1e-4, 1e-3


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _launch(args: list[str], env: dict[str, str], cache: Path) -> subprocess.Popen:
    env = {**os.environ, **env, "EDGEASR_CACHE": str(cache), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, str(HELPER), *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


@pytest.fixture(scope="module")
def runs(speech_corpus, tmp_path_factory):
    """Folder -> run for: JAX one device and 2 devices (one process), JAX 2 processes of one
    device (then resumed to 4 epochs), TensorFlow one device and mirrored over 2 logical CPUs.
    Each process has its own shard cache (no two build one at once)."""
    root = tmp_path_factory.mktemp("distributed")
    manifest = str(speech_corpus / "train.jsonl")
    jax = {"KERAS_BACKEND": "jax"}
    port = _free_port()
    two = ["--coordinator", f"127.0.0.1:{port}", "--num-processes", "2"]
    jobs = {
        "jax": _launch([manifest, f"{root}/jax_ref=none", f"{root}/jax_dp=data-parallel",
                        f"{root}/guard_ref=none,{GUARDED}",
                        f"{root}/guard_dp=data-parallel,{GUARDED}"],
                       {**jax, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"},
                       root / "cache0"),
        **{f"jax_2p_{i}": _launch([manifest, f"{root}/jax_2p=data-parallel,resume=4",
                                   f"{root}/guard_2p=data-parallel,{GUARDED}", *two,
                                   "--process-id", str(i)], {**jax, "XLA_FLAGS": ""},
                                  root / f"cache{1 + i}") for i in (0, 1)},
        "tf": _launch([manifest, f"{root}/tf_ref=none", f"{root}/tf_mirrored=mirrored",
                       f"{root}/guard_tf_ref=none,{GUARDED_TF}",
                       f"{root}/guard_tf_mirrored=mirrored,{GUARDED_TF}",
                       "--logical-cpus", "2", "--clip-norm", "1e9"],
                      {"KERAS_BACKEND": "tensorflow"}, root / "cache3"),
    }
    started = time.monotonic()
    outputs = {}
    for name, job in jobs.items():
        try:
            outputs[name], _ = job.communicate(timeout=max(1, 900 - (time.monotonic() - started)))
        except subprocess.TimeoutExpired:
            job.send_signal(signal.SIGUSR1)  # distributed_train.py prints its threads' stacks
            time.sleep(2)
            job.kill()
            outputs[name] = job.communicate()[0] + "\n(killed after 900 s)"
    return root, {name: (job.returncode, outputs[name]) for name, job in jobs.items()}


def _finished(runs, *jobs):
    root, results = runs
    for job in jobs:
        code, output = results[job]
        assert code == 0, f"{job} exited with {code}:\n{output[-4000:]}"
    return root


def _losses(run: Path) -> np.ndarray:
    return np.array([float(row["loss"]) for row in csv.DictReader((run / "log.csv").open())])


def _arrays(run: Path, checkpoint: str) -> dict[str, np.ndarray]:
    arrays = {}

    def keep(name, item):  # returns None: visititems goes on
        if isinstance(item, h5py.Dataset):
            arrays[name] = item[()]

    with h5py.File(run / "checkpoints" / checkpoint / "model.weights.h5") as h5:
        h5.visititems(keep)
    return arrays


def _assert_same_training(run: Path, reference: Path, epochs: int = 3) -> None:
    losses, expected = _losses(run)[:epochs], _losses(reference)[:epochs]
    assert len(losses) == len(expected) == epochs
    assert expected[-1] < expected[0]  # it trained
    np.testing.assert_allclose(losses, expected, rtol=LOSS_RTOL)  # NaN only where NaN
    got, want = _arrays(run, f"epoch-{epochs:04d}"), _arrays(reference, f"epoch-{epochs:04d}")
    assert got.keys() == want.keys() and len(want) > 50  # weights and optimizer state
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=WEIGHT_RTOL, atol=WEIGHT_ATOL,
                                   err_msg=name)


def test_jax_data_parallel_on_two_devices_follows_one_device(runs):
    root = _finished(runs, "jax")
    _assert_same_training(root / "jax_dp", root / "jax_ref")
    output = runs[1]["jax"][1]
    assert "distributed: data-parallel over 2 devices, global batch 4" in output
    saved = json.loads((root / "jax_dp" / "run.json").read_text())["train"]
    assert TrainConfig.from_dict(saved).distribute.kind == "data-parallel"


def test_jax_two_processes_follow_one_device_and_resume(runs):
    root = _finished(runs, "jax", "jax_2p_0", "jax_2p_1")
    run = root / "jax_2p"
    _assert_same_training(run, root / "jax_ref")
    chief, other = runs[1]["jax_2p_0"][1], runs[1]["jax_2p_1"][1]
    assert "data-parallel over 2 devices in 2 processes" in chief
    assert "resuming" in chief and "epoch 4:" in chief
    assert "epoch 1:" not in other  # process 1 prints (and writes) nothing
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 4 and [h["epoch"] for h in state["history"]] == [1, 2, 3, 4]
    assert len(_losses(run)) == 4
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == [
        "best", "epoch-0002", "epoch-0003", "epoch-0004"]


def _assert_one_skip(*runs: Path) -> None:
    for run in runs:
        state = json.loads((run / "state.json").read_text())
        assert state["skipped_steps"] == 1, (run.name, state)
        assert [h["skipped_steps"] for h in state["history"]] == [0, 1, 1, 1, 1], run.name


@pytest.mark.parametrize("job,run", [("jax", "guard_dp"), ("jax_2p_0", "guard_2p")])
def test_jax_accumulation_and_the_nan_guard_follow_one_device(runs, job, run):
    """2 devices in one process, and 2 processes (the NaN row is in one process's shard
    only): the poisoned step is skipped everywhere, accumulation spans the skip, and the
    weights and optimizer state end as the one-device run's."""
    root = _finished(runs, "jax", job, *(["jax_2p_1"] if job == "jax_2p_0" else []))
    _assert_one_skip(root / "guard_ref", root / run)
    _assert_same_training(root / run, root / "guard_ref", epochs=5)


def test_tensorflow_mirrored_nan_guard_follows_one_device(runs):
    """Compared after epoch 3 (update, skip, update): by epoch 5 (4 updates) mirrored
    rounding had grown past the weight tolerance on 2 of 1,056 elements of one kernel
    (2.8e-4), while every loss still agreed within 1e-5."""
    root = _finished(runs, "tf")
    _assert_one_skip(root / "guard_tf_ref", root / "guard_tf_mirrored")
    _assert_same_training(root / "guard_tf_mirrored", root / "guard_tf_ref", epochs=3)
    np.testing.assert_allclose(_losses(root / "guard_tf_mirrored"),
                               _losses(root / "guard_tf_ref"), rtol=LOSS_RTOL)


def test_tensorflow_mirrored_on_two_logical_cpus_follows_one_device(runs):
    root = _finished(runs, "tf")
    _assert_same_training(root / "tf_mirrored", root / "tf_ref")
    assert "distributed: mirrored over 2 devices" in runs[1]["tf"][1]


@pytest.mark.parametrize("n", [1, 3, 4, 5, 8])
@pytest.mark.parametrize("processes,replicas", [(1, 2), (2, 2), (2, 4), (3, 3)])
def test_batch_shards_partition_the_global_batch(n, processes, replicas):
    members = np.arange(100, 100 + n)
    shards = [BatchShard(processes, index, replicas).rows(members) for index in range(processes)]
    again = [BatchShard(processes, index, replicas).rows(members) for index in range(processes)]
    for (rows, weights), (rows2, weights2) in zip(shards, again):  # a pure function
        np.testing.assert_array_equal(rows, rows2)
        np.testing.assert_array_equal(weights, weights2)
    sizes = {len(rows) for rows, _ in shards}
    assert len(sizes) == 1 and sizes.pop() % (replicas // processes) == 0  # equal, per device
    rows = np.concatenate([r for r, _ in shards])
    weights = np.concatenate([w for _, w in shards])
    real = weights > 0
    assert sorted(rows[real]) == list(members)  # every utterance once: disjoint and covering
    assert set(rows[~real]) <= set(members) and len(rows) - n < replicas  # padding repeats
    np.testing.assert_allclose(weights[real], 1.0 / n)
    assert weights.sum() == pytest.approx(1.0)


def _corpus(lengths, seed=0) -> MemoryCorpus:
    rng = np.random.default_rng(seed)
    audios = [(rng.standard_normal(n) * 3000).astype(np.int16) for n in lengths]
    labels = [rng.integers(1, 28, size=n // 2000) for n in lengths]
    return MemoryCorpus(audios, labels)


def test_process_rows_stack_into_the_one_process_batch():
    """Two processes' rows of each batch, stacked, are the single-process batch; both pad to
    the same shapes, chosen from the plan; augmentation bounds hold the augmented audio."""
    from edgeasr.augment.augmenter import Augmenter
    from edgeasr.augment.configs import AugmentConfig

    corpus = _corpus([9000, 17000, 21000, 30000, 33000, 12000, 26000, 8000])
    whole = SpeechBatches(corpus, 4, seed=2)
    halves = [SpeechBatches(corpus, 4, seed=2, shard=BatchShard(2, i, 2)) for i in (0, 1)]
    for index in range(whole.batches_per_epoch):
        x, y = whole.batch(1, index)
        parts = [half.batch(1, index) for half in halves]
        np.testing.assert_array_equal(np.concatenate([p[0]["audio"] for p in parts]), x["audio"])
        np.testing.assert_array_equal(np.concatenate([p[1]["labels"] for p in parts]), y["labels"])
        np.testing.assert_allclose(np.concatenate([p[2] for p in parts]), 0.25)
    speed = AugmentConfig.from_dict({"speed": {"p": 1.0, "factor": [0.8, 0.8]},
                                     **{e: "off" for e in ("pitch", "stretch", "noise", "reverb",
                                                           "band_limit", "gain", "time_shift")}})
    augmented = [SpeechBatches(corpus, 3, seed=2, augment=Augmenter(speed, 16000, 0),
                               shard=BatchShard(2, i, 2)) for i in (0, 1)]
    for index in range(augmented[0].batches_per_epoch):
        (xa, ya, _), (xb, yb, _) = (part.batch(0, index) for part in augmented)
        assert xa["audio"].shape == xb["audio"].shape and ya["labels"].shape == yb["labels"].shape
        assert xa["audio"].shape[1] % 4000 == 0
        rows, _ = augmented[0].shard.rows(augmented[0].plan(0)[index])
        np.testing.assert_allclose(xa["audio_lengths"], corpus.lengths[rows] / 0.8, atol=2)


def test_other_processes_follow_without_writing():
    """Process 1 keeps no checkpointer or log writer; its Follower stops where process 0's
    checkpointer would (dev WER reached, or a signal after the batch in progress)."""
    from edgeasr.training.callbacks import Checkpointer, RunLog
    from edgeasr.training.interrupt import TrainingStopped

    class Batches:
        start, batches_per_epoch = 0, 5

    class Stop:
        requested = None

    class Writer(keras.callbacks.Callback):
        pass

    checkpointer = Checkpointer.__new__(Checkpointer)
    checkpointer.batches, checkpointer.stop, checkpointer.stop_at_dev_wer = Batches(), Stop(), 0.1
    keep = keras.callbacks.Callback()
    given = [keep, checkpointer, Writer()]
    other = Distributed("data-parallel", processes=2, process_index=1, replicas=2)
    kept = other.process_callbacks(given, writers=(Writer, RunLog), checkpointer=Checkpointer)
    assert kept[0] is keep and len(kept) == 2 and isinstance(kept[1], Follower)
    assert Distributed("mirrored", replicas=2).process_callbacks(
        given, writers=(Writer,), checkpointer=Checkpointer) == given  # process 0: all of them
    follower = kept[1]
    follower.set_model(keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)]))
    follower.model.stop_training = False  # as fit sets it
    follower.on_epoch_end(0, {"dev_wer": 0.2})
    assert not follower.model.stop_training
    follower.on_epoch_end(0, {"dev_wer": 0.1})
    assert follower.model.stop_training
    follower.on_train_batch_end(1)  # no signal: nothing
    Stop.requested = signal.SIGTERM
    with pytest.raises(TrainingStopped, match="after batch 2"):
        follower.on_train_batch_end(1)
    follower.on_train_batch_end(4)  # the last batch: the epoch-end checkpoint follows


def test_bad_distribute_options_are_clear_errors(monkeypatch):
    with pytest.raises(ConfigError, match="choose one of none, data-parallel, mirrored"):
        DistributeConfig("data-paralel")
    with pytest.raises(ConfigError, match=r"keras-team/keras#20585.*KERAS_BACKEND=jax"):
        DistributeConfig("multi-worker")
    with pytest.raises(ConfigError, match="runs on one machine.*JAX backend"):
        DistributeConfig("mirrored", num_processes=2, process_id=0)
    with pytest.raises(ConfigError, match="process_id 2 is not below num_processes 2"):
        DistributeConfig("data-parallel", "10.0.0.1:1234", 2, 2)
    with pytest.raises(ConfigError, match="HOST:PORT"):
        DistributeConfig("data-parallel", "10.0.0.1", 2, 0)
    with pytest.raises(ConfigError, match="need --distribute data-parallel"):
        DistributeConfig(num_processes=2)
    with pytest.raises(ConfigError, match="unknown option"):
        TrainConfig.from_dict({"distribute": {"kind": "none", "workers": 2}})
    assert TrainConfig.from_dict({"epochs": 2}).distribute == DistributeConfig()  # old run.json
    backend = keras.backend.backend()
    other = "mirrored" if backend == "jax" else "data-parallel"
    with pytest.raises(ConfigError, match=f"--distribute {other} needs the"):
        start_distribution(DistributeConfig(other))
    if backend == "tensorflow":  # several processes: refused before anything starts
        with pytest.raises(ConfigError, match=r"TensorFlow backend.*keras-team/keras#20585"):
            start_distribution(DistributeConfig("data-parallel", "127.0.0.1:1", 2, 0))
        monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
        with pytest.raises(ConfigError, match="KERAS_DISTRIBUTION_NUM_PROCESSES.*JAX backend"):
            start_distribution(DistributeConfig("mirrored"))
        monkeypatch.delenv("KERAS_DISTRIBUTION_NUM_PROCESSES")


def test_cli_names_the_distribute_choices(speech_corpus, tmp_path):
    manifest = str(speech_corpus / "train.jsonl")
    base = ["train", "--train", manifest, "--dev", manifest, "--out", str(tmp_path / "run")]
    result = CliRunner().invoke(main, [*base, "--distribute", "ring"])
    assert result.exit_code == 1
    assert "'ring' (--distribute): choose one of none, data-parallel, mirrored" in result.output
    result = CliRunner().invoke(main, [*base, "--distribute", "mirrored", "--num-processes", "2"])
    assert result.exit_code == 1 and "keras-team/keras#20585" in result.output
    assert not (tmp_path / "run").exists()


def test_ema_with_several_processes_is_refused_before_training(speech_corpus, tmp_path,
                                                               monkeypatch):
    """The EMA swap at checkpoints runs on process 0 alone, a collective step the other
    processes would never join: refused with a clear error instead of a hang."""
    import dataclasses

    from edgeasr.training import trainer

    several = Distributed("data-parallel", processes=2, process_index=0, replicas=2)
    monkeypatch.setattr(trainer, "start_distribution", lambda config: several)
    config = TrainConfig(epochs=1, batch_size=2)
    config = config.replace(optim=dataclasses.replace(config.optim, ema=0.99))
    manifest = speech_corpus / "train.jsonl"
    with pytest.raises(ConfigError, match="ema with several training processes"):
        trainer.train(manifest, manifest, tmp_path / "run", None, config, echo=lambda _: None)


def test_accumulation_under_mirrored_is_refused_before_training(speech_corpus, tmp_path,
                                                               monkeypatch):
    """Keras 3's accumulation step fails inside MirroredStrategy (merge_call in a cond):
    a clear error before training, pointing to JAX data-parallel."""
    import dataclasses

    from edgeasr.training import trainer

    mirrored = Distributed("mirrored", replicas=2)
    monkeypatch.setattr(trainer, "start_distribution", lambda config: mirrored)
    config = TrainConfig(epochs=1, batch_size=2)
    config = config.replace(optim=dataclasses.replace(config.optim, accumulate_steps=2))
    manifest = speech_corpus / "train.jsonl"
    with pytest.raises(ConfigError, match="accumulate_steps > 1 does not run under "
                                          "--distribute mirrored.*data-parallel"):
        trainer.train(manifest, manifest, tmp_path / "run", None, config, echo=lambda _: None)
