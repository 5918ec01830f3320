"""Readers against the official preprocessing, on real scores, and every bad input."""

from __future__ import annotations

from pathlib import Path

import music21
import numpy as np
import pytest
from conftest import DATA, GOLDEN

from clamp3.errors import InputError, PartialInputError, UnsupportedFormatError
from clamp3.formats import read_items
from clamp3.formats.abc import MAX_ABC2XML_CHARS, abc_to_musicxml, interleave, is_interleaved, split_tunes
from clamp3.formats.base import decode_utf8
from clamp3.formats.musicxml import musicxml_to_abc
from clamp3.formats.plain_abc import plain_tune_to_interleaved
from clamp3.models.patchilizer import Patchilizer

CONVERT = GOLDEN / "convert"
CORPUS = Path(music21.corpus.__file__).parent


def test_musicxml_to_interleaved_abc_matches_the_official_pipeline():
    """64 MusicXML files of the music21 corpus; official outputs made by batch_xml2abc.py +
    batch_interleaved_abc.py (see tests/data/README.md)."""
    names = (CONVERT / "musicxml_sample.txt").read_text().split("\n")
    names = [n for n in names if n]
    assert len(names) >= 50
    identical, differ, official_failed = [], [], []
    for name in names:
        source = CORPUS / name.replace("__", "/")
        expected = CONVERT / "abc_official" / (Path(name).stem + ".abc")
        ours = read_items(source)[0].data
        if not expected.exists():
            official_failed.append(name)
        elif expected.read_text(encoding="utf-8") == ours:
            identical.append(name)
        else:
            differ.append(name)
    compared = len(identical) + len(differ)
    assert len(identical) / compared >= 0.98, differ
    # the official xml2abc cannot open an .mxl whose score is named .musicxml; ours can
    assert official_failed == ["beethoven__opus59no3__movement3.mxl"]


def test_midi_to_mtf_matches_the_official_converter_on_every_file():
    midis = sorted((CONVERT / "midi").glob("*.mid"))
    assert len(midis) >= 50
    for midi in midis:
        expected = (CONVERT / "mtf_official" / f"{midi.stem}.mtf").read_text(encoding="utf-8")
        assert read_items(midi)[0].data == expected, midi.name


def test_mtf_drops_text_meta_messages(tmp_path):
    import mido

    midi = mido.MidiFile(ticks_per_beat=96)
    track = mido.MidiTrack(
        [
            mido.MetaMessage("track_name", name="Sopran"),
            mido.MetaMessage("lyrics", text="Fröhlich"),
            mido.MetaMessage("key_signature", key="C"),
            mido.Message("note_on", note=60, velocity=64, time=0),
            mido.Message("note_off", note=60, velocity=0, time=96),
        ]
    )
    midi.tracks.append(track)
    midi.save(tmp_path / "a.mid")
    assert read_items(tmp_path / "a.mid")[0].data == (
        # values of each message's dict(): type, [time,] fields; delta time in ticks
        "ticks_per_beat 96\nkey_signature C 0\nnote_on 0 0 60 64\nnote_off 96 0 60 0\nend_of_track 0"
    )


def test_score_formats_read_through_music21_and_musicxml():
    for name in ("bwv10.7.mxl", "bwv10.7_plain.xml", "bwv277.krn"):
        (item,) = read_items(DATA / "scores" / name)
        assert item.kind == "abc" and item.modality == "symbolic"
        assert is_interleaved(item.data)
        assert "[V:1]" in item.data and "[V:4]" in item.data
    compressed = read_items(DATA / "scores" / "bwv10.7.mxl")[0].data
    assert compressed == read_items(DATA / "scores" / "bwv10.7_plain.xml")[0].data


@pytest.mark.parametrize("work", ["bach/bwv277.krn", "palestrina/Agnus_01.krn", "palestrina/Kyrie_25.krn"])
def test_music21_scores_export_the_musicxml_of_music21s_exporter(work):
    """The exporter's steps done in place give the bytes its copying export gives (dates and ids aside)."""
    import re

    from music21.musicxml.m21ToXml import GeneralObjectExporter

    from clamp3.formats.scores import _export

    def bare(xml: bytes) -> bytes:
        return re.sub(rb"<encoding-date>[^<]*</encoding-date>", b"", re.sub(rb' id="[^"]*"', b"", xml))

    path = str(Path(music21.corpus.__file__).parent / work)
    expected = bare(GeneralObjectExporter(music21.converter.parse(path, forceSource=True)).parse())
    assert bare(_export(music21.converter.parse(path, forceSource=True))) == expected


def test_tune_book_yields_one_interleaved_item_per_tune():
    items = read_items(DATA / "scores" / "essen_book.abc")
    assert [i.name for i in items] == ["essen_book#1", "essen_book#2", "essen_book#3"]
    for item in items:
        assert is_interleaved(item.data), item.data
        assert "T:" not in item.data and "X:" not in item.data


def test_interleaved_abc_is_kept_as_it_is():
    path = GOLDEN / "embed_tiny" / "inputs" / "score_1.abc"
    assert read_items(path)[0].data == path.read_text(encoding="utf-8")


def test_official_interleaved_abc_with_multi_line_voice_names_is_read_as_written():
    """The official pipeline's output for bach/bwv171.6.mxl: xml2abc leaves carriage returns in
    part names and the official interleaving reads them as line ends, so ``V:`` lines run over
    several lines. The official extract_clamp3.py feeds the file as it is to its patchilizer;
    its patches are stored beside it (tests/data/README.md)."""
    path = CONVERT / "multiline_names" / "bach__bwv171.6.abc"
    text = path.read_text(encoding="utf-8")
    assert 'nm="Soprano\nOboe 1,2\nViolin1"' in text
    (item,) = read_items(path)
    assert item.data == text
    official = np.load(CONVERT / "multiline_names" / "bach__bwv171.6_patches.npz")["patches"]
    assert np.array_equal(Patchilizer().encode(item.data), official)


def test_carriage_returns_in_part_names_end_lines_as_in_the_official_pipeline():
    ours = read_items(CORPUS / "bach" / "bwv171.6.mxl")[0].data
    assert ours == (CONVERT / "multiline_names" / "bach__bwv171.6.abc").read_text(encoding="utf-8")


def test_header_lines_broken_off_a_field_keep_text_interleaved():
    # as the official pipeline writes a title and a part name that held carriage returns
    header = 'erhebt den Herren\nL:1/8\nK:G\nV:1 treble nm="Soprano\n"Cantus" | 1" snm="S."\nV:2 bass\n'
    assert is_interleaved(header + "[V:1]d4|[V:2]G,4|\n%comment\n[V:1]d2|[V:2]G,2|\n")
    assert not is_interleaved(header + "V:1\nd4 | d2 |\n[V:2]G,4|\n")  # music outside the voices' lines
    assert not is_interleaved(header + "[V:1]d4|[V:2]G,4|\nd2 e2 |\n")
    assert not is_interleaved("X:1\nK:C\nCDEF|\n")


def test_every_official_interleaved_file_is_read_as_written():
    """What the official preprocessing writes is what the model reads: no conversion again."""
    for path in sorted(CONVERT.glob("*/*.abc")):
        assert read_items(path)[0].data == path.read_text(encoding="utf-8"), path.name


# One tune per rule that clamp3.formats.plain_abc restates from abc2xml and xml2abc.
PLAIN_TUNES = {
    "beams and spaces": "X:1\nM:2/4\nL:1/8\nK:G\nAB cd|A Bc d|AzB2|A z B c|AB2c|\n",
    "measure rests": "X:1\nM:3/8\nL:1/8\nK:C\nABc|z3|AB z3|cz2|A2z|zAB|\n",
    "whole-measure rest in 4/4": "X:1\nM:4/4\nL:1/8\nK:C\nABcd efga|z8|AB z4 cd|\n",
    "broken rhythms": "X:1\nM:4/4\nL:1/16\nK:D\nA3Bc3d e3fg3a|Bz3A c3z E3z z3E|A3 B c3d2 e6f|\n",
    "accidentals": "X:1\nM:4/4\nL:1/8\nK:F\n^F F f =B B _B b B|=b b B ^c c C c' c|_E e =e E ^G ^G =G G|\n",
    "octaves": "X:1\nM:4/4\nL:1/8\nK:C\nc'' C,, c, C' c,,, C''' a' A,|\n",
    "empty bars at the ends": "X:1\nM:3/4\nL:1/4\nK:Bb\n | B c d | e f\ng | z3 | z3\n",
    "closing barline": "X:1\nM:3/4\nL:1/4\nK:Eb\nB c d | e f g | a3 |\n",
    "minor key, L: before M:": "X:1\nL:1/8\nM:6/8\nK:Dm\nDEF GAB|c3 =B3|^c2d e2f|\n",
    "no meter": "X:1\nM:none\nL:1/8\nK:A\nA2B2 c4 | z8 | A8 z8 |\n",
    "short unit": "X:1\nM:2/4\nL:1/32\nK:E\nA2B2c4d8 | e3f g5a3 b7c' | E16 |\n",
    "whole-note unit": "X:1\nM:4/2\nL:1/1\nK:C#\nA B | c2 | d |\n",
    "odd lengths": "X:1\nM:4/4\nL:1/16\nK:Ab\nA5B3 c7d e11f | A9 B7 |\n",
    "bars over line ends": "X:1\nM:2/4\nL:1/16\nK:G\nA2B2 \n c2d2 | e2f2\ng2a2 | b4\n  a4 |\n",
    "fields": "\nX:7\nT: Tanz\nN: A0001]\nO: Europa\nR: Lied\nS: Quelle, 1900]\nM: 3/4\nL: 1/8\nK: Ab\nA2B2c2|d6|\n\n",
}


def _round_trip(tune: str, path: Path) -> str:
    """The route plain tunes skip: abc2xml, MusicXML written and parsed, xml2abc, interleaving."""
    try:
        return interleave(musicxml_to_abc(abc_to_musicxml(tune, path), path.with_suffix(".xml")), path)
    except InputError as exc:
        return f"error: {exc.reason}"


def _abc_tunes(paths: list[Path]) -> list[tuple[str, str]]:
    tunes = []
    for path in paths:
        try:
            text = decode_utf8(path, path.read_bytes())
        except InputError:
            continue
        tunes += [(f"{path.name}#{number}", tune) for number, tune in split_tunes(text)]
    return tunes


def test_plain_tunes_are_written_as_the_musicxml_round_trip_writes_them():
    """Byte for byte: a tune per rule, every ABC tune under tests/data and every 10th plain tune of
    every 25th of music21's ABC books (benchmarks/reading.py --check compares all of them)."""
    corpus = sorted(Path(p) for p in music21.corpus.getCorePaths() if str(p).endswith(".abc"))[::25]
    corpus_plain = [(n, t) for n, t in _abc_tunes(corpus) if plain_tune_to_interleaved(t) is not None][::10]
    tunes = list(PLAIN_TUNES.items()) + _abc_tunes(sorted(DATA.rglob("*.abc"))) + corpus_plain
    compared = 0
    for name, tune in tunes:
        plain = plain_tune_to_interleaved(tune)
        if plain is not None and len(tune) <= MAX_ABC2XML_CHARS:  # longer ones the reader refuses first
            assert plain == _round_trip(tune, Path(name)), name
            compared += 1
    assert compared >= len(PLAIN_TUNES) + len(corpus_plain) >= 40


@pytest.mark.parametrize(
    "body",
    ["AB-B cd|", "AB cd", "[AC] B|", "A/B/ c2|", "(3ABc d|", "~A B|", '"C"A B|', "AB||cd|", "AB|\nK:D\ncd|", "AB|%x", "AB\tcd|"],
)
def test_tunes_that_are_not_plain_take_the_round_trip(body):
    assert plain_tune_to_interleaved(f"X:1\nM:2/4\nL:1/8\nK:G\n{body}\n") is None


@pytest.mark.parametrize(
    "header",
    ["M:2/4\nL:1/8\nK:G", "X:1\nM:C\nL:1/8\nK:G", "X:1\nM:2/4\nL:1/64\nK:G", "X:1\nM:2/4\nL:1/8\nK:Gmix",
     "X:1\nM:2/4\nL:1/8\nQ:1/4=90\nK:G", "X:1\nT:a\x85b\nM:2/4\nL:1/8\nK:G", "X:1\nT:a\\\nM:2/4\nL:1/8\nK:G",
     "X:1\nX:2\nM:2/4\nL:1/8\nK:G"],
)  # fmt: skip
def test_headers_that_are_not_plain_take_the_round_trip(header):
    assert plain_tune_to_interleaved("X:1\nM:2/4\nL:1/8\nK:G\nAB cd|\n") is not None
    assert plain_tune_to_interleaved(f"{header}\nAB cd|\n") is None


def test_split_tunes_keeps_single_tunes_whole_and_the_preamble_on_each():
    assert split_tunes("X:1\nK:C\nC|\n") == [("", "X:1\nK:C\nC|\n")]
    tunes = split_tunes("%%pre\nX:4\nK:C\nC|\nX:7\nK:D\nD|\n")
    assert tunes == [("4", "%%pre\nX:4\nK:C\nC|\n"), ("7", "%%pre\nX:7\nK:D\nD|\n")]
    assert [n for n, _ in split_tunes("X:1\nK:C\nC|\nX:1\nK:D\nD|\n")] == ["1", "2"]


def test_text_and_features_readers(tmp_path):
    (item,) = read_items(GOLDEN / "embed_tiny" / "inputs" / "text_multi.txt")
    assert item.modality == "text"
    np.save(tmp_path / "f.npy", np.ones((1, 5, 8), dtype=np.float64))
    (item,) = read_items(tmp_path / "f.npy")
    assert item.data.shape == (5, 8) and item.data.dtype == np.float32 and item.modality == "audio"


@pytest.mark.parametrize(
    "name, reason",
    [
        ("empty.abc", "file is empty"),
        ("garbage.abc", "not UTF-8 text"),
        ("garbage.mid", "not a readable MIDI file"),
        ("garbage.xml", "not well-formed XML"),
        ("truncated.mxl", "not a readable .mxl archive"),
        ("nomsg.mid", "no channel messages"),
        ("nobars.abc", "ABC has no bars"),
        ("latin1.txt", "not UTF-8 text (byte 0xe7 at offset 12)"),
    ],
)
def test_bad_input_raises_one_clear_line(name, reason):
    with pytest.raises(InputError) as info:
        read_items(DATA / "bad" / name)
    message = str(info.value)
    assert message.startswith(str(DATA / "bad" / name)) and reason in message
    assert "\n" not in message


def test_a_bad_tune_in_a_book_keeps_the_good_ones():
    with pytest.raises(PartialInputError) as info:
        read_items(DATA / "bad" / "book_one_bad.abc")
    assert [i.name for i in info.value.items] == ["book_one_bad#1", "book_one_bad#2"]
    assert [str(e) for e in info.value.errors] == [f"{DATA / 'bad' / 'book_one_bad.abc'}#9: ABC has no bars (no '|' in the tune body)"]


def test_bad_features(tmp_path):
    np.save(tmp_path / "nan.npy", np.full((3, 4), np.nan, dtype=np.float32))
    np.save(tmp_path / "cube.npy", np.zeros((2, 3, 4), dtype=np.float32))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    for name, reason in [("nan.npy", "NaN"), ("cube.npy", "(frames, dim)"), ("junk.npy", "not a NumPy")]:
        with pytest.raises(InputError, match=reason.replace("(", r"\(").replace(")", r"\)")):
            read_items(tmp_path / name)


def test_unsupported_extension_names_the_supported_set(tmp_path):
    (tmp_path / "song.xyz").write_bytes(b"x")
    with pytest.raises(UnsupportedFormatError, match=r"unsupported file type '.xyz'; expected one of .txt .abc"):
        read_items(tmp_path / "song.xyz")
