"""MusicXML (``.xml``, ``.musicxml``, ``.mxl``) to standard ABC, as the official
``batch_xml2abc.py`` makes it: Wim Vree's xml2abc with ``-d 8 -x``, run in-process.

abctoolkit ships xml2abc with one change against the copy in the official repository: stemless
notes come out as ``!stemless!`` instead of the ``s`` shorthand declared by ``U:s=!stemless!``.
:func:`_official_stemless` turns the former into the latter so that the text is the official one.
"""

from __future__ import annotations

import contextlib
import io
import re
import threading
import zipfile
from pathlib import Path
from types import SimpleNamespace
from xml.etree import ElementTree

from abctoolkit import xml2abc

from clamp3.errors import InputError
from clamp3.formats.base import MAX_FILE_BYTES, check_score_bars, read_bytes

MUSICXML_EXTENSIONS = (".xml", ".musicxml", ".mxl")
# xml2abc keeps its output object in a module global, so one conversion runs at a time per process.
_XML2ABC_LOCK = threading.Lock()
# Numbers xml2abc repeats something for: a character per octave or tremolo stroke, a loop pass
# per lyric verse up to the highest number. (element, attribute or None for its text)
REPEAT_COUNTS = (
    ("octave", None), ("display-octave", None), ("tuning-octave", None), ("clef-octave-change", None),
    ("octave-change", None), ("diatonic", None), ("chromatic", None), ("tremolo", None), ("lyric", "number"),
)  # fmt: skip
MAX_REPEAT_COUNT = 99

_MEASURE_RE = re.compile(rb"<measure[\s>]")  # a <measure> of any part


def _xml2abc_options() -> SimpleNamespace:
    # The command-line defaults of xml2abc, with -d 8 (L:1/8) and -x (no line breaks).
    return SimpleNamespace(
        u=None, m=0, c=0, d=8, n=0, b=0, o="", v=0, x=True, p=[], j=None, t=None, s=None,
        v1=None, ped=True, stm=False, i=None,
    )


def _official_stemless(abc: str) -> str:
    if "!stemless!" not in abc:
        return abc
    abc = abc.replace("!stemless!", "s")
    return re.sub(r"^(K:[^\n]*\n)", r"\1U:s=!stemless!\n", abc, count=1, flags=re.M)


def unpacked_musicxml(raw: bytes, path: Path) -> bytes:
    """MusicXML bytes as they are, or the score inside a compressed ``.mxl`` archive (told by its
    zip signature or its extension)."""
    if raw[:4] == b"PK\x03\x04" or path.suffix.lower() == ".mxl":
        return musicxml_from_mxl(raw, path)
    return raw


def musicxml_from_mxl(raw: bytes, path: Path) -> bytes:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            members = archive.infolist()
            # xml2abc takes the first .xml outside META-INF; newer files may only have .musicxml.
            for suffix in (".xml", ".musicxml"):
                for member in members:
                    if not member.filename.startswith("META") and member.filename.lower().endswith(suffix):
                        return _read_member(archive, member, path)
    except InputError:
        raise
    except Exception as exc:  # zipfile raises BadZipFile, ValueError, NotImplementedError, zlib.error, ...
        raise InputError(path, f"not a readable .mxl archive ({type(exc).__name__}: {exc})") from exc
    raise InputError(path, ".mxl archive holds no MusicXML file")


def _read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path) -> bytes:
    """The score in the archive, refused past the size limit (a zip bomb inflates no further)."""
    with archive.open(member) as file:
        raw = file.read(MAX_FILE_BYTES + 1)
    if len(raw) > MAX_FILE_BYTES:
        raise InputError(path, f"{member.filename} inflates to over {MAX_FILE_BYTES / 2**20:g} MB, the limit for a score")
    return raw


def _parse(raw: bytes, path: Path) -> ElementTree.Element:
    try:
        return ElementTree.fromstring(raw)
    except (ElementTree.ParseError, LookupError, ValueError) as exc:  # LookupError, ValueError: the declared encoding
        raise InputError(path, f"not well-formed XML ({type(exc).__name__}: {exc})") from exc


def _check_repeat_counts(root: ElementTree.Element, path: Path) -> None:
    """Refuse the numbers that xml2abc repeats something for: an octave of a billion would make a
    gigabyte string, a lyric verse of 10^19 a loop without end. MusicXML's own ranges are single
    digits; the check reads the parsed XML, as only the parser sees through character references."""
    for tag, attribute in REPEAT_COUNTS:
        for element in root.iter(tag):
            text = element.text if attribute is None else element.get(attribute)
            try:  # as xml2abc reads them; Sibelius writes verse numbers as "verse1"
                value = int(re.sub(r"^.*verse", "", text or "0"))
            except ValueError:
                continue  # xml2abc reports it
            if abs(value) > MAX_REPEAT_COUNT:
                name = f"<{tag}>" if attribute is None else f"<{tag} {attribute}>"
                raise InputError(path, f"{name} is {value}; at most {MAX_REPEAT_COUNT} either way is converted")


class _ParsedScore:
    """Stands in for the ElementTree module in xml2abc, whose parser reads a file: its ``parse``
    hands over a score that is already parsed."""

    Element = ElementTree.Element

    def __init__(self, root: ElementTree.Element):
        self.root = root

    def parse(self, _source: object) -> ElementTree.ElementTree:
        return ElementTree.ElementTree(self.root)


def musicxml_to_abc(raw: bytes, path: Path) -> str:
    """Convert MusicXML bytes (or a compressed .mxl archive) to standard ABC."""
    raw = unpacked_musicxml(raw, path)
    check_score_bars(path, len(_MEASURE_RE.findall(raw)), "MusicXML score")  # before the XML is parsed
    return score_to_abc(_parse(raw, path), path)


def score_to_abc(root: ElementTree.Element, path: Path) -> str:
    """A parsed MusicXML score -> standard ABC, by xml2abc run on it without writing it out."""
    check_score_bars(path, sum(1 for _ in root.iter("measure")), "MusicXML score")
    _check_repeat_counts(root, path)
    out, log = io.StringIO(), io.StringIO()
    with _XML2ABC_LOCK, contextlib.redirect_stderr(log):
        options = _xml2abc_options()
        writer = xml2abc.ABCoutput(path.stem + ".abc", "", 0, options)
        writer.outfile = out
        xml2abc.abcOut = writer
        module, xml2abc.E = xml2abc.E, _ParsedScore(root)
        try:
            xml2abc.Parser(options).parse(None)
        except Exception as exc:  # xml2abc fails in many ways on odd MusicXML
            raise InputError(path, f"xml2abc failed ({type(exc).__name__}: {exc})") from exc
        finally:
            xml2abc.E = module
    abc = out.getvalue()
    if not abc:
        raise InputError(path, "no notes in the MusicXML (xml2abc wrote nothing)")
    return _official_stemless(abc)


def read_musicxml_as_abc(path: Path) -> str:
    return musicxml_to_abc(read_bytes(path), path)
