"""MIDI -> audio with the General MIDI SoundFont that ships in pretty_midi's wheel.

Rendering is done by ``midirenderer`` (TinySoundFont in a wheel, no system library), at
about 100x real time on one CPU core.
"""

from __future__ import annotations

import functools
import io
from pathlib import Path

import numpy as np

from clamp3.errors import InputError
from clamp3.formats.audio import SAMPLE_RATE


@functools.lru_cache(maxsize=1)
def soundfont() -> bytes:
    import pretty_midi

    path = Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"
    if not path.is_file():
        raise InputError(path, "pretty_midi's General MIDI SoundFont is missing; reinstall pretty_midi")
    return path.read_bytes()


def clip_midi(midi: bytes, seconds: float) -> bytes:
    """The first ``seconds`` of a MIDI file, as one track at a fixed tempo (cheaper to render)."""
    import mido

    source = mido.MidiFile(file=io.BytesIO(midi))
    ticks_per_second = source.ticks_per_beat * 2  # at the default tempo of 120 beats per minute
    track = mido.MidiTrack()
    elapsed, pending = 0.0, 0.0
    for message in source:  # merged tracks, times in seconds with every tempo change applied
        elapsed += message.time
        pending += message.time
        if elapsed > seconds:
            break
        if message.is_meta:
            continue
        track.append(message.copy(time=round(pending * ticks_per_second)))
        pending = 0.0
    out = mido.MidiFile(ticks_per_beat=source.ticks_per_beat, tracks=[track])
    buffer = io.BytesIO()
    out.save(file=buffer)
    return buffer.getvalue()


def render_midi(midi: bytes, name: str | Path = "<midi>", sample_rate: int = SAMPLE_RATE, max_seconds: float | None = None) -> np.ndarray:
    """Standard MIDI file bytes -> mono float32 waveform at ``sample_rate``."""
    import midirenderer
    import soundfile
    import soxr

    try:
        if max_seconds is not None:
            midi = clip_midi(midi, max_seconds)
        wav = midirenderer.render_wave_from(soundfont(), midi)
        audio, rate = soundfile.read(io.BytesIO(wav), dtype="float32", always_2d=True)
    except Exception as exc:  # the renderer raises RuntimeError/ValueError on unreadable MIDI
        raise InputError(Path(str(name)), f"cannot render the MIDI to audio ({type(exc).__name__}: {exc})") from exc
    if max_seconds is not None:
        audio = audio[: int(max_seconds * rate)]
    mono = audio.mean(axis=1)
    if rate != sample_rate:
        mono = soxr.resample(mono, rate, sample_rate, quality="HQ").astype(np.float32)
    return mono
