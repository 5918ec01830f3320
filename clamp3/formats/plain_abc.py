"""Plain one-voice ABC tunes to interleaved ABC, without the MusicXML round trip.

A tune without voice fields is read by the route the official README gives for other sources:
abc2xml to MusicXML, xml2abc (``-d 8 -x``) back to standard ABC, then the official interleaving
(:func:`clamp3.formats.abc.abc_via_musicxml`). That takes some 40 ms for a folk song, nearly all
of it in abc2xml's pyparsing grammar. For a *plain* tune, one of notes, rests and single barlines
under the header fields X T N O R S M L K (the Essen folk songs: 59 % of the tunes in music21's
ABC books), :func:`plain_tune_to_interleaved` writes the same text directly by the handful of the
two converters' rules that such a tune meets, restated below where each applies. Every other
tune gets ``None`` and takes the round trip.

The two routes are compared byte for byte on every ABC file under tests/data
(tests/test_formats.py) and on every plain tune of music21's corpus (``python
benchmarks/reading.py --check``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

_FIELD_RE = re.compile(r"([A-Za-z]):(.*)")
# What str.splitlines, which abc2xml splits the text with, takes for a line end beside \n
_OTHER_LINE_ENDS_RE = re.compile(r"[\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
_TOKEN_RE = re.compile(r"([=^_]?)([A-Ga-g])([,']*)([1-9]\d?)?|z([1-9]\d?)?|(\|)|( )")
_METER_RE = re.compile(r"([1-9]\d?)/([1-9]\d?)")
_UNIT_RE = re.compile(r"1/(1|2|4|8|16|32)")
# Fields that leave no trace in the interleaved text: titles and the Essen collection's notes,
# origins, rhythms and sources go to MusicXML metadata, which xml2abc does not write back.
_IGNORED_FIELDS = frozenset("TNORS")
_MAJOR_KEYS = "Cb Gb Db Ab Eb Bb F C G D A E B F# C#".split()  # fifths -7 .. 7
_MINOR_KEYS = "Ab Eb Bb F C G D A E B F# C# G# D# A#".split()
# K: as written -> (fifths, the name xml2abc writes for it)
_KEYS = {
    **{key: (fifths, key) for fifths, key in enumerate(_MAJOR_KEYS, -7)},
    **{key + "m": (fifths, key + "min") for fifths, key in enumerate(_MINOR_KEYS, -7)},
}
_ACCIDENTAL_ALTER = {"^": 1, "_": -1, "=": 0}
_ALTER_ACCIDENTAL = {-2: "__", -1: "_", 0: "=", 1: "^", 2: "^^"}
_NOTE_TYPES = (1, 2, 4, 8, 16, 32, 64, 128, 256)  # abc2xml's typeMap: 1/n of four quarters


@dataclass
class _Event:
    """A note or rest of one measure, with what the two converters attach to it."""

    rest: bool
    step: str  # C..B
    octave: int  # MusicXML's: c is 5
    accidental: str  # as written: '', '^', '_' or '='
    length: Fraction  # of a whole note
    space_before: bool  # a space since the previous note or rest (abc2xml's beam break)
    alter: int | None = None  # MusicXML <alter>
    beam: bool = False  # continues a beam (xml2abc writes no space before it)
    after: str = ""  # '>' or '<': xml2abc's broken rhythm


def plain_tune_to_interleaved(abc: str) -> str | None:
    """The interleaved ABC that abc2xml, xml2abc and the official interleaving make of a plain
    tune, or None for a tune that is not plain."""
    header = None if _OTHER_LINE_ENDS_RE.search(abc) else _header(abc.split("\n"))
    if header is None:
        return None
    meter, unit, key, body = header
    measures = _measures(body, unit)
    if measures is None:
        return None
    fifths, key_name = _KEYS[key]
    key_alters = _key_alters(fifths)
    whole_measure = _whole_measure_rest(meter)
    texts = [_bar_text(events, key_alters, whole_measure) for events in measures]
    # the official interleaving drops the leading and trailing bars without notes
    sounding = [i for i, events in enumerate(measures) if any(not e.rest for e in events)]
    if not sounding:
        return None  # xml2abc writes nothing for a voice without notes
    bars = texts[sounding[0] : sounding[-1] + 1]
    return f"L:1/8\nM:{meter}\nK:{key_name}\nV:1 treble \n" + "".join(f"[V:1]{bar}|\n" for bar in bars)


def _header(lines: list[str]) -> tuple[str, Fraction, str, list[str]] | None:
    """(M:, L:, K: values, body lines) of a tune whose header is X: then plain fields up to K:
    (another X: would start a tune of its own for abc2xml)."""
    start = next((i for i, line in enumerate(lines) if line.strip()), None)
    if start is None or not lines[start].startswith("X:"):
        return None
    values: dict[str, str] = {}
    for index in range(start + 1, len(lines)):
        match = _FIELD_RE.match(lines[index])
        if not match:  # abc2xml ends a tune at a blank line; comments and directives are not plain
            return None
        name, value = match.group(1), match.group(2).strip()
        if "[" in value or value.endswith("\\"):  # abc2xml reads fields as [T:...] and joins \-continued ones
            return None
        if name in _IGNORED_FIELDS:
            continue
        if name not in "MLK" or name in values:
            return None
        values[name] = value
        if name == "K":
            break
    else:
        return None
    if len(values) != 3 or not _METER_RE.fullmatch(values["M"]) and values["M"] != "none":
        return None
    unit = _UNIT_RE.fullmatch(values["L"])
    if unit is None or values["K"] not in _KEYS:
        return None
    body = [line.strip() for line in lines[index + 1 :]]  # abc2xml strips every line
    end = body.index("") if "" in body else len(body)
    if any(body[end:]):
        return None  # a blank line ends the tune for abc2xml but not for the reader
    return values["M"], Fraction(1, int(unit.group(1))), values["K"], body[:end]


def _measures(body: list[str], unit: Fraction) -> list[list[_Event]] | None:
    """The notes and rests of each measure, or None for text that is not plain."""
    measures: list[list[_Event]] = [[]]
    space = False  # abc2xml joins the lines with line ends, which break no beam: only spaces do
    for line in body:
        position = 0
        for match in _TOKEN_RE.finditer(line):
            if match.start() != position:
                return None
            position = match.end()
            accidental, step, octaves, length, rest_length, bar, blank = match.groups()
            if bar:
                measures.append([])
            elif blank:
                space = True
            elif step is None:
                measures[-1].append(_Event(True, "", 0, "", int(rest_length or 1) * unit, space))
                space = False
            else:
                octave = (4 if step.isupper() else 5) + octaves.count("'") - octaves.count(",")
                measures[-1].append(_Event(False, step.upper(), octave, accidental, int(length or 1) * unit, space))
                space = False
        if position != len(line):
            return None
    if len(measures) == 1:
        return None  # no barline: the reader refuses such a tune before this
    if not measures[-1]:
        measures.pop()  # a final barline closes the last measure
    # abc2xml folds runs of empty measures in ways not restated here; one before the music is kept
    if not measures or any(not events for events in measures[1:]):
        return None
    return measures


def _key_alters(fifths: int) -> dict[str, int]:
    order = "FCGDAEB"
    if fifths >= 0:
        return dict.fromkeys(order[:fifths], 1)
    return dict.fromkeys(order[fifths:], -1)


def _whole_measure_rest(meter: str) -> Fraction | None:
    """The length of rest that abc2xml takes for a measure rest: M: reduced. Without a meter its
    default (4,4) is never a reduced fraction, so no rest is one."""
    match = _METER_RE.fullmatch(meter)
    return Fraction(int(match.group(1)), int(match.group(2))) if match else None


def _note_type(event: _Event, whole_measure: Fraction | None) -> int:
    """abc2xml's note type as 1/n of four quarters (dots removed), the n that decides beaming."""
    quarters = event.length / 4
    numerator, denominator = quarters.numerator, quarters.denominator
    if not (event.rest and event.length == whole_measure):  # a measure rest has no dots
        if numerator == 3:
            denominator //= 2
        elif numerator == 7:
            denominator //= 4
    if denominator not in _NOTE_TYPES:  # abc2xml takes the next shorter type
        denominator = min(n for n in _NOTE_TYPES if n > denominator)
    return denominator


def _beam(events: list[_Event], whole_measure: Fraction | None) -> None:
    """abc2xml's beams (``doBeams``): notes of an eighth or shorter are beamed while no space,
    and no note or rest of a quarter or longer, comes between them; a group of one is no beam.
    Rests are never beamed but break a beam only by a space or their length."""
    group: list[_Event] = []
    for event in events:
        note_type = _note_type(event, whole_measure)
        if event.space_before or note_type < 32:
            group = []
        if note_type >= 32 and not event.rest:
            event.beam = bool(group)
            group.append(event)


def _alter(event: _Event, measure_alters: dict[tuple[str, int], int], key_alters: dict[str, int]) -> int | None:
    """abc2xml's ``mkPitch``: a written accidental holds for that pitch to the end of the measure."""
    pitch = (event.step, event.octave)
    if event.accidental:
        measure_alters[pitch] = _ACCIDENTAL_ALTER[event.accidental]
        return measure_alters[pitch]
    if pitch in measure_alters:
        return measure_alters[pitch]
    return key_alters.get(event.step)


def _pitch_name(step: str, octave: int) -> str:
    """xml2abc's ``addoct``."""
    name = step.lower() if octave > 4 else step
    return name + "'" * max(0, octave - 5) + "," * max(0, 4 - octave)


def _written_pitch(event: _Event, written: dict[str, int], key_alters: dict[str, int]) -> str:
    """xml2abc's ``ntAbc``: a written accidental is written again; an alteration that the key or
    an earlier note of the measure does not imply gets its accidental."""
    name = _pitch_name(event.step, event.octave)
    alter = event.alter
    if alter is None and (key_alters.get(event.step, 0) or name in written):
        alter = 0
    if not event.accidental and alter is None:
        return name
    if event.accidental:
        alter = _ACCIDENTAL_ALTER[event.accidental]
    elif name in written:
        if alter == written[name]:
            return name
    elif alter == key_alters.get(event.step, 0):
        return name
    written[name] = alter
    return _ALTER_ACCIDENTAL[alter] + name


def _length(eighths: Fraction) -> str:
    """xml2abc's ``abcdur`` with L:1/8."""
    numerator, denominator = eighths.numerator, eighths.denominator
    if numerator == 1:
        return "" if denominator == 1 else "/" if denominator == 2 else f"/{denominator}"
    return str(numerator) if denominator == 1 else f"{numerator}/{denominator}"


def _bar_text(events: list[_Event], key_alters: dict[str, int], whole_measure: Fraction | None) -> str:
    """One measure as xml2abc writes it, without its barline."""
    _beam(events, whole_measure)
    measure_alters: dict[tuple[str, int], int] = {}
    for event in events:
        if not event.rest:
            event.alter = _alter(event, measure_alters, key_alters)
    rests: list[_Event] = []
    for event in events:  # xml2abc's sortMeasure: rests between beamed notes join the beam
        if event.rest:
            rests.append(event)
            continue
        if event.beam:
            for rest in rests:
                rest.beam = True
        rests = []
    lengths = [event.length for event in events]
    index = 0
    while index < len(events) - 1:  # xml2abc's mkBroken: dotted pairs in a beam become > or <
        first, second = index, index + 1
        if events[second].beam and lengths[first] * 3 == lengths[second]:
            lengths[first], lengths[second] = lengths[first] * 2, lengths[second] * 2 / 3
            events[first].after = "<"
            index += 1
        elif events[second].beam and lengths[second] * 3 == lengths[first]:
            lengths[first], lengths[second] = lengths[first] * 2 / 3, lengths[second] * 2
            events[first].after = ">"
            index += 1
        index += 1
    written: dict[str, int] = {}
    text = ""
    for event, length in zip(events, lengths):
        note = "z" if event.rest else _written_pitch(event, written, key_alters)
        note += _length(length * 8) + event.after
        text += note if event.beam else " " + note
    return text.strip()
