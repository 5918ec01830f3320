"""Previews for the app: scores engraved to SVG by verovio, and short waveforms to play."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import DATA, GOLDEN

from clamp3.errors import InputError, UnsupportedFormatError
from clamp3.formats.audio import load_audio
from clamp3.preview import MAX_BYTES, audio_preview, score_svg

SCORES = DATA / "scores"
BAD = DATA / "bad"
MIDI = GOLDEN / "convert" / "midi" / "bwv10.7.mid"
INTERLEAVED_CHORALE = GOLDEN / "convert" / "abc_official" / "bach__bwv328.abc"

TWO_VOICES = """X:1
T:Two voices
M:4/4
L:1/8
K:G
V:1 treble
V:2 bass
[V:1]GABc d2B2|[V:2]G,,2D,2 G,2D,2|
[V:1]c2A2 B2G2|[V:2]A,,2E,2 G,,2B,,2|
"""

# Text from the file reaches the SVG in the title, part names, annotations and lyrics.
HOSTILE = """X:1
T:<script>alert(1)</script>
M:4/4
L:1/8
K:G
V:1 treble nm="<script>alert(2)</script>"
V:2 bass nm="<b onmouseover=alert(3)>bass</b>"
[V:1]"^<script>alert(4)</script>"GABc d2B2|[V:2]G,,2D,2 G,2D,2|
w:<script>alert(5)</script> la la la
[V:1]c2A2 B2G2|[V:2]A,,2E,2 G,,2B,,2|
"""


def staves_in_first_measure(svg: str) -> int:
    # verovio draws one <g class="staff"> per staff inside every measure
    return svg.split('class="measure"', 2)[1].count('class="staff"')


def pages(svg: str) -> int:
    return svg.count('class="page-margin"')


@pytest.mark.parametrize(
    "path",
    [SCORES / "essen_book.abc", INTERLEAVED_CHORALE, SCORES / "bwv10.7.mxl", SCORES / "bwv10.7_plain.xml", MIDI, SCORES / "bwv277.krn"],
    ids=lambda path: path.name,
)
def test_every_score_format_is_engraved(path):
    svg = score_svg(path)
    assert svg.lstrip().startswith("<svg")
    assert pages(svg) == 1
    assert svg.count('class="note"') > 20


def test_a_chorale_gets_four_staves_from_musicxml_and_from_midi():
    assert staves_in_first_measure(score_svg(SCORES / "bwv10.7.mxl")) == 4
    assert staves_in_first_measure(score_svg(MIDI)) == 4  # one MIDI track per voice


def test_interleaved_abc_gets_one_staff_per_voice(tmp_path):
    """verovio's own ABC importer crashes on [V:n] lines; the preview goes through abc2xml."""
    path = tmp_path / "two.abc"
    path.write_text(TWO_VOICES, encoding="utf-8")
    svg = score_svg(path)
    assert staves_in_first_measure(svg) == 2
    assert svg.count('class="note"') == 10 + 8
    assert staves_in_first_measure(score_svg(INTERLEAVED_CHORALE)) == 4


def test_a_tune_book_shows_its_first_tune():
    svg = score_svg(SCORES / "essen_book.abc")
    assert staves_in_first_measure(svg) == 1
    first_tune_notes = sum(c.isalpha() and c.upper() in "ABCDEFG" for c in (SCORES / "essen_book.abc").read_text().split("X:2")[0].split("K: G")[1])
    assert svg.count('class="note"') == first_tune_notes


def test_a_tune_of_a_book_is_shown_by_its_number():
    text = (SCORES / "essen_book.abc").read_text()
    svg = score_svg(SCORES / "essen_book.abc", tune="3")
    third_tune_notes = sum(c.isalpha() and c.upper() in "ABCDEFG" for c in text.split("X:3")[1].split("K: A")[1])
    assert svg.count('class="note"') == third_tune_notes
    with pytest.raises(InputError, match="essen_book.abc: the book has no tune X:9"):
        score_svg(SCORES / "essen_book.abc", tune="9")


def test_max_pages_caps_the_pages():
    one, two = score_svg(INTERLEAVED_CHORALE), score_svg(INTERLEAVED_CHORALE, max_pages=3)
    assert (pages(one), pages(two)) == (1, 2)  # the first 32 bars (PREVIEW_ABC_LINES) fill two pages
    assert two.count('class="note"') > 1.5 * one.count('class="note"')
    with pytest.raises(ValueError, match="max_pages"):
        score_svg(INTERLEAVED_CHORALE, max_pages=0)


def test_text_from_the_file_is_escaped_in_the_svg(tmp_path):
    path = tmp_path / "hostile.abc"
    path.write_text(HOSTILE, encoding="utf-8")
    svg = score_svg(path)
    assert "<script" not in svg.lower() and "<b " not in svg
    for n in range(1, 6):  # every piece of text got through, as text
        assert f"alert({n})" in svg
    assert svg.count("&lt;script&gt;") == 4


@pytest.mark.parametrize("path", [MIDI, SCORES / "essen_book.abc", SCORES / "bwv10.7.mxl", INTERLEAVED_CHORALE], ids=lambda path: path.name)
def test_audio_preview_of_music_is_sound_at_24khz(path):
    rate, waveform = audio_preview(path, max_seconds=4.0)
    assert rate == 24_000
    assert waveform.dtype == np.float32 and waveform.ndim == 1
    assert 3 * rate < len(waveform) <= 4 * rate
    assert np.sqrt(np.mean(waveform**2)) > 1e-3


def test_audio_preview_of_audio_is_the_start_of_the_decoded_file():
    path = DATA / "audio" / "chorale_stereo_7s.wav"
    rate, waveform = audio_preview(path, max_seconds=5.0)
    np.testing.assert_array_equal(waveform, load_audio(path)[: 5 * rate])
    # 96 kHz, six channels: the streamed cut agrees with cutting the whole decode, but for the resampler's tail
    path = DATA / "bad_audio" / "six_channels_96k.wav"
    rate, waveform = audio_preview(path, max_seconds=0.25)
    assert len(waveform) == rate // 4
    np.testing.assert_allclose(waveform[:5000], load_audio(path)[:5000], atol=1e-5)


@pytest.mark.parametrize("name", ["garbage.mid", "nomsg.mid", "garbage.abc", "empty.abc", "garbage.xml", "truncated.mxl"])
def test_bad_files_raise_input_error_naming_the_file(name):
    for preview in (score_svg, audio_preview):
        with pytest.raises(InputError, match=name):
            preview(BAD / name)


def test_unsupported_formats_name_the_supported_ones():
    mtf = GOLDEN / "embed_tiny" / "inputs" / "midi_0.mtf"
    for preview in (score_svg, audio_preview):
        with pytest.raises(UnsupportedFormatError, match=r"midi_0\.mtf: no preview for '\.mtf' files; expected one of \.abc"):
            preview(mtf)
    with pytest.raises(UnsupportedFormatError, match=r"chorale_12s\.wav.*'\.wav'"):
        score_svg(DATA / "audio" / "chorale_12s.wav")


def test_files_over_the_size_limit_are_refused_unread(tmp_path):
    path = tmp_path / "huge.mid"
    with open(path, "wb") as file:
        file.truncate(MAX_BYTES + 2**20)  # sparse: nothing is written, nothing would parse
    for preview in (score_svg, audio_preview):
        with pytest.raises(InputError, match=r"huge\.mid: file is 21\.0 MB; previews are made for files up to 20 MB"):
            preview(path)


def test_a_long_abc_is_cut_to_its_first_lines_of_music():
    from clamp3.preview import PREVIEW_ABC_LINES, _abc_head

    tune = "X:1\nT:long\nM:4/4\nL:1/8\nK:C\n%%comment\n" + "".join("[V:1]cdef gabc'|[V:2]CDEF GABc|\n" for _ in range(10_000))
    head = _abc_head(tune)
    assert head.startswith("X:1\nT:long") and "%%comment" in head
    assert head.count("[V:1]") == PREVIEW_ABC_LINES
