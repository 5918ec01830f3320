"""Build the demo data set from the music21 corpus: one command, fixed seed, resumable.

    python -m demo.build --out data/demo --workers 2

Each work becomes interleaved ABC (metadata fields removed: the model sees music only) and MTF
(through music21's MIDI export; for fiddle tunes, and where that export fails, the flattened
notes without repeats); a seeded subset
is rendered to audio with the General MIDI SoundFont (the first 20 s), each work on its own
instrument, tempo and dynamics (``demo.renderings``), and turned into features (``AUDIO_FEATURES``). Texts
in the 26 training languages of ``demo.languages`` come from each work's metadata; what the music
itself shows (mode, range, melodic motion, texture, ...: ``demo.musicwords``) is read from the
score parsed for the conversion; the audio pairs' texts also say how the excerpt sounds. Output:

    music/{train,val,heldout}/<id>.abc|.mtf, <id>.<instrument>-<bpm>-<dynamics>.npy
    music/{train,val,heldout}/<id>.music.json   the work's music features (kept for reruns)
    works.jsonl                      metadata, split, files, music features, texts and rendering of every work
    pairs_{symbolic,audio}_{train,val}.jsonl   training pairs for ``clamp3 train``
    failed.txt                       works that could not be converted, with the reason
    audio_features                   the extractor of the .npy files: a rerun with another drops them first
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import random
import re
import sys
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from clamp3.formats.abc import is_interleaved
from clamp3.io import atomic_save_npy, atomic_write_text
from demo.corpus import corpus_root, select
from demo.languages import TRAIN_LANGUAGES
from demo.musicwords import analyse
from demo.renderings import apply_rendering, audio_captions, draw_rendering, rendering_key
from demo.texts import descriptions

logger = logging.getLogger("demo.build")

MUSIC_FIELDS = set("LMKQVIU")  # header fields that describe the music itself
AUDIO_SECONDS = 20.0
AUDIO_FEATURES = "spectral-v1"  # the shipped model's; spectral-v2 (tempo) was tried on 2026-12-06 and not shipped: demo/README.md
# An excerpt costs 0.35-0.5 CPU s beyond the conversion (render, resample, features; measured by
# benchmarks/renderings.py): half the corpus is about 5,600 excerpts, 16-22 min on 2 workers
AUDIO_FRACTION = 0.5
# Each work's texts are written in this many of the 26 training languages, drawn per work (every
# language gets about 30 % of the works). Training draws one text per work and epoch. The text
# stage tunes the tower's top layer and so caches nothing: more languages cost it nothing, and with
# 4 (until 2026-12-07) each language met the same 15 % of the works in every release. Only the
# audio stage caches texts (about 10 ms each on 2 CPU cores: 7 min with 4, 20 with 8 on a slower machine).
TEXT_LANGUAGES = 8
# Caption each rendering by its instrument alone and its tempo alone as well, with two of its
# descriptions (--alone-captions). Tried on 2026-12-07 (demo/README.md): tempo and instrument queries
# found better (mean average precision 0.574 -> 0.636 slow, 0.910 -> 0.958 instruments), composers
# from audio worse (zero-shot 0.62 -> 0.52), the rest of what audio tells as good or better; in the
# shipped model's recipe since the release of 2026-12-07 (evening).
ALONE_CAPTIONS = True


def music_only(abc: str) -> str:
    """Interleaved ABC without information fields (origin, source, notes, ...) or comments.
    Line ends are made ``\n``: a stray carriage return would be a line break to every reader
    of the written file, but not to the checks made here."""
    kept = []
    for line in abc.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if re.match(r"^[A-Za-z]:", line) and line[0] not in MUSIC_FIELDS:
            continue
        if line.startswith("%") and not line.startswith("%%"):
            continue
        kept.append(line)
    return "\n".join(kept)


def header(abc: str, name: str) -> str | None:
    match = re.search(rf"^{name}:\s*(\S+)", abc, re.M)
    return match.group(1) if match else None


def music_labels(abc: str) -> dict:
    """What the descriptions say of the music itself, read from its interleaved ABC: metre, key,
    number of voices and of bars (one body line of interleaved ABC is one bar of every voice)."""
    voices = len(set(re.findall(r"^V:\s*(\S+)", abc, re.M))) or 1
    bars = sum(line.startswith("[V:") for line in abc.split("\n"))
    return {"metre": header(abc, "M"), "key": header(abc, "K"), "voices": voices, "bars": bars}


def _midi_bytes(score, flat: bool = False) -> bytes:
    """music21's MIDI export; with ``flat`` (one-voice tunes) the notes alone, which skips the
    repeat expansion that costs about a second per fiddle tune."""
    from music21 import midi, stream

    try:
        if flat:
            return midi.translate.streamToMidiFile(stream.Stream(score.flatten().notesAndRests)).writestr()
        return midi.translate.streamToMidiFile(score).writestr()
    except Exception:  # music21 fails on duplicated time signatures (1 in 5 Essen songs): export the notes alone
        flat = stream.Stream(score.flatten().notesAndRests)
        return midi.translate.streamToMidiFile(flat).writestr()


def read_work(work: dict, root: str) -> tuple[str, object]:
    """A work's interleaved ABC and its music21 score (a tune of an ABC book, or a whole file)."""
    from music21 import converter

    from clamp3.formats import read_items
    from clamp3.formats.abc import abc_to_interleaved

    source = Path(root) / work["source"]
    if work["number"] is not None:
        tune = next(text for number, text in _tunes(source) if number == work["number"])
        return abc_to_interleaved(tune, Path(f"{source}#{work['number']}")), converter.parse(tune, format="abc")
    return read_items(source)[0].data, converter.parse(source)


def convert(task: tuple[dict, str, bool]) -> dict:
    """One work -> its ABC, MTF, optional audio features (of its ``rendering``), the labels read
    from the music and the features of the music (``demo.musicwords``), from the one score music21
    parses."""
    from clamp3.formats.midi import midi_to_mtf

    work, root, with_audio = task
    source = Path(root) / work["source"]
    try:
        abc, score = read_work(work, root)
        music = analyse(score)
        midi = _midi_bytes(score, flat=work["kind"] == "fiddle")
        mtf = midi_to_mtf(midi, source)
        features = None
        if with_audio:
            from clamp3.features import load_extractor
            from clamp3.features.render import render_midi

            waveform = render_midi(apply_rendering(midi, work["rendering"]), source, max_seconds=AUDIO_SECONDS)
            features = load_extractor(AUDIO_FEATURES).extract(waveform) if np.abs(waveform).max() > 0 else None
    except Exception as exc:  # any reader or music21 failure: this work is reported and left out
        return {"id": work["id"], "error": f"{type(exc).__name__}: {str(exc)[:200]}"}
    abc = music_only(abc)
    return {"id": work["id"], "abc": abc, "mtf": mtf, "features": features, "music": music, **music_labels(abc)}


def _files(out: Path, work: dict) -> dict[str, Path]:
    """The files of a work; the audio's name says its rendering, so that features of another
    rendering (or of the single-piano ones before renderings) are never taken for it."""
    folder = out / "music" / work["split"]
    names = {"abc": f"{work['id']}.abc", "mtf": f"{work['id']}.mtf"}
    if work["audio"]:
        names["audio"] = f"{work['id']}.{rendering_key(work['rendering'])}.npy"
    return {kind: folder / name for kind, name in names.items()}


def _music_file(out: Path, work: dict) -> Path:
    """The work's ``analyse`` features: a rerun reads them rather than parse the score again."""
    return out / "music" / work["split"] / f"{work['id']}.music.json"


def _converted(out: Path, work: dict) -> bool:
    return all(path.exists() for path in [*_files(out, work).values(), _music_file(out, work)])


def drop_other_features(out: Path) -> None:
    """Remove the audio features of an earlier run made with another extractor (their names say
    the rendering, not the extractor; a build without the marker made spectral-v1), then mark the
    folder as this extractor's."""
    marker = out / "audio_features"
    made_by = marker.read_text(encoding="utf-8").strip() if marker.exists() else "spectral-v1"
    if made_by != AUDIO_FEATURES:
        stale = list((out / "music").rglob("*.npy"))
        logger.info("%d feature files of %s removed: this build makes %s", len(stale), made_by, AUDIO_FEATURES)
        for path in stale:
            path.unlink()
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(marker, AUDIO_FEATURES + "\n")


def _load(out: Path, work: dict) -> dict:
    """The result of an earlier run, read back from its files."""
    files = _files(out, work)
    abc = files["abc"].read_text(encoding="utf-8")
    features = np.load(files["audio"]) if "audio" in files else None
    music = json.loads(_music_file(out, work).read_text(encoding="utf-8"))
    return {"id": work["id"], "loaded": True, "abc": abc, "features": features, "music": music, **music_labels(abc)}


def _chain(*iterables):
    for iterable in iterables:
        yield from iterable


_TUNE_CACHE: dict[Path, list] = {}


def _tunes(path: Path):
    from demo.corpus import tunes_of

    if path not in _TUNE_CACHE:
        _TUNE_CACHE.clear()
        _TUNE_CACHE[path] = tunes_of(path)
    return _TUNE_CACHE[path]


def safe_id(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def audio_texts(work: dict, rng: random.Random, alone: bool = ALONE_CAPTIONS) -> list[str]:
    """The texts of a rendered work's audio: one of its descriptions with the rendering said, in
    each language the work's texts are written in, and captions of the rendering alone in those
    languages. With ``alone``, two descriptions and captions of its instrument alone and its tempo
    alone too (``demo.renderings.audio_captions``; with one description, the work itself was said
    in one caption of five, and what the audio tells of it fell). Scores get none of this: they have
    no instrument. Few descriptions, not all: each is a new text for the text tower to encode (the
    rendering-only captions repeat across works)."""
    texts = []
    for lang, described in work["texts"].items():
        texts += audio_captions(work["rendering"], lang, rng.sample(described, min(2 if alone else 1, len(described))), rng, alone)
    return texts


def build(out: Path, seed: int = 0, workers: int = 2, audio_fraction: float = AUDIO_FRACTION, limit: int | None = None, val: float = 0.05,
          text_languages: int = TEXT_LANGUAGES, alone_captions: bool = ALONE_CAPTIONS) -> dict:
    works = select(seed)
    if limit:
        works = random.Random(seed).sample(works, limit)
    seen: dict[str, int] = {}
    for work in works:
        base = safe_id(work["id"])
        seen[base] = seen.get(base, 0) + 1
        work["id"] = base if seen[base] == 1 else f"{base}-{seen[base]}"
        draw = random.Random(f"{seed}:{work['id']}")  # per work: a change of selection moves no other work
        if work["split"] == "train" and draw.random() < val:
            work["split"] = "val"
        work["audio"] = draw.random() < audio_fraction
        if work["audio"]:
            work["rendering"] = draw_rendering(work["id"], work)
    root = str(corpus_root())
    drop_other_features(out)
    done = [w for w in works if _converted(out, w)]  # a rerun converts only what is missing
    tasks = [(w, root, w["audio"]) for w in works if not _converted(out, w)]
    tasks.sort(key=lambda t: (t[0]["source"], t[0]["id"]))  # in source order: a worker reads each tune book once
    by_id = {w["id"]: w for w in works}
    failed, records = [], []
    with ProcessPoolExecutor(workers) if workers > 1 else _Serial() as pool:
        results = _converted_in(pool, tasks)
        for result in tqdm(_chain((_load(out, w) for w in done), results), total=len(works), desc="converting", unit="work"):
            work = by_id[result["id"]]
            if "error" in result:
                failed.append(f"{work['source']}#{work['number']}: {result['error']}")
                continue
            if not is_interleaved(result["abc"]):  # xml2abc wrote stray lines outside the voices
                failed.append(f"{work['source']}#{work['number']}: the converted ABC is not interleaved")
                continue
            folder = out / "music" / work["split"]
            folder.mkdir(parents=True, exist_ok=True)
            files = {"abc": folder / f"{work['id']}.abc", "mtf": folder / f"{work['id']}.mtf"}
            if not result.get("loaded"):
                atomic_write_text(files["abc"], result["abc"])
                atomic_write_text(files["mtf"], result["mtf"])
                atomic_write_text(_music_file(out, work), json.dumps(result["music"]) + "\n")
            if result["features"] is not None:
                files["audio"] = _files(out, work)["audio"]
                if not result.get("loaded"):
                    atomic_save_npy(files["audio"], result["features"].astype(np.float32))
            else:
                work.pop("rendering", None)  # silent or not rendered: no audio, nothing said of it
            work.update({k: result[k] for k in ("metre", "key", "voices", "bars", "music")})
            work["files"] = {k: str(v.relative_to(out)) for k, v in files.items()}
            work["texts"] = descriptions(work, random.Random(f"{seed}:{work['id']}"), languages=_text_languages(work, seed, text_languages))
            if not work["texts"]:
                failed.append(f"{work['source']}#{work['number']}: no description (no class label)")
                continue
            records.append(work)
    records.sort(key=lambda w: w["id"])
    referenced = {out / f for w in records for f in w["files"].values()} | {_music_file(out, w) for w in records}
    for stale in (out / "music").rglob("*"):  # left by an earlier run with another selection or split
        if stale.is_file() and stale not in referenced:
            stale.unlink()
    _write_jsonl(out / "works.jsonl", records)
    for split in ("train", "val"):
        for stage, kinds in (("symbolic", ("abc", "mtf")), ("audio", ("audio",))):
            rows = [
                {"id": w["id"], "filepaths": [w["files"][k] for k in kinds if k in w["files"]],
                 "texts": audio_texts(w, random.Random(f"{seed}:{w['id']}:audio"), alone_captions) if stage == "audio"
                 else [t for texts in w["texts"].values() for t in texts]}
                for w in records if w["split"] == split and any(k in w["files"] for k in kinds)
            ]
            _write_jsonl(out / f"pairs_{stage}_{split}.jsonl", rows)
    atomic_write_text(out / "failed.txt", "\n".join(failed) + ("\n" if failed else ""))
    summary = {"works": len(records), "failed": len(failed), "audio": sum("audio" in w["files"] for w in records),
               **{s: sum(w["split"] == s for w in records) for s in ("train", "val", "heldout")}}
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def _text_languages(work: dict, seed: int, count: int) -> list[str]:
    """The training languages a work's texts are written in: a draw of its own (its id and the
    seed), in the order of ``TRAIN_LANGUAGES``."""
    drawn = set(random.Random(f"{seed}:{work['id']}:languages").sample(TRAIN_LANGUAGES, min(count, len(TRAIN_LANGUAGES))))
    return [lang for lang in TRAIN_LANGUAGES if lang in drawn]


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    for row in rows:
        buffer.write(json.dumps(row, ensure_ascii=False) + "\n")
    atomic_write_text(path, buffer.getvalue())


def _converted_in(pool, tasks: list):
    """``convert`` over ``tasks`` in order; a worker that died (a crash in a native library) stops
    the build with a message, where ``multiprocessing.Pool`` waited forever for its lost work."""
    try:
        yield from pool.map(convert, tasks, chunksize=4)
    except BrokenProcessPool as exc:
        raise SystemExit(f"demo.build: a worker process died ({exc}); the works converted before it are kept: "
                         "run the same command again to go on") from exc


class _Serial:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    @staticmethod
    def map(function, iterable, chunksize=1):
        return map(function, iterable)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="data/demo")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--audio-fraction", type=float, default=AUDIO_FRACTION,
                        help=f"works rendered to audio (default: {AUDIO_FRACTION}; see demo/README.md for the cost)")
    parser.add_argument("--text-languages", type=int, default=TEXT_LANGUAGES,
                        help=f"training languages each work's texts are written in, drawn per work (default: {TEXT_LANGUAGES} of {len(TRAIN_LANGUAGES)})")
    parser.add_argument("--alone-captions", action=argparse.BooleanOptionalAction, default=ALONE_CAPTIONS,
                        help="caption each rendering by its instrument alone and by its tempo alone too, with two of its descriptions: "
                             "tempo and instrument queries found better, composers from audio worse (the shipped model's "
                             "recipe since 2026-12-07: demo/README.md)")
    parser.add_argument("--limit", type=int, default=None, help="a random sample of this many works (for tests)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    summary = build(out, args.seed, args.workers, args.audio_fraction, args.limit, text_languages=args.text_languages,
                    alone_captions=args.alone_captions)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
