"""One reader per input format and one dispatcher by extension.

Every reader turns a file into :class:`Item` objects holding what the model reads: text,
interleaved ABC, MTF, or audio features.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from itertools import islice
from pathlib import Path

from clamp3.errors import INPUT_ERRORS, InputError, PartialInputError, UnsupportedFormatError
from clamp3.formats.abc import read_abc
from clamp3.formats.audio import AUDIO_EXTENSIONS, read_audio
from clamp3.formats.base import MODALITY_OF_KIND, Item
from clamp3.formats.midi import MIDI_EXTENSIONS, read_midi, read_mtf
from clamp3.formats.musicxml import MUSICXML_EXTENSIONS, read_musicxml_as_abc
from clamp3.formats.npy import read_features
from clamp3.formats.scores import MUSIC21_EXTENSIONS, music21_to_abc
from clamp3.formats.text import read_text, unique_lines


def _score_reader(to_abc: Callable[[Path], str]) -> Callable[[Path], list[Item]]:
    from clamp3.formats.abc import abc_to_interleaved

    def read(path: Path) -> list[Item]:
        return [Item(path, path.stem, "abc", abc_to_interleaved(to_abc(path), path))]

    return read


READERS: dict[str, Callable[[Path], list[Item]]] = {
    ".txt": read_text,
    ".abc": read_abc,
    ".mtf": read_mtf,
    ".npy": read_features,
    **{ext: read_midi for ext in MIDI_EXTENSIONS},
    **{ext: _score_reader(read_musicxml_as_abc) for ext in MUSICXML_EXTENSIONS},
    **{ext: _score_reader(music21_to_abc) for ext in MUSIC21_EXTENSIONS},
    **{ext: read_audio for ext in AUDIO_EXTENSIONS},
}
SUPPORTED_EXTENSIONS = tuple(READERS)
# Inputs the symbolic encoder reads (as interleaved ABC or MTF).
SYMBOLIC_EXTENSIONS = tuple(ext for ext in READERS if ext not in (".txt", ".npy", *AUDIO_EXTENSIONS))
# Inputs that `convert` turns into .abc or .mtf (text, MTF and features are already model input).
CONVERTIBLE_EXTENSIONS = tuple(ext for ext in SYMBOLIC_EXTENSIONS if ext != ".mtf")


def read_items(path: str | Path) -> list[Item]:
    """Read a file with the reader its extension names."""
    path = Path(path)
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise UnsupportedFormatError(
            path, f"unsupported file type '{path.suffix}'; expected one of {' '.join(SUPPORTED_EXTENSIONS)}"
        )
    return reader(path)


def try_read_items(path: Path) -> tuple[list[Item], list[InputError]]:
    """:func:`read_items` with the declared input errors returned instead of raised."""
    try:
        return read_items(path), []
    except PartialInputError as exc:
        return exc.items, exc.errors
    except INPUT_ERRORS as exc:
        return [], [exc]


def _read_in_process(path: Path) -> tuple[list[Item], list[InputError]]:
    """:func:`try_read_items`, with running out of memory an error of this file: what the process
    has left once the reader's allocations are dropped is enough to go on with the next file."""
    try:
        return try_read_items(path)
    except MemoryError:
        return [], [InputError(path, "reading it ran out of memory")]


def read_many(
    paths: Sequence[Path], workers: int = 0, ahead: int | None = None
) -> Iterator[tuple[Path, list[Item], list[InputError]]]:
    """Read and convert files, in ``workers`` processes when more than one, in input order.

    At most ``ahead`` files (default: 4 per worker) are read before the caller takes them, so a
    caller slower than the readers (a model on the CPU) does not hold a whole batch job in memory.
    When the environment sets read limits (:class:`~clamp3.formats.isolated.ReadLimits`), each
    file is read in a child process of its own within them, ``workers`` (at least one) at once.
    """
    from clamp3.formats.isolated import ReadLimits, read_isolated

    limits = ReadLimits.from_environment()
    if limits is None and (workers <= 1 or len(paths) <= 1):
        for path in paths:
            yield path, *_read_in_process(path)
        return
    if limits is not None:
        read, pool = partial(read_isolated, limits=limits), ThreadPoolExecutor(max_workers=max(1, workers))
    else:
        read, pool = _read_in_process, ProcessPoolExecutor(max_workers=workers)
    yield from _read_ahead(paths, read, pool, max(1, ahead or 4 * max(1, workers)))


def _read_ahead(paths: Sequence[Path], read: Callable, pool: Executor, ahead: int) -> Iterator[tuple[Path, list[Item], list[InputError]]]:
    try:
        queue = iter(paths)
        pending = deque((path, pool.submit(read, path)) for path in islice(queue, ahead))
        while pending:
            path, future = pending.popleft()
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(read, following)))
            yield path, *future.result()
    finally:  # a caller that stops early waits for the files in flight only
        pool.shutdown(wait=True, cancel_futures=True)


__all__ = [
    "AUDIO_EXTENSIONS",
    "MIDI_EXTENSIONS",
    "MUSICXML_EXTENSIONS",
    "read_many",
    "try_read_items",
    "CONVERTIBLE_EXTENSIONS",
    "MODALITY_OF_KIND",
    "SUPPORTED_EXTENSIONS",
    "SYMBOLIC_EXTENSIONS",
    "Item",
    "read_items",
    "unique_lines",
]
