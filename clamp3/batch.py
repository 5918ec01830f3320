"""The one batch job behind ``convert``, ``features``, ``embed`` and ``index add``.

collect the files -> keep this process's shard -> skip what is already done -> claim a chunk
-> read and compute -> write each source's outputs together, atomically -> one line per failure
-> the files put off (another process held them), once more -> a summary.

A job says what "done" means, how its outputs are computed and how they are written; the runner
does the rest the same way for every command, with one report type.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from clamp3.errors import INPUT_ERRORS, InputError, describe
from clamp3.io import Shard, collect_files

logger = logging.getLogger(__name__)


@dataclass
class BatchReport:
    """What a batch did: outputs written, outputs already there, one line per failure."""

    verb: str = "done"
    written: list = field(default_factory=list)  # paths of files, or keys of library items
    skipped: int = 0
    failures: list[str] = field(default_factory=list)
    words: dict[str, str] | None = field(default=None, repr=False)  # the face's names for the settings hints name

    def fail(self, failure: str | Exception) -> None:
        """One line for a bad input, logged: an error with its hint, or a line."""
        line = failure if isinstance(failure, str) else describe(failure, self.words)
        self.failures.append(line)
        logger.error("%s", line)

    def summary(self) -> str:
        return f"{self.verb} {len(self.written)}, skipped {self.skipped} existing, failed {len(self.failures)}"

    @property
    def exit_status(self) -> int:
        return 1 if self.failures else 0


@dataclass
class Outcome:
    """One output of a source (a tune of a book is one of several), or the error of a source or item."""

    source: Path
    name: str = ""
    value: object = None
    error: InputError | None = None


class BatchJob:
    """What the runner needs of a command; a job subclasses this and fills in the four methods
    (``claim``, ``put_off`` and ``commit`` may stay as they are: files need nothing of them)."""

    extensions: Sequence[str]
    progress_label: str

    def done(self, path: Path, base: Path) -> int:
        """How many outputs of ``path`` are already there (0: do it). May raise InputError."""
        raise NotImplementedError

    def run(self, paths: list[Path]) -> Iterator[Outcome]:
        """Outcomes of the files, each source's outcomes one after another."""
        raise NotImplementedError

    def write(self, source: Path, base: Path, outcomes: list[Outcome], report: BatchReport) -> None:
        """Write one source's good outcomes together; add what was written (or failed) to ``report``."""
        raise NotImplementedError

    def claim(self, paths: list[Path]) -> list[Path]:
        """The files of a chunk to do now; the others are put off (another process holds them)."""
        return paths

    def put_off(self) -> list[Path]:
        """The files put off so far, once no other process holds them (waits for that); the runner
        asks ``done`` of them again and does the rest."""
        return []

    def commit(self, report: BatchReport) -> None:
        """After each chunk of files (a library commits its transaction); files need nothing."""
        return None


def run_batch(
    job: BatchJob,
    sources: Iterable[str | Path],
    report: BatchReport,
    shard: Shard | None = None,
    overwrite: bool = False,
    progress: bool = True,
    chunk_files: int | None = None,
) -> BatchReport:
    """Run ``job`` over the files under ``sources``; failures are lines in ``report``, never raised."""
    files, missing = collect_files(sources, job.extensions)
    for source in missing:
        report.fail(f"{source}: no such file or folder")
    if shard is not None:
        files = shard.select(files)
    todo = _not_done(job, files, report, overwrite)
    bases = dict(todo)
    step = max(1, chunk_files or len(todo) or 1)
    with tqdm(total=len(todo), unit="file", desc=job.progress_label, disable=not progress) as bar:
        while todo:
            for start in range(0, len(todo), step):
                paths = job.claim([path for path, _ in todo[start : start + step]])
                for group in _by_source(job.run(paths) if paths else ()):
                    source = group[0].source
                    for outcome in group:
                        if outcome.error is not None:
                            report.fail(outcome.error)
                    job.write(source, bases[source], [o for o in group if o.error is None], report)
                    bar.update(1)
                job.commit(report)
            put_off = job.put_off()
            todo = _not_done(job, [(path, bases[path]) for path in put_off], report, overwrite)  # the other process may have done them
            bar.update(len(put_off) - len(todo))
    return report


def _not_done(job: BatchJob, files: list[tuple[Path, Path]], report: BatchReport, overwrite: bool) -> list[tuple[Path, Path]]:
    """The ``(file, base)`` pairs still to do; what is done is counted as skipped, a file that cannot be checked as failed."""
    todo = []
    for path, base in files:
        try:
            existing = 0 if overwrite else job.done(path, base)
        except INPUT_ERRORS as exc:
            report.fail(exc)
            continue
        if existing:
            report.skipped += existing
        else:
            todo.append((path, base))
    return todo


def _by_source(outcomes: Iterable[Outcome]) -> Iterator[list[Outcome]]:
    """Consecutive outcomes of one source, a list per source."""
    group: list[Outcome] = []
    for outcome in outcomes:
        if group and outcome.source != group[0].source:
            yield group
            group = []
        group.append(outcome)
    if group:
        yield group
