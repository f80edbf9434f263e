"""Planning a synthetic corpus: which sentence each split gets, spoken by which voice.

A pure function of the config (and its text file): no engine is needed to plan, and the
same config always gives the same :class:`Job` list.

* ``train``: every engine's training voices (espeak: train accents x train variants),
  ``num_train`` distinct sentences.
* ``dev``: the training voices, sentences not in train.
* ``test_variants``: held-out voices of each engine that has some (espeak: the train
  accents x held-out variants); half seen, half new text.
* ``test_accents``: espeak's held-out accents x all variants (empty without espeak).

With several engines each utterance picks its engine uniformly, then a voice of it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from edgeasr.synth.corpus_config import SyntheticCorpusConfig
from edgeasr.synth.grammar import mixed_sentences
from edgeasr.synth.text_file import TextFileSentences, read_text_file, sentence_pool

__all__ = ["SPLITS", "Job", "plan_corpus", "voice_pools"]

SPLITS = ("train", "dev", "test_variants", "test_accents")


@dataclass(frozen=True)
class Job:
    """One utterance to synthesise: where it goes, what is said, and by which voice."""

    split: str
    index: int
    text: str
    engine: str
    voice: str  # espeak: "accent+variant"
    rate: int
    pitch: int
    seen_text: bool

    @property
    def speaker(self) -> str:
        return self.voice if self.engine == "espeak" else f"{self.engine}:{self.voice}"

    @property
    def relpath(self) -> str:
        return f"wavs/{self.split}/{self.index:06d}.wav"


def voice_pools(config: SyntheticCorpusConfig) -> dict[str, dict[str, tuple[tuple[str, ...], ...]]]:
    """split -> engine -> the lists a voice is drawn from (espeak: accents, then variants)."""
    pools: dict[str, dict[str, tuple[tuple[str, ...], ...]]] = {split: {} for split in SPLITS}
    for engine in config.engines:
        if engine == "espeak":
            all_variants = config.train_variants + config.test_variants
            pools["train"][engine] = (config.train_accents, config.train_variants)
            pools["test_variants"][engine] = (config.train_accents, config.test_variants)
            pools["test_accents"][engine] = (config.test_accents, all_variants)
        else:
            train, test = config.engine_voices(engine)
            pools["train"][engine] = (train,)
            if test:
                pools["test_variants"][engine] = (test,)
        pools["dev"][engine] = pools["train"][engine]
    return pools


def plan_corpus(config: SyntheticCorpusConfig, source: TextFileSentences | None = None
                ) -> list[Job]:
    """Every utterance of the corpus, split by split, as a pure function of the config.

    ``source`` is ``config.text_file`` already read (it is read here otherwise).
    """
    rng = random.Random(f"synthetic-corpus:{config.seed}")
    n_seen = round(config.num_test * config.seen_text_fraction)
    n_new = config.num_test - n_seen
    n = config.num_train + config.num_dev + 2 * n_new
    if config.text_file is None:  # exactly the pool of the espeak-only builder
        pool = mixed_sentences(n, seed=config.seed, digit_fraction=config.digit_fraction)
    else:
        pool = sentence_pool(source or read_text_file(config.text_file), n, config.text_fraction,
                             seed=config.seed, digit_fraction=config.digit_fraction)
    train_texts = pool[: config.num_train]
    new_texts = pool[config.num_train:]
    dev_texts, new_texts = new_texts[: config.num_dev], new_texts[config.num_dev:]
    texts = {"train": train_texts, "dev": dev_texts}
    for i, split in enumerate(("test_variants", "test_accents")):
        items = rng.sample(train_texts, min(n_seen, len(train_texts)))
        items += new_texts[i * n_new: (i + 1) * n_new]
        rng.shuffle(items)
        texts[split] = items

    pools = voice_pools(config)
    train_set = set(train_texts)
    jobs: list[Job] = []
    for split in SPLITS:
        engines = tuple(pools[split])
        for index, text in enumerate(texts[split] if engines else (), start=1):
            # One engine: no draw, so an espeak-only plan is the same as before engines existed.
            engine = engines[0] if len(engines) == 1 else rng.choice(engines)
            voice = "+".join(rng.choice(choices) for choices in pools[split][engine])
            jobs.append(Job(
                split=split, index=index, text=text, engine=engine, voice=voice,
                rate=rng.choice(config.rates), pitch=rng.randint(*config.pitch_range),
                seen_text=text in train_set,
            ))
    return jobs
