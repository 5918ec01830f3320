"""ABC notation to the interleaved ABC that M3 reads.

The second stage of the official preprocessing (``batch_interleaved_abc.py``): drop the fields
X: T: C: W: w: Z: and %%MIDI, drop bar-number comments, clean quoted text, strip empty bars
and rotate the voices so that each line holds one bar of every voice (``[V:1]..|[V:2]..|``).

Beyond the official script: a tune book yields one item per ``X:`` tune, text that is already
interleaved is kept as it is, and a tune without voice structure (folk-song ABC has no ``V:``)
goes through abc2xml and xml2abc first, the route the official README gives for other sources;
for a plain tune (notes, rests and barlines) :mod:`clamp3.formats.plain_abc` writes what that
route would, without running it.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import warnings
from pathlib import Path
from xml.etree import ElementTree

from abctoolkit.rotate import rotate_abc
from abctoolkit.utils import (
    Barlines,
    Quote_re,
    remove_bar_no_annotations,
    remove_information_field,
    strip_empty_bars,
)

from clamp3.errors import InputError, PartialInputError
from clamp3.formats.base import MAX_FILE_BYTES, Item, check_score_bars, decode_utf8, read_bytes
from clamp3.formats.plain_abc import plain_tune_to_interleaved

REMOVED_FIELDS = ["X:", "T:", "C:", "W:", "w:", "Z:", "%%MIDI"]
_FIELD_RE = re.compile(r"^[A-Za-z]:")
_TUNE_START_RE = re.compile(r"^X:", re.M)
_METER_SUM_RE = re.compile(r"\s*\d{1,3}(\s*\+\s*\d{1,3})*\s*")
_VOICE_ID_RE = re.compile(r"(?:^|\[)V:\s*([^\]\s]+)", re.M)
# Characters that a MusicXML text does not come back with once written and parsed again: a
# carriage return (read as a line end) and those XML 1.0 does not allow (refused).
_XML_CHANGED_RE = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")
# Limits that keep one file's conversion cheap, checked on the text before any conversion.
MAX_BARS = 10_000  # bars per voice of one tune: ten times the longest symphonic movement
MAX_TUNES = 100_000  # tunes in one book
# A tune without voice fields goes through abc2xml and xml2abc, which take more than linear time
# in the notes of a bar or a line: 6 KB of them take seconds. Folk songs, which come this way,
# are a few hundred bytes.
MAX_ABC2XML_CHARS = 8 * 1024
# abc2xml keeps its parser in module globals, so one conversion runs at a time per process.
_ABC2XML_LOCK = threading.Lock()


def _is_field_or_comment(line: str) -> bool:
    return bool(_FIELD_RE.match(line)) or line.startswith("%")


def _clean_quotes(lines: list[str]) -> list[str]:
    """Remove escaped quotes, and quoted text that holds a barline, from body lines.

    The official loop drops the escaped-quote removal again on a line where a quoted text
    with a barline is removed; the same result is kept here, since the embeddings depend on it.
    """
    cleaned = []
    for line in lines:
        if _is_field_or_comment(line):
            cleaned.append(line)
            continue
        result = line.replace('\\"', "")
        for quoted in re.findall(Quote_re, line):
            if any(barline in quoted for barline in Barlines):
                line = line.replace(quoted, "")
                result = line
        cleaned.append(result)
    return cleaned


def is_interleaved(abc: str) -> bool:
    """True for text in the form the official stage 2 writes: a header, then body lines that all
    start with an inline voice field ``[V:`` (fields and comments may come between them).

    Header lines are fields, comments and the lines that a field's value was broken into: xml2abc
    leaves carriage returns in part names (``nm="Soprano<CR>Oboe 1,2"``) and titles, and these end
    lines once the file is read in text mode, as the official scripts read it. Such a line is part
    of the header when it lies inside a quote that a field line opened, or holds no barline.
    """
    quoted = body = False
    for line in abc.split("\n"):
        if not line.strip():
            continue
        if quoted:
            pass  # the rest of a quoted value
        elif line.startswith("[V:"):
            body = True
        elif not _is_field_or_comment(line) and (body or "|" in line):
            return False  # music outside the voices' lines
        if quoted or not line.startswith("%"):
            quoted ^= line.count('"') % 2 == 1
    return body


def has_voices(abc: str) -> bool:
    return re.search(r"^V:", abc, re.M) is not None


def interleave(abc: str, path: Path) -> str:
    """Standard ABC of one tune (with ``V:`` voices) -> interleaved ABC, as the official stage 2."""
    # Line ends as the official stage 2 reads the file stage 1 wrote, in text mode: xml2abc leaves
    # carriage returns in part names and titles, and those end lines there.
    lines = [line for line in io.StringIO(abc, newline=None).readlines() if line.strip() != ""]
    with contextlib.redirect_stdout(io.StringIO()):  # abctoolkit prints its diagnostics
        try:  # abctoolkit raises a bare Exception when it finds no tune body
            lines = remove_information_field(abc_lines=lines, info_fields=REMOVED_FIELDS)
            lines = _clean_quotes(remove_bar_no_annotations(lines))
        except Exception as exc:
            raise InputError(path, f"cannot find the ABC tune body ({type(exc).__name__}: {exc})") from exc
        try:
            stripped, _ = strip_empty_bars(lines)
        except Exception as exc:  # abctoolkit raises KeyError/IndexError on malformed tunes
            raise InputError(path, f"cannot split the ABC into bars ({type(exc).__name__}: {exc})") from exc
        if stripped is None:
            raise InputError(path, "ABC voices have unequal bar counts, or every bar is empty")
        try:
            rotated = rotate_abc(stripped)
        except Exception as exc:
            raise InputError(path, f"cannot interleave the ABC voices ({type(exc).__name__}: {exc})") from exc
    if rotated is None:
        raise InputError(path, "cannot interleave the ABC voices")
    return "".join(rotated)


def _meter_numerator(text: str) -> int:
    """Stands in for ``eval`` in abc2xml, which evaluates the numerator of ``M:`` as Python (to
    allow M:2+3/4): ``M:__import__('os').system(...)/4`` ran code. Sums of whole numbers only;
    anything else raises, and abc2xml takes 4/4 as it does for any meter it cannot read."""
    if not _METER_SUM_RE.fullmatch(text):
        raise ValueError(f"not a meter: {text!r}")
    return sum(int(term) for term in text.split("+"))


def abc_to_score(abc: str, path: Path) -> ElementTree.Element:
    """Standard or interleaved ABC of one tune -> a MusicXML score, by Wim Vree's abc2xml."""
    with warnings.catch_warnings():  # abc2xml uses pyparsing's deprecated camelCase names
        warnings.simplefilter("ignore")
        from abctoolkit import abc2xml

    abc2xml.eval = _meter_numerator  # the module's one use of eval: see _meter_numerator
    with _ABC2XML_LOCK, contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            documents = abc2xml.getXmlDocs(abc)
        except Exception as exc:
            raise InputError(path, f"abc2xml failed ({type(exc).__name__}: {exc})") from exc
    if not documents:
        raise InputError(path, "not parseable as ABC (abc2xml produced no score)")
    return documents[0]


def abc_to_musicxml(abc: str, path: Path) -> bytes:
    """Standard or interleaved ABC of one tune -> MusicXML bytes."""
    return ElementTree.tostring(abc_to_score(abc, path), encoding="utf-8")


def abc_via_musicxml(abc: str, path: Path) -> str:
    """Standard ABC without voice fields -> MusicXML (abc2xml) -> standard ABC (xml2abc).

    abc2xml's score goes to xml2abc as it is, not written out and parsed again (a fifth of the
    time of a folk song). Parsing would turn a carriage return in a text into a line end and
    refuse characters that XML does not allow; a tune holding either takes the written route.
    """
    from clamp3.formats.musicxml import musicxml_to_abc, score_to_abc

    xml_path = path.with_suffix(".xml")
    if _XML_CHANGED_RE.search(abc):
        return musicxml_to_abc(abc_to_musicxml(abc, path), xml_path)
    return score_to_abc(abc_to_score(abc, path), xml_path)


def abc_to_interleaved(abc: str, path: Path) -> str:
    """Any single-tune ABC text -> interleaved ABC."""
    body = [line for line in abc.split("\n") if line.strip() and not _is_field_or_comment(line)]
    barlines = sum(line.count("|") for line in body)
    bars = barlines // max(1, len(set(_VOICE_ID_RE.findall(abc))))
    if bars > MAX_BARS:
        raise InputError(path, f"ABC tune has some {bars} bars per voice, over the limit of {MAX_BARS}")
    check_score_bars(path, barlines, "ABC tune")  # every voice's bars: more voices do not get round it
    if is_interleaved(abc):
        return abc
    if not barlines:
        raise InputError(path, "ABC has no bars (no '|' in the tune body)")
    if not has_voices(abc):
        if len(abc) > MAX_ABC2XML_CHARS:
            raise InputError(
                path, f"ABC tune without voice fields is {len(abc)} characters, over the {MAX_ABC2XML_CHARS} that are converted"
            )
        plain = plain_tune_to_interleaved(abc)  # the round trip's text, without it
        if plain is not None:
            return plain
        abc = abc_via_musicxml(abc, path)
    return interleave(abc, path)


def _tune_spans(text: str) -> tuple[str, list[tuple[str, int, int]]]:
    """A tune book's preamble and its tunes as (number, start, end); numbered by position when
    the X: numbers are missing or repeated. No tune at all, or one, is an empty list."""
    starts = [match.start() for match in _TUNE_START_RE.finditer(text)]
    if len(starts) <= 1:
        return text, []
    ends = starts[1:] + [len(text)]
    numbers = [text[start + 2 : end].split("\n", 1)[0].strip() for start, end in zip(starts, ends)]
    if len(set(numbers)) != len(numbers) or not all(numbers):
        numbers = [str(i) for i in range(1, len(starts) + 1)]
    return text[: starts[0]], list(zip(numbers, starts, ends))


def split_tunes(text: str) -> list[tuple[str, str]]:
    """A tune book -> [(tune number, tune text)], the preamble before the first X: kept on each.

    A file with at most one ``X:`` is one tune and is returned whole, as the official reads it.
    """
    preamble, spans = _tune_spans(text)
    if not spans:
        return [("", text)]
    return [(number, preamble + text[start:end]) for number, start, end in spans]


def book_tune(text: str, number: str | None) -> str:
    """Tune ``number`` of a book (as :func:`split_tunes` numbers them) with the book's preamble;
    the first tune for ``None``; the whole text when it holds one tune."""
    preamble, spans = _tune_spans(text)
    if not spans:
        return text
    for tune, start, end in spans:
        if number is None or tune == number:
            return preamble + text[start:end]
    raise KeyError(number)


def tune_of(path: Path, name: str) -> str | None:
    """The X: number of the item ``name`` that :func:`read_abc` made from ``path`` (``stem#X``),
    or None for a file read whole. The file's own name may hold a ``#``."""
    prefix = f"{path.stem}#"
    return name[len(prefix) :] if name.startswith(prefix) else None


def read_abc(path: Path) -> list[Item]:
    """An .abc file -> one interleaved-ABC item per tune.

    In a tune book, bad tunes raise :class:`PartialInputError` carrying the good ones, so a
    batch reports each bad tune and still keeps the rest.
    """
    text = decode_utf8(path, read_bytes(path))
    starts = [match.start() for match in _TUNE_START_RE.finditer(text)]
    if len(starts) > MAX_TUNES:
        raise InputError(path, f"ABC book holds {len(starts)} tunes, over the limit of {MAX_TUNES}")
    if len(starts) > 1 and starts[0] * len(starts) > MAX_FILE_BYTES:  # each tune gets a copy of the preamble
        raise InputError(path, f"the {starts[0]} characters before the first X: repeated on {len(starts)} tunes are too much")
    tunes = split_tunes(text)
    if len(tunes) == 1:
        return [Item(path, path.stem, "abc", abc_to_interleaved(text, path))]
    items, errors = [], []
    for number, tune in tunes:
        try:
            abc = abc_to_interleaved(tune, Path(f"{path}#{number}"))
        except InputError as exc:
            errors.append(exc)
            continue
        items.append(Item(path, f"{path.stem}#{number}", "abc", abc))
    if errors and not items:
        raise errors[0] if len(errors) == 1 else InputError(path, f"all {len(errors)} tunes failed: {errors[0].reason}")
    if errors:
        raise PartialInputError(path, items, errors)
    return items
