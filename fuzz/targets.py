"""Fuzz targets: one per reader, each fed the bytes of one file.

The contract every target checks: the reader returns, or raises one of the project's declared
errors (:class:`clamp3.errors.Clamp3Error`); any other exception escaping it is a bug. Seeds are
the real files under ``tests/data``, plus tiny audio, feature, checkpoint and sidecar files made
here from them. :func:`mutate` turns a seed into a new input the way a byte-level fuzzer does;
given a ``random.Random`` it serves both the campaign (seeded) and hypothesis (``st.randoms()``,
so that a failing input shrinks).

Used by ``fuzz/fuzz_readers.py`` (atheris), ``fuzz/campaign.py`` and ``tests/test_fuzz.py``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import io
import json
import random
import re
import signal
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

from clamp3.errors import Clamp3Error

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
REGRESSIONS = DATA / "fuzz"  # one folder per target, each input named by its digest
TEXT_MODEL = DATA / "tiny-xlmr"
# An input bigger than this is cut back after mutation: growth is the job of the repeat ops,
# and huge files are the pathological tests' job, not the per-input fuzzer's.
MAX_INPUT_BYTES = 1 << 20


@dataclass(frozen=True)
class Target:
    """One reader: the file suffix it is given and where its seeds come from."""

    name: str
    suffix: str
    read: Callable[[Path], object]
    seeds: Callable[[], list[bytes]]
    # How many items an input holds: the time budget is per item (a book of 800 tunes is
    # 800 conversions, not a hang).
    items: Callable[[bytes], int] = lambda data: 1
    # What of an input is read: a long book is cut, as more of the same tunes only costs time.
    cut: Callable[[bytes], bytes] = lambda data: data

    def run(self, data: bytes, directory: Path, hang: float | None = None) -> None:
        """Write ``data`` as a file and read it; declared errors are an answer, others escape,
        and so does :class:`Hang` when reading takes more than ``hang`` seconds."""
        path = directory / f"input{self.suffix}"
        path.write_bytes(self.cut(data))
        previous = signal.signal(signal.SIGALRM, _alarm) if hang else None
        if hang:
            signal.setitimer(signal.ITIMER_REAL, hang)
        try:
            self.read(path)
        except Clamp3Error:
            pass
        finally:
            if hang:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)


class Hang(BaseException):
    """Raised by an alarm in a reader that runs too long; a BaseException, so that the readers'
    catch-alls around third-party parsers do not turn it into a declared error."""


def _alarm(signum, frame):
    raise Hang


# --- readers ----------------------------------------------------------------------------------
def _lazy(module: str, name: str) -> Callable[[Path], object]:
    """``module.name(path)``, the module imported at the first call (importing this module stays
    cheap: a campaign loads only the readers of its targets)."""

    def read(path: Path) -> object:
        return getattr(importlib.import_module(module), name)(path)

    read.__name__ = name
    return read


_read_score = _lazy("clamp3.formats", "read_items")
_read_abc = _lazy("clamp3.formats.abc", "read_abc")
_read_midi = _lazy("clamp3.formats.midi", "read_midi")
_read_mtf = _lazy("clamp3.formats.midi", "read_mtf")
_read_text = _lazy("clamp3.formats.text", "read_text")
_read_audio = _lazy("clamp3.formats.audio", "read_audio")
_read_features = _lazy("clamp3.formats.npy", "read_features")
_read_sidecar = _lazy("clamp3.metadata", "read_sidecar")


def _read_checkpoint_sizes(path: Path) -> object:
    """An official .pth as far as the model's sizes: everything ``load_official`` does with the
    file's bytes before it builds the model (which the structured test in tests/test_fuzz.py covers)."""
    from clamp3.models.loading import config_from_state, read_checkpoint

    return config_from_state(read_checkpoint(path), str(TEXT_MODEL), path)


# --- seeds ------------------------------------------------------------------------------------
def _files(*patterns: str) -> Callable[[], list[bytes]]:
    def seeds() -> list[bytes]:
        paths = sorted({p for pattern in patterns for p in DATA.glob(pattern)})
        return [p.read_bytes() for p in paths]

    return seeds


@functools.cache
def _tiny_waveform():
    import soundfile

    samples, _ = soundfile.read(DATA / "audio" / "clip_0.6s.wav", frames=480, dtype="float32")
    return samples  # 20 ms at 24 kHz


def _audio(format: str, subtype: str | None = None, sample_rate: int = 24_000) -> Callable[[], list[bytes]]:
    def seeds() -> list[bytes]:
        import numpy as np
        import soundfile

        samples = _tiny_waveform()
        made = []
        for channels in (1, 2):
            buffer = io.BytesIO()
            data = samples if channels == 1 else np.stack([samples, samples[::-1]], axis=1)
            soundfile.write(buffer, data, sample_rate, format=format, subtype=subtype)
            made.append(buffer.getvalue())
        return made

    return seeds


def _features() -> list[bytes]:
    import numpy as np

    made = []
    for array in (np.arange(24, dtype=np.float32).reshape(3, 8), np.ones((1, 2, 4), dtype=np.float16)):
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        made.append(buffer.getvalue())
    return made


def _checkpoints() -> list[bytes]:
    """Official-layout .pth files holding the tensors whose shapes give the model's sizes."""
    import torch

    def encoder(prefix: str, hidden: int, length: int) -> dict[str, torch.Tensor]:
        return {
            f"{prefix}embeddings.LayerNorm.weight": torch.ones(hidden),
            f"{prefix}embeddings.position_embeddings.weight": torch.zeros(length, hidden),
            f"{prefix}embeddings.token_type_embeddings.weight": torch.zeros(1, hidden),
            f"{prefix}encoder.layer.0.intermediate.dense.weight": torch.zeros(2 * hidden, hidden),
            f"{prefix}encoder.layer.1.output.dense.bias": torch.zeros(hidden),
        }

    state = {
        "text_proj.weight": torch.zeros(4, 64),
        "symbolic_model.patch_embedding.weight": torch.zeros(8, 3 * 128),
        **encoder("symbolic_model.base.", 8, 4),
        **encoder("audio_model.", 8, 4),
    }
    made = []
    for checkpoint in ({"model": state, "epoch": 0, "min_eval_loss": 0.0}, state):
        buffer = io.BytesIO()
        torch.save(checkpoint, buffer)
        made.append(buffer.getvalue())
    return made


_SIDECAR_ROWS = [
    {"path": "scores/essen_book.abc", "title": "Essen", "year": 1982},
    {"path": "audio/clip_0.6s.wav", "title": "Chorale, \"BWV 10.7\"", "genre": "", "tags": ["a", "b"]},
]


def _sidecar_csv() -> list[bytes]:
    import csv

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["path", "title", "year", "genre"], extrasaction="ignore")
    writer.writeheader()
    writer.writerows(_SIDECAR_ROWS)
    return [buffer.getvalue().encode("utf-8"), b"\xef\xbb\xbfpath;title\r\na.mid;x\r\n"]


def _sidecar_jsonl() -> list[bytes]:
    return ["\n".join(json.dumps(row, ensure_ascii=False) for row in _SIDECAR_ROWS).encode("utf-8") + b"\n"]


def _musicxml_from_abc() -> list[bytes]:
    """A small MusicXML score: the first Essen song of the tune book, through abc2xml."""
    from clamp3.formats.abc import abc_to_musicxml, split_tunes

    book = (DATA / "scores" / "essen_book.abc").read_text(encoding="utf-8")
    root = ElementTree.fromstring(abc_to_musicxml(split_tunes(book)[0][1], Path("essen.abc")))
    ElementTree.indent(root)  # one element a line, as most MusicXML files are written
    return [ElementTree.tostring(root, encoding="utf-8")]


_TUNE_START = re.compile(rb"^X:", re.M)
MAX_TUNES = 20


def _tune_count(data: bytes) -> int:
    return max(1, len(_TUNE_START.findall(data)))


def _first_tunes(data: bytes) -> bytes:
    starts = [match.start() for match in _TUNE_START.finditer(data)]
    return data if len(starts) <= MAX_TUNES else data[: starts[MAX_TUNES]]


def _join(*sources: Callable[[], list[bytes]]) -> Callable[[], list[bytes]]:
    return lambda: [seed for source in sources for seed in source()]


TARGETS: dict[str, Target] = {
    target.name: target
    for target in (
        Target("text", ".txt", _read_text, _files("golden/embed_tiny/inputs/*.txt", "bad/latin1.txt")),
        Target(
            "abc",
            ".abc",
            _read_abc,
            _files("golden/embed_tiny/inputs/score_[01].abc", "golden/convert/abc_official/bach__bwv165.6.abc", "bad/nobars.abc"),
        ),
        Target("abc_book", ".abc", _read_abc, _files("scores/essen_book.abc", "bad/book_one_bad.abc"), _tune_count, _first_tunes),
        Target("mtf", ".mtf", _read_mtf, _files("golden/embed_tiny/inputs/midi_0.mtf")),
        Target("midi", ".mid", _read_midi, _files("golden/convert/midi/bwv323.mid", "golden/convert/midi/bwv286.mid", "bad/nomsg.mid")),
        Target("musicxml", ".xml", _read_score, _join(_musicxml_from_abc, _files("scores/bwv10.7_plain.xml"))),
        Target("mxl", ".mxl", _read_score, _files("scores/bwv10.7.mxl", "bad/truncated.mxl")),
        Target("audio_wav", ".wav", _read_audio, _audio("WAV", "PCM_16")),
        Target("audio_flac", ".flac", _read_audio, _audio("FLAC")),
        Target("audio_ogg", ".ogg", _read_audio, _audio("OGG", "VORBIS")),
        Target("audio_mp3", ".mp3", _read_audio, _join(_audio("MP3", sample_rate=22_050), _files("bad_audio/corrupt.mp3"))),
        Target("audio_aiff", ".aiff", _read_audio, _audio("AIFF", "PCM_24")),
        Target("features", ".npy", _read_features, _features),
        Target("checkpoint", ".pth", _read_checkpoint_sizes, _checkpoints),
        Target("sidecar_csv", ".csv", _read_sidecar, _sidecar_csv),
        Target("sidecar_jsonl", ".jsonl", _read_sidecar, _sidecar_jsonl),
    )
}


@functools.cache
def seeds_of(name: str) -> tuple[bytes, ...]:
    return tuple(TARGETS[name].seeds())


# --- mutation ---------------------------------------------------------------------------------
# Values that sit on the edges of the integer fields of binary headers (chunk lengths, sample
# rates, channel counts, tensor sizes) and of the counts written in text formats.
_INTERESTING_BYTES = (0x00, 0x01, 0x7F, 0x80, 0xFF)
_INTERESTING_INTS = (0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)
_HUGE_NUMBERS = (b"0", b"-1", b"65536", b"999999999", b"18446744073709551617", b"1e308", b"nan")


def mutate(seed: bytes, rng: random.Random, others: tuple[bytes, ...] = (), steps: int | None = None) -> bytes:
    """One fuzzer input from ``seed``: a few byte flips, inserts, deletes, splices with
    ``others``, repeats of a piece (up to thousands of times) and edge-value integers."""
    data = bytearray(seed)
    # half the inputs only change numbers and whole lines, which keeps most XML well-formed and
    # most ABC and MTF parseable, so that they reach the converters behind the parsers
    ops = (7, 9) if rng.random() < 0.5 else tuple(range(10))
    for _ in range(rng.randint(1, 6) if steps is None else steps):
        op = rng.choice(ops)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:  # flip one bit
            at = min(at, len(data) - 1)
            data[at] ^= 1 << rng.randrange(8)
        elif op == 1 and data:  # set an edge byte
            data[min(at, len(data) - 1)] = rng.choice(_INTERESTING_BYTES)
        elif op == 2:  # insert random bytes
            data[at:at] = rng.randbytes(rng.randint(1, 16))
        elif op == 3 and data:  # delete a range
            del data[at : at + rng.randint(1, max(1, len(data) // 8))]
        elif op == 4 and others:  # splice: our head, another seed's tail
            other = rng.choice(others)
            data = data[:at] + other[rng.randrange(len(other) + 1) :]
        elif op == 5 and data:  # repeat a piece many times (bars, messages, elements, rows)
            start = rng.randrange(len(data))
            piece = bytes(data[start : start + rng.randint(1, 64)])
            data[start:start] = piece * rng.choice((2, 10, 100, 1000, 10_000))
        elif op == 6 and len(data) >= 4:  # an edge integer over a 2- or 4-byte field
            width = rng.choice((2, 4))
            at = min(at, len(data) - width)
            value = rng.choice(_INTERESTING_INTS) & ((1 << 8 * width) - 1)
            data[at : at + width] = value.to_bytes(width, rng.choice(("big", "little")))
        elif op == 7:  # a number in text replaced by a huge or odd one
            digits = [i for i in range(len(data)) if 0x30 <= data[i] <= 0x39]
            if digits:
                at = rng.choice(digits)
                end = at
                while end < len(data) and 0x30 <= data[end] <= 0x39:
                    end += 1
                data[at:end] = rng.choice(_HUGE_NUMBERS)
        elif op == 8 and data:  # truncate
            del data[at:]
        elif op == 9:  # delete, repeat or move a line
            lines = bytes(data).split(b"\n")
            line = rng.randrange(len(lines))
            kind = rng.randrange(3)
            if kind == 0:
                del lines[line]
            elif kind == 1:
                lines[line:line] = [lines[line]] * rng.choice((1, 10, 100))
            else:
                lines.insert(rng.randrange(len(lines) + 1), lines.pop(line))
            data = bytearray(b"\n".join(lines))
    return bytes(data[:MAX_INPUT_BYTES])


def digest(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()[:16]


def save_input(name: str, data: bytes, directory: Path | None = None) -> Path:
    """Keep a failing input where it can be replayed: ``python fuzz/fuzz_readers.py NAME PATH``."""
    directory = Path(directory or Path(tempfile.gettempdir()) / "clamp3-fuzz") / name
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{digest(data)}{TARGETS[name].suffix}"
    path.write_bytes(data)
    return path


def regression_inputs() -> list[tuple[str, Path]]:
    """Every saved crashing input under tests/data/fuzz, with the target it belongs to."""
    return sorted((p.parent.name, p) for p in REGRESSIONS.glob("*/*") if p.parent.name in TARGETS and p.is_file())
