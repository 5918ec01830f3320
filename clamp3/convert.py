"""``clamp3 convert``: scores -> interleaved ABC, MIDI -> MTF, in parallel, crash-safe."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from clamp3.formats import CONVERTIBLE_EXTENSIONS, read_many
from clamp3.io import Shard, collect_files, existing_outputs, output_path, text_writer, write_outputs

logger = logging.getLogger(__name__)

SUFFIX_OF_KIND = {"abc": ".abc", "mtf": ".mtf"}


def suffix_of(path: Path) -> str:
    """The output suffix of a convertible file: MIDI -> .mtf, scores -> .abc."""
    return ".mtf" if path.suffix.lower() in (".mid", ".midi") else ".abc"


@dataclass
class Report:
    """What a batch did: files written or skipped, and one line per failure."""

    written: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    def summary(self, verb: str) -> str:
        return f"{verb} {len(self.written)}, skipped {len(self.skipped)} existing, failed {len(self.failures)}"


def convert_files(
    sources: Iterable[str | Path],
    out_dir: str | Path,
    workers: int = 1,
    overwrite: bool = False,
    progress: bool = True,
    shard: Shard | None = None,
) -> Report:
    out_dir = Path(out_dir)
    report = Report()
    files, missing = collect_files(sources, CONVERTIBLE_EXTENSIONS)
    if shard is not None:
        files = shard.select(files)
    report.failures.extend(f"{source}: no such file or folder" for source in missing)
    todo = []
    for path, base in files:
        done = [] if overwrite else existing_outputs(out_dir, base, path, suffix_of(path))
        if done:
            report.skipped.extend(done)
        else:
            todo.append((path, base))
    bar = tqdm(total=len(todo), unit="file", desc="converting", disable=not progress)

    bases = dict(todo)
    for path, items, errors in read_many([path for path, _ in todo], workers):
        base = bases[path]
        for error in errors:
            report.failures.append(str(error))
            logger.error("%s", error)
        outputs = []
        for item in items:
            target = output_path(out_dir, base, path, item.name, SUFFIX_OF_KIND[item.kind])
            if target.resolve() == path.resolve():
                message = f"{path}: output would overwrite the input; choose another --out"
                report.failures.append(message)
                logger.error("%s", message)
                continue
            outputs.append((target, text_writer(item.data)))
        # all tunes of a book at once: a killed run leaves the whole book or marks it unfinished
        write_outputs(out_dir, base, path, suffix_of(path), outputs)
        report.written.extend(target for target, _ in outputs)
        bar.update(1)
    bar.close()
    return report
