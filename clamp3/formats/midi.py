"""MIDI (``.mid``, ``.midi``) to MIDI Text Format (MTF), as the official
``batch_midi2mtf.py --m3_compatible`` writes it.

MTF is one line per message of the merged track: ``ticks_per_beat N`` first, then the values
of each message's ``dict()`` in order (type first, delta time last), with non-ASCII characters
written as Python unicode escapes.
"""

from __future__ import annotations

import io
from pathlib import Path

import mido

from clamp3.errors import InputError
from clamp3.formats.base import Item, budget, decode_utf8, read_bytes

MIDI_EXTENSIONS = (".mid", ".midi")
# mido and the MTF lines take some 25 µs and a few hundred bytes a message. 2 MB of MIDI, the
# most one file may hold, is up to 700,000 messages (ten times a long orchestral file).
MAX_MIDI_BYTES = 2 * 2**20
MIDI_BYTES_VARIABLE = "CLAMP3_MAX_MIDI_BYTES"  # a stricter budget (app.py: 512 KB, ~10 s of reading)


def max_midi_bytes() -> int:
    return budget(MIDI_BYTES_VARIABLE, MAX_MIDI_BYTES)


# Each message becomes a patch of the model's input, as a bar of a score does: the budget of
# messages bounds the model's work on a file as the bars' budget does for scores (a 500 KB file of
# 128,000 messages held the app's model for some 100 s). app.py sets a stricter one.
MIDI_MESSAGES_VARIABLE = "CLAMP3_MAX_MIDI_MESSAGES"
MAX_MIDI_MESSAGES = 700_000


def check_midi_messages(path: Path, messages: int) -> None:
    limit = budget(MIDI_MESSAGES_VARIABLE, MAX_MIDI_MESSAGES)
    if messages > limit:
        raise InputError(path, f"MIDI file has {messages:,} messages, over the limit of {limit:,}")

# Meta messages carrying natural language, dropped so that M3 sees music only.
TEXT_META_TYPES = frozenset(
    ["text", "copyright", "track_name", "instrument_name", "lyrics", "marker", "cue_marker", "device_name"]
)


def message_line(message: mido.Message | mido.MetaMessage) -> str:
    line = " ".join(str(value) for value in message.dict().values())
    return line.encode("unicode_escape").decode("utf-8")


def parse_midi(raw: bytes, path: Path) -> mido.MidiFile:
    """MIDI bytes -> mido's file with its tracks merged; refused when unreadable or without notes,
    the one rule for every use of a MIDI file (model input, preview, metadata)."""
    try:
        midi = mido.MidiFile(file=io.BytesIO(raw))
        messages = midi.merged_track
    except Exception as exc:  # mido raises OSError, EOFError (without a message), KeyError, ValueError, ...
        detail = f": {exc}" if str(exc) else ": the data ends early" if isinstance(exc, EOFError) else ""
        raise InputError(path, f"not a readable MIDI file ({type(exc).__name__}{detail})") from exc
    if not any(not message.is_meta and message.type != "sysex" for message in messages):
        raise InputError(path, "MIDI file has no channel messages (no notes)")
    return midi


def midi_to_mtf(raw: bytes, path: Path) -> str:
    midi = parse_midi(raw, path)
    messages = midi.merged_track
    check_midi_messages(path, len(messages))
    lines = [f"ticks_per_beat {midi.ticks_per_beat}"]
    lines.extend(
        message_line(message)
        for message in messages
        if not (message.is_meta and message.type in TEXT_META_TYPES)
    )
    return "\n".join(lines)


def read_midi(path: Path) -> list[Item]:
    return [Item(path, path.stem, "mtf", midi_to_mtf(read_bytes(path, max_midi_bytes()), path))]


def read_mtf(path: Path) -> list[Item]:
    text = decode_utf8(path, read_bytes(path))
    if not text.startswith("ticks_per_beat"):
        raise InputError(path, "not MTF: the first line must be 'ticks_per_beat N'")
    check_midi_messages(path, text.count("\n"))
    return [Item(path, path.stem, "mtf", text)]
