"""``clamp3 convert``: scores -> interleaved ABC, MIDI -> MTF, in parallel, crash-safe."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from clamp3.batch import BatchJob, BatchReport, Outcome, run_batch
from clamp3.errors import Hint, InputError
from clamp3.formats import CONVERTIBLE_EXTENSIONS, MIDI_EXTENSIONS, read_many
from clamp3.io import Shard, existing_outputs, output_path, text_writer, write_outputs

SUFFIX_OF_KIND = {"abc": ".abc", "mtf": ".mtf"}


def suffix_of(path: Path) -> str:
    """The output suffix of a convertible file: MIDI -> .mtf, scores -> .abc."""
    return ".mtf" if path.suffix.lower() in MIDI_EXTENSIONS else ".abc"


class ConvertJob(BatchJob):
    """Scores and MIDI -> one ``.abc`` / ``.mtf`` per item under ``out_dir``, mirroring the sources' folders."""

    extensions = CONVERTIBLE_EXTENSIONS
    progress_label = "converting"

    def __init__(self, out_dir: str | Path, workers: int = 1):
        self.out_dir = Path(out_dir)
        self.workers = workers

    def done(self, path: Path, base: Path) -> int:
        return len(existing_outputs(self.out_dir, base, path, suffix_of(path)))

    def run(self, paths: list[Path]) -> Iterator[Outcome]:
        for path, items, errors in read_many(paths, self.workers):
            yield from (Outcome(path, error=error) for error in errors)
            yield from (Outcome(path, item.name, item) for item in items)
            if not items and not errors:
                yield Outcome(path)  # nothing in it: still written (as nothing), to clear a killed run's leftovers

    def write(self, source: Path, base: Path, outcomes: list[Outcome], report: BatchReport) -> None:
        outputs = []
        for outcome in outcomes:
            if outcome.value is None:
                continue
            item = outcome.value
            target = output_path(self.out_dir, base, source, item.name, SUFFIX_OF_KIND[item.kind])
            if target.resolve() == source.resolve():
                report.fail(InputError(source, "output would overwrite the input", hint=Hint("choose another", "out")))
                continue
            outputs.append((target, text_writer(item.data)))
        # all tunes of a book at once: a killed run leaves the whole book or marks it unfinished
        write_outputs(self.out_dir, base, source, suffix_of(source), outputs)
        report.written.extend(target for target, _ in outputs)


def convert_files(
    sources: Iterable[str | Path],
    out_dir: str | Path,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    shard: Shard | None = None,
    words: dict[str, str] | None = None,
) -> BatchReport:
    """Convert every score and MIDI file under ``sources``; bad files are lines in the report
    (``words``: the caller's names for the settings their hints name)."""
    return run_batch(ConvertJob(out_dir, workers), sources, BatchReport("converted", words=words), shard, overwrite, progress)
