"""The batch jobs that write a file per input: audio features and embeddings (``clamp3 features``,
``clamp3 embed``); conversion is :class:`clamp3.convert.ConvertJob`. Each runs through
:func:`clamp3.batch.run_batch`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from clamp3.batch import BatchJob, BatchReport, Outcome
from clamp3.formats import AUDIO_EXTENSIONS, SUPPORTED_EXTENSIONS
from clamp3.io import atomic_save_npy, existing_outputs, npy_writer, output_path, write_outputs


class FeatureJob(BatchJob):
    """Audio files -> ``(1, windows, dim)`` features per file, the official ``extract_mert.py`` layout."""

    extensions = AUDIO_EXTENSIONS
    progress_label = "extracting"

    def __init__(self, out_dir: str | Path, extractor, cache=None, workers: int = 1):
        self.out_dir, self.extractor, self.cache, self.workers = Path(out_dir), extractor, cache, workers

    def done(self, path: Path, base: Path) -> int:
        return int(output_path(self.out_dir, base, path, path.stem, ".npy").exists())

    def run(self, paths: list[Path]) -> Iterator[Outcome]:
        from clamp3.features import extract_files

        for path, features, error in extract_files(paths, self.extractor, self.cache, self.workers):
            yield Outcome(path, path.stem, features, error)

    def write(self, source: Path, base: Path, outcomes: list[Outcome], report: BatchReport) -> None:
        for outcome in outcomes:
            target = output_path(self.out_dir, base, source, outcome.name, ".npy")
            atomic_save_npy(target, outcome.value[None])  # (1, windows, dim)
            report.written.append(target)


class EmbedJob(BatchJob):
    """Files of any modality -> one ``.npy`` per item: ``(1, D)`` global vectors when ``pooled``,
    else ``(1, T, H)`` per-step features; the tunes of a book are written together."""

    extensions = SUPPORTED_EXTENSIONS
    progress_label = "embedding"

    def __init__(self, out_dir: str | Path, embedder, pooled: bool = True, workers: int = 1):
        self.out_dir, self.embedder, self.pooled, self.workers = Path(out_dir), embedder, pooled, workers
        self.sources: dict[Path, Path] = {}  # output -> the source it was written for, in this run

    def done(self, path: Path, base: Path) -> int:
        return int(bool(existing_outputs(self.out_dir, base, path, ".npy")))

    def run(self, paths: list[Path]) -> Iterator[Outcome]:
        for result in self.embedder.encode_files(paths, pooled=self.pooled, workers=self.workers, progress=False):
            yield Outcome(result.source, result.item.name if result.item else "", result.embedding, result.error)

    def write(self, source: Path, base: Path, outcomes: list[Outcome], report: BatchReport) -> None:
        outputs = []
        for outcome in outcomes:
            target = output_path(self.out_dir, base, source, outcome.name, ".npy")
            if target in self.sources:
                report.fail(f"{source}: output {target} is already written for {self.sources[target]}; rename one of them")
                continue
            self.sources[target] = source
            outputs.append((target, npy_writer(outcome.value)))
        if outputs:
            write_outputs(self.out_dir, base, source, ".npy", outputs)
            report.written.extend(target for target, _ in outputs)
