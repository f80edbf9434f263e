"""Corpus recipes (edgeasr.prepare.corpora): each on a tiny corpus in its real on-disk layout.
Bad input, the dispatcher and the CLI: test_corpora_errors.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from corpus_support import (
    HAVE_MP3,
    NO_MP3,
    all_utterances,
    check_counts,
    make_fsdd,
    manifest_lines,
    reasons,
    run,
    tone,
)

from edgeasr.prepare.corpora.common import CorpusError

# --------------------------------------------------------------------------- librispeech

def make_librispeech(root: Path, layout: dict[str, dict[str, int]]) -> dict[str, float]:
    """``{split folder: {speaker: utterances}}`` -> durations by utterance ID."""
    durations = {}
    for split, speakers in layout.items():
        for speaker, count in speakers.items():
            chapter = root / split / speaker / "100"
            lines = []
            for i in range(count):
                uid = f"{speaker}-100-{i:04d}"
                durations[uid] = tone(chapter / f"{uid}.flac", 0.1 + 0.02 * i)
                lines.append(f"{uid} HELLO WORLD NUMBER {i}")
            chapter.mkdir(parents=True, exist_ok=True)
            (chapter / f"{speaker}-100.trans.txt").write_text("\n".join(lines) + "\n")
    return durations


def test_librispeech_root_keeps_official_splits(tmp_path):
    root = tmp_path / "LibriSpeech"
    durations = make_librispeech(root, {"train-clean-100": {"19": 3, "26": 2},
                                        "dev-clean": {"84": 2}, "test-other": {"61": 2}})
    manifests, report = run("librispeech", tmp_path, tmp_path / "out")
    splits = all_utterances(manifests)
    assert {k: len(v) for k, v in splits.items()} == {"train": 5, "dev": 2, "test": 2}
    assert {u.speaker for u in splits["train"]} == {"19", "26"}
    assert [u.speaker for u in splits["test"]] == ["61", "61"]
    first = splits["train"][0]
    assert first.text == "HELLO WORLD NUMBER 0" and first.audio_path.suffix == ".flac"
    for utterance in (u for members in splits.values() for u in members):
        assert utterance.duration == pytest.approx(durations[utterance.audio_path.stem], abs=1e-4)
    assert manifest_lines(manifests["dev"])[0]["audio_filepath"].startswith("/")  # outside OUT
    assert report["split_method"] == "official splits" and report["skipped"] == 0
    assert "dev-clean, test-other, train-clean-100" in report["layout"]
    check_counts(report)


def test_librispeech_single_folder_is_split_speaker_disjoint(tmp_path):
    make_librispeech(tmp_path, {"train-clean-100": {str(s): 2 for s in range(10, 22)}})
    manifests, report = run("librispeech", tmp_path / "train-clean-100", tmp_path / "out")
    speakers = {k: {u.speaker for u in v} for k, v in all_utterances(manifests).items()}
    assert all(speakers.values())
    assert not (speakers["train"] & speakers["dev"] or speakers["train"] & speakers["test"])
    assert report["split_method"].startswith("speaker-disjoint split of 12 speakers")


def test_librispeech_missing_and_unlisted_audio(tmp_path):
    make_librispeech(tmp_path, {"train-clean-5": {"84": 3, "85": 1, "86": 1}})
    chapter = tmp_path / "train-clean-5" / "84" / "100"
    (chapter / "84-100-0001.flac").unlink()
    tone(chapter / "84-100-0009.flac")
    _, report = run("librispeech", tmp_path, tmp_path / "out")
    assert reasons(report) == {"missing_audio": [f"{chapter / '84-100.trans.txt'}:2"],
                               "missing_transcript": [str(chapter / "84-100-0009.flac")]}
    assert "dev and test carved out of train" in report["split_method"]  # only a train-* folder
    check_counts(report)


# --------------------------------------------------------------------------- mls

def test_mls_official_splits_flac_and_opus(tmp_path):
    lines_by_split = {}
    for split, speakers, ext in (("train", ("10", "11"), ".flac"), ("dev", ("20",), ".opus"),
                                 ("test", ("30",), ".flac")):
        lines = []
        for speaker in speakers:
            for seq in range(2):
                uid = f"{speaker}_500_{seq:06d}"
                kwargs = {"format": "OGG", "subtype": "OPUS"} if ext == ".opus" else {}
                tone(tmp_path / split / "audio" / speaker / "500" / f"{uid}{ext}", **kwargs)
                lines.append(f"{uid}\tthe words of {speaker} number {seq}")
        lines_by_split[split] = lines
        (tmp_path / split / "transcripts.txt").write_text("\n".join(lines) + "\n")
    with (tmp_path / "test" / "transcripts.txt").open("a") as handle:
        handle.write("this line has no tab\n")
    manifests, report = run("mls", tmp_path, tmp_path / "out")
    splits = all_utterances(manifests)
    assert {k: len(v) for k, v in splits.items()} == {"train": 4, "dev": 2, "test": 2}
    assert splits["dev"][0].audio_path.suffix == ".opus"
    assert splits["dev"][0].duration == pytest.approx(0.2, abs=0.01)
    assert splits["train"][2].speaker == "11" and splits["train"][2].text == "the words of 11 number 0"
    assert reasons(report) == {"malformed_line": [f"{tmp_path / 'test' / 'transcripts.txt'}:3"]}
    check_counts(report)


# --------------------------------------------------------------------------- common voice

CV_HEADER = "client_id\tpath\tsentence\tup_votes\tdown_votes\tage\tgender\taccents\tlocale\tsegment"


def cv_row(client: str, clip: str, sentence: str) -> str:
    return f"{client}\t{clip}\t{sentence}\t2\t0\t\t\t\ten\t"


@pytest.mark.skipif(not HAVE_MP3, reason=NO_MP3)
def test_commonvoice_official_tsv_splits_with_mp3(tmp_path):
    for split, clients in (("train", "abc"), ("dev", "d"), ("test", "e")):
        rows = [CV_HEADER]
        for i, client in enumerate(clients):
            clip = f"common_voice_en_{split}{i}.mp3"
            tone(tmp_path / "clips" / clip, 0.5, format="MP3")
            rows.append(cv_row(client * 8, clip, f'He said "hello" {split} {i}.'))
        (tmp_path / f"{split}.tsv").write_text("\n".join(rows) + "\n")
    manifests, report = run("commonvoice", tmp_path, tmp_path / "out")
    splits = all_utterances(manifests)
    assert {k: len(v) for k, v in splits.items()} == {"train": 3, "dev": 1, "test": 1}
    assert splits["train"][1].speaker == "bbbbbbbb"
    assert splits["dev"][0].text == 'He said "hello" dev 0.'
    assert splits["test"][0].audio_path == (tmp_path / "clips" / "common_voice_en_test0.mp3").resolve()
    assert splits["test"][0].duration == pytest.approx(0.5, abs=0.06)
    assert report["split_method"] == "official splits"


def test_commonvoice_validated_only_is_split_by_client(tmp_path):
    rows = [CV_HEADER]
    for i in range(24):
        tone(tmp_path / "clips" / f"clip{i}.wav", 0.1)
        rows.append(cv_row(f"client{i % 8}", f"clip{i}.wav", f"sentence number {i}"))
    rows.append("client0\tclip99.wav")  # no sentence field
    (tmp_path / "validated.tsv").write_text("\n".join(rows) + "\n")
    manifests, report = run("commonvoice", tmp_path, tmp_path / "out")
    speakers = {k: {u.speaker for u in v} for k, v in all_utterances(manifests).items()}
    assert all(speakers.values()) and not speakers["train"] & (speakers["dev"] | speakers["test"])
    assert reasons(report) == {"malformed_line": [f"{tmp_path / 'validated.tsv'}:26"]}
    assert report["kept"] == 24


# --------------------------------------------------------------------------- ljspeech

def test_ljspeech_uses_normalized_column_and_splits_by_utterance(tmp_path):
    rows = []
    for i in range(20):
        tone(tmp_path / "wavs" / f"LJ001-{i:04d}.wav", 0.1, rate=22050)
        rows.append(f"LJ001-{i:04d}|In {1900 + i}, Mr. Smith|In nineteen {i}, Mister Smith")
    rows[3] = "LJ001-0003|only the raw text"
    rows.append("LJ001-0003|listed twice|listed twice")
    (tmp_path / "metadata.csv").write_text("\n".join(rows) + "\n")
    manifests, report = run("ljspeech", tmp_path, tmp_path / "out")
    everything = {u.audio_path.stem: u for v in all_utterances(manifests).values() for u in v}
    assert len(everything) == 20
    assert everything["LJ001-0001"].text == "In nineteen 1, Mister Smith"
    assert everything["LJ001-0003"].text == "only the raw text"
    assert everything["LJ001-0005"].duration == pytest.approx(2205 / 22050)
    assert all("speaker" not in line for line in manifest_lines(manifests["train"]))
    assert report["split_method"].startswith("split by utterance")
    assert {k: v["utterances"] for k, v in report["splits"].items()} == {"train": 16, "dev": 2, "test": 2}
    assert reasons(report) == {"duplicate_audio": [f"{tmp_path / 'metadata.csv'}:21"]}


# --------------------------------------------------------------------------- fsdd

def test_fsdd_official_test_part_and_digit_words(tmp_path):
    make_fsdd(tmp_path, range(7))
    manifests, report = run("fsdd", tmp_path, tmp_path / "out")
    splits = all_utterances(manifests)
    assert len(splits["test"]) == 3 * 3 * 5
    assert all(int(u.audio_path.stem.split("_")[2]) < 5 for u in splits["test"])
    assert len(splits["train"]) + len(splits["dev"]) == 18 and splits["dev"]
    utterance = next(u for u in splits["test"] if u.audio_path.name == "2_jackson_0.wav")
    assert (utterance.text, utterance.speaker, utterance.duration) == ("two", "jackson", 0.1)
    assert "dev carved out of train" in report["split_method"]


def test_fsdd_without_test_part_bad_names_and_duplicate_ids(tmp_path):
    make_fsdd(tmp_path, range(5, 9), speakers=("a", "b", "c", "d", "e", "f"))
    tone(tmp_path / "recordings" / "notes.wav")
    tone(tmp_path / "recordings" / "1_a_5.flac")  # same ID as 1_a_5.wav
    manifests, report = run("fsdd", tmp_path / "recordings", tmp_path / "out")
    assert report["split_method"].startswith("speaker-disjoint split of 6 speakers")
    assert reasons(report) == {"unrecognised_name": [str(tmp_path / "recordings" / "notes.wav")],
                               "duplicate_id": [str(tmp_path / "recordings" / "1_a_5.wav")]}
    assert report["kept"] == 72
    check_counts(report)


# --------------------------------------------------------------------------- folder

def test_folder_with_speaker_folders_and_relative_paths(tmp_path):
    durations = {}
    for speaker, formats in (("alice", ("wav", "flac")), ("bob", ("ogg", "wav")),
                             ("carol", ("wav", "flac")), ("dave", ("wav", "wav"))):
        for i, fmt in enumerate(formats):
            path = tmp_path / speaker / f"{speaker}{i}.{fmt}"
            durations[path.name] = tone(path, 0.1 + 0.05 * i)
            path.with_suffix(".txt").write_text(f"{speaker} line one\nand two {i}\n")
    tone(tmp_path / "dave" / "untranscribed.wav")
    (tmp_path / "eve").mkdir()
    (tmp_path / "eve" / "orphan.txt").write_text("no audio for me")
    manifests, report = run("folder", tmp_path, tmp_path, speaker_from_folder=True)
    splits = all_utterances(manifests)
    everything = [u for v in splits.values() for u in v]
    assert len(everything) == 8
    assert {u.speaker for u in everything} == {"alice", "bob", "carol", "dave"}
    alice = next(u for u in everything if u.audio_path.name == "alice1.flac")
    assert alice.text == "alice line one and two 1"
    assert all(u.duration == pytest.approx(durations[u.audio_path.name], abs=1e-4) for u in everything)
    paths = [line["audio_filepath"] for m in manifests.values() for line in manifest_lines(m)]
    assert paths and all(not p.startswith("/") for p in paths)  # inside OUT: relative
    assert reasons(report) == {"missing_transcript": [str(tmp_path / "dave" / "untranscribed.wav")],
                               "missing_audio": [str(tmp_path / "eve" / "orphan.txt")]}


def test_folder_top_level_split_folders_are_official(tmp_path):
    for split in ("train", "valid", "test"):
        for i in range(2):
            tone(tmp_path / split / f"u{i}.wav")
            (tmp_path / split / f"u{i}.txt").write_text(f"{split} {i}")
    manifests, report = run("folder", tmp_path, tmp_path / "out")
    splits = all_utterances(manifests)
    assert [u.text for u in splits["dev"]] == ["valid 0", "valid 1"]
    assert report["split_method"] == "official splits"


# --------------------------------------------------------------------------- table

def test_table_prompts_layout_with_wav_folder_and_names_without_extension(tmp_path):
    rows = ["file\ttext"]
    for i in range(12):
        tone(tmp_path / "wav" / f"prompt-{i}.wav", rate=8000)
        rows.append(f"prompt-{i}{'.wav' if i % 2 else ''}\tPress {i} now, please.")
    (tmp_path / "prompts.tsv").write_text("\n".join(rows) + "\n")
    manifests, report = run("table", tmp_path, tmp_path / "out")
    everything = {u.audio_path.name: u for v in all_utterances(manifests).values() for u in v}
    assert len(everything) == 12 and everything["prompt-4.wav"].text == "Press 4 now, please."
    assert report["layout"] == "prompts.tsv: tab-separated, with header"


def test_table_csv_header_quotes_speakers_and_custom_columns(tmp_path):
    rows = ["id,Wav Name,words,speaker"]
    for i in range(12):
        tone(tmp_path / "audio" / f"{i}.flac")
        rows.append(f'{i},audio/{i}.flac,"Hello, world {i}",spk{i % 6}')
    table = tmp_path / "list.csv"
    table.write_text("\n".join(rows) + "\n")
    with pytest.raises(CorpusError, match=r"list.csv:1: no column named path .*--path-column"):
        run("table", table, tmp_path / "out")
    manifests, report = run("table", table, tmp_path / "out", path_column="wav name",
                            text_column="WORDS")
    everything = [u for v in all_utterances(manifests).values() for u in v]
    assert sorted(u.text for u in everything)[0] == "Hello, world 0"
    assert {u.speaker for u in everything} == {f"spk{i}" for i in range(6)}
    assert report["split_method"].startswith("speaker-disjoint split of 6 speakers")


def test_table_without_header_sniffed_delimiter_and_indexes(tmp_path):
    for i in range(5):
        tone(tmp_path / f"a{i}.wav")
    (tmp_path / "two.txt").write_text("".join(f"a{i}.wav|text {i}\n" for i in range(5)))
    _, report = run("table", tmp_path / "two.txt", tmp_path / "o1")
    assert report["kept"] == 5 and "'|'-separated, without header" in report["layout"]
    (tmp_path / "three.csv").write_text("".join(f"x;a{i}.wav;text {i}\n" for i in range(5)))
    with pytest.raises(CorpusError, match="three.csv:1: .*not a 2-column table"):
        run("table", tmp_path / "three.csv", tmp_path / "o2")
    _, report = run("table", tmp_path / "three.csv", tmp_path / "o2", path_column="1",
                    text_column="2")
    assert report["kept"] == 5
