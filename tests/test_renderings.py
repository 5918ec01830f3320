"""The demo's renderings: the draw per work, the MIDI they change (read back with mido), the audio
each instrument gives through the General MIDI SoundFont, and the phrases in every language."""

from __future__ import annotations

import io
import random

import mido
import numpy as np
import pytest

from clamp3.features.render import render_midi
from demo.languages import LANGUAGES
from demo.renderings import (
    FAST_BPM,
    INSTRUMENTS,
    SLOW_BPM,
    VELOCITIES,
    apply_rendering,
    audio_captions,
    bpm_phrase,
    draw_rendering,
    rendering_phrases,
    tempo_label,
)

RATE = 24_000


def _midi(notes: int = 8, tempo: int | None = 500_000, programs: bool = True, drums: bool = False) -> bytes:
    """A type-1 file as music21 writes one: a conductor track (tempo) and one track per part,
    quarter notes at velocity 90, on channels 0 and 1 (and a drum part on channel 9)."""
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=tempo)] if tempo else [])
    tracks = [conductor]
    for channel, pitch in [(0, 60), (1, 48)] + ([(9, 38)] if drums else []):
        track = mido.MidiTrack([mido.Message("program_change", channel=channel, program=0)] if programs else [])
        for i in range(notes):
            track.append(mido.Message("note_on", channel=channel, note=pitch + i % 5, velocity=90 - i, time=0))
            track.append(mido.Message("note_off", channel=channel, note=pitch + i % 5, velocity=0, time=480))
        tracks.append(track)
    buffer = io.BytesIO()
    mido.MidiFile(type=1, ticks_per_beat=480, tracks=tracks).save(file=buffer)
    return buffer.getvalue()


def _read(midi: bytes) -> mido.MidiFile:
    return mido.MidiFile(file=io.BytesIO(midi))


def _rendering(instrument: str = "flute", bpm: int = 60, dynamics: str = "soft") -> dict:
    return {"instrument": instrument, "program": INSTRUMENTS[instrument], "bpm": bpm, "tempo": tempo_label(bpm), "dynamics": dynamics}


@pytest.mark.parametrize("programs", [True, False])
def test_every_pitched_channel_gets_the_program_and_drums_keep_theirs(programs):
    out = _read(apply_rendering(_midi(programs=programs, drums=True), _rendering("organ")))
    changes = [(m.channel, m.program) for track in out.tracks for m in track if m.type == "program_change"]
    assert sorted(changes) == [(0, 19), (1, 19)] + ([(9, 0)] if programs else [])
    for track in out.tracks[1:]:  # the program comes before the first note of its channel
        assert track[0].type == "program_change" or track[0].channel == 9


def test_tempo_is_set_to_the_rendering_and_later_changes_scaled_alike():
    source = _read(_midi(tempo=600_000))  # 100 beats per minute, then a change to 50
    source.tracks[0].append(mido.MetaMessage("set_tempo", tempo=1_200_000, time=960))
    buffer = io.BytesIO()
    source.save(file=buffer)
    out = _read(apply_rendering(buffer.getvalue(), _rendering(bpm=150)))
    tempos = [m.tempo for m in out.tracks[0] if m.type == "set_tempo"]
    assert [round(mido.tempo2bpm(t)) for t in tempos] == [150, 75]
    missing = _read(apply_rendering(_midi(tempo=None), _rendering(bpm=60)))
    assert [round(mido.tempo2bpm(m.tempo)) for track in missing.tracks for m in track if m.type == "set_tempo"] == [60]
    assert out.length == pytest.approx(source.length * 100 / 150, rel=0.01)  # 8.4 s -> 5.6 s


@pytest.mark.parametrize("dynamics", ["soft", "loud"])
def test_velocities_are_scaled_to_the_loudest_note_and_keep_their_order(dynamics):
    source = [m.velocity for m in _read(_midi()).tracks[1] if m.type == "note_on"]
    out = [m.velocity for m in _read(apply_rendering(_midi(), _rendering(dynamics=dynamics))).tracks[1] if m.type == "note_on"]
    assert max(out) == VELOCITIES[dynamics]
    assert out == sorted(out, reverse=True) and len(set(out)) > 1 and source != out
    assert _note_ticks(_read(_midi())) == _note_ticks(_read(apply_rendering(_midi(), _rendering(dynamics=dynamics))))


def _note_ticks(midi: mido.MidiFile) -> list[int]:
    """Absolute ticks of the notes of the first part (a dropped program change keeps them)."""
    ticks, now = [], 0
    for message in midi.tracks[1]:
        now += message.time
        if message.type in ("note_on", "note_off"):
            ticks.append(now)
    return ticks


def test_every_instrument_sounds_and_sounds_unlike_the_others():
    spectra = {}
    for instrument in INSTRUMENTS:
        audio = render_midi(apply_rendering(_midi(), _rendering(instrument, 120, "loud")), max_seconds=4.0)
        assert np.abs(audio).max() > 0.01, instrument
        spectrum = np.abs(np.fft.rfft(audio[:RATE * 3]))
        spectra[instrument] = spectrum / np.linalg.norm(spectrum)
    names = list(spectra)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert spectra[a] @ spectra[b] < 0.99, (a, b)


def test_soft_renders_quieter_than_loud():
    level = {d: np.sqrt(np.mean(render_midi(apply_rendering(_midi(), _rendering("piano", 120, d)), max_seconds=4.0) ** 2)) for d in ("soft", "loud")}
    assert level["soft"] < 0.6 * level["loud"]


def test_a_slow_rendering_lasts_longer_than_a_fast_one_under_the_same_limit():
    # 8 beats: 8 s at 60 beats per minute, 3 s at 160 (plus the release tail), both under 12 s
    slow = render_midi(apply_rendering(_midi(), _rendering(bpm=60)), max_seconds=12.0)
    fast = render_midi(apply_rendering(_midi(), _rendering(bpm=160)), max_seconds=12.0)
    assert len(slow) > len(fast) + 3 * RATE
    assert len(slow) >= 8 * RATE


def test_the_draw_depends_on_the_id_alone_and_covers_every_class():
    folk = {"kind": "folk", "region": "Germany"}
    assert draw_rendering("essen-a-1", folk) == draw_rendering("essen-a-1", dict(folk, title="other"))
    draws = [draw_rendering(f"essen-a-{i}", folk) for i in range(600)]
    assert len({tuple(sorted(d.items())) for d in draws[:20]}) > 15
    assert {d["instrument"] for d in draws} == set(INSTRUMENTS)
    assert {d["tempo"] for d in draws} == {"slow", "moderate", "fast"} and {d["dynamics"] for d in draws} == set(VELOCITIES)
    for d in draws:
        assert d["program"] == INSTRUMENTS[d["instrument"]] and d["tempo"] == tempo_label(d["bpm"])
        assert d["bpm"] <= SLOW_BPM or d["bpm"] >= FAST_BPM or d["tempo"] == "moderate"
    reels = [draw_rendering(f"ryans-{i}", {"kind": "fiddle", "tune_type": "reel"}) for i in range(300)]
    assert sum(d["tempo"] == "fast" for d in reels) > 2 * sum(d["tempo"] == "slow" for d in reels)
    assert sum(d["instrument"] == "violin" for d in reels) > 3 * sum(d["instrument"] == "organ" for d in reels)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_language_says_instrument_tempo_and_dynamics(lang):
    phrases = {i: rendering_phrases(_rendering(i, 52, "loud"), lang) for i in INSTRUMENTS}
    for instrument, texts in phrases.items():
        assert len(texts) == 6 and all(t and "{" not in t and "}" not in t for t in texts), (instrument, texts)
        assert "52" in texts[2]
    assert len({t[0] for t in phrases.values()}) == len(INSTRUMENTS) == len({t[1] for t in phrases.values()})
    tempos = {b: rendering_phrases(_rendering("harp", b, "moderate"), lang) for b in (48, 100, 176)}
    assert len({t[3] for t in tempos.values()}) == 3 and all(len(t) == 4 for t in tempos.values())
    assert rendering_phrases(_rendering(dynamics="soft"), lang)[4:] != rendering_phrases(_rendering(dynamics="loud"), lang)[4:]
    captions = audio_captions(_rendering("organ", 160, "soft"), lang, ["D1", "D2"], random.Random(0))
    assert [c.startswith("D") for c in captions] == [True, True, False, False]
    assert all("{" not in c for c in captions)
    alone = audio_captions(_rendering("organ", 160, "soft"), lang, ["D1", "D2"], random.Random(0), alone=True)
    phrases = rendering_phrases(_rendering("organ", 160, "soft"), lang)
    assert alone == [*captions, phrases[0], phrases[2]] and "160" in alone[-1]  # the same draws, then the instrument alone, the tempo alone


def test_numbers_take_each_language_plural():
    assert [bpm_phrase(n, "ru") for n in (52, 61, 60, 112)] == ["52 удара в минуту", "61 удар в минуту", "60 ударов в минуту", "112 ударов в минуту"]
    assert [bpm_phrase(n, "pl") for n in (52, 61, 112)] == ["52 uderzenia na minutę", "61 uderzeń na minutę", "112 uderzeń na minutę"]
    assert bpm_phrase(52, "cs") == "52 úderů za minutu" and bpm_phrase(64, "uk") == "64 удари на хвилину"
    assert [bpm_phrase(n, "ro") for n in (48, 104, 120)] == ["48 de bătăi pe minut", "104 bătăi pe minut", "120 de bătăi pe minut"]
    assert bpm_phrase(60, "en") == "60 beats per minute" and bpm_phrase(60, "zh") == "每分钟60拍"


def test_the_build_renders_each_work_its_own_way_and_only_its_audio_says_so(tmp_path):
    import json

    from demo.build import build
    from demo.renderings import rendering_key

    build(tmp_path, seed=3, workers=1, audio_fraction=0.5, limit=12)
    works = {w["id"]: w for w in map(json.loads, (tmp_path / "works.jsonl").read_text(encoding="utf-8").splitlines())}
    rendered = {i: w for i, w in works.items() if "audio" in w["files"]}
    assert rendered and all("rendering" not in w for i, w in works.items() if i not in rendered)
    for work in rendered.values():
        assert work["rendering"] == draw_rendering(work["id"], work)
        assert work["files"]["audio"].endswith(f"{work['id']}.{rendering_key(work['rendering'])}.npy")
    rows = {}
    for stage in ("symbolic", "audio"):
        for split in ("train", "val"):
            for line in (tmp_path / f"pairs_{stage}_{split}.jsonl").read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                rows[stage, row["id"]] = row["texts"]
    # the instrument as said in each language the work's texts are written in
    said = {i: {p for lang in w["texts"] for p in rendering_phrases(w["rendering"], lang)[:2]} for i, w in rendered.items()}
    for (stage, work_id), texts in rows.items():
        mentions = sum(any(p in t for p in said.get(work_id, ())) for t in texts)
        assert mentions >= (2 if stage == "audio" else 0) and (stage == "audio" or mentions == 0), (stage, work_id)
    assert any(stage == "audio" for stage, _ in rows)
    # features of a single-piano build (no rendering in the name) are never taken for a rendering
    work = next(iter(rendered.values()))
    old = tmp_path / "music" / work["split"] / f"{work['id']}.npy"
    (tmp_path / work["files"]["audio"]).rename(old)
    build(tmp_path, seed=3, workers=1, audio_fraction=0.5, limit=12)
    assert (tmp_path / work["files"]["audio"]).is_file() and not old.exists()


def test_alone_captions_say_the_work_twice_and_its_instrument_and_tempo_on_their_own():
    from demo.build import audio_texts

    work = {"rendering": _rendering("flute", 60, "soft"), "texts": {lang: [f"{lang} D{i}" for i in range(4)] for lang in ("en", "de")}}
    plain, alone = audio_texts(work, random.Random(1), alone=False), audio_texts(work, random.Random(1), alone=True)
    assert len(plain) == 6 and len(alone) == 12  # per language: 1 description + 2, or 2 descriptions + 2 + 2
    for lang in ("en", "de"):
        phrases = rendering_phrases(work["rendering"], lang)
        assert sum(t.startswith(f"{lang} D") for t in plain) == 1 and sum(t.startswith(f"{lang} D") for t in alone) == 2
        assert phrases[0] in alone and phrases[2] in alone and phrases[0] not in plain and phrases[2] not in plain
