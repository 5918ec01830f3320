"""Batched embedding of files and texts with a loaded CLaMP 3 model.

Long inputs follow the official ``extract_clamp3.py`` exactly: an input of n steps is cut into
segments of the encoder's maximum length L, the last segment being the last L steps; the
global vector is the mean of the projected segment vectors weighted by L for full segments and
n mod L for the last; per-step features concatenate the segments without the overlap.

Unlike the official loop (one file, one segment at a time, every segment padded to L), segments
of many files are sorted by length and run in batches padded only to the longest in the batch.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from clamp3.errors import INPUT_ERRORS, InputError
from clamp3.formats import Item, read_many, unique_lines
from clamp3.models.clamp3 import CLaMP3Model
from clamp3.models.patchilizer import Patchilizer

logger = logging.getLogger(__name__)

DEFAULT_MAX_TEXT_TOKENS = 4096


@dataclass
class Prepared:
    """An item as the model reads it: ``steps`` holds token ids (n,), patches (n, patch_size)
    or feature frames (n, dim)."""

    item: Item
    steps: torch.Tensor

    @property
    def modality(self) -> str:
        return self.item.modality


@dataclass
class FileResult:
    """What became of one item (or of a whole file that could not be read)."""

    source: Path
    item: Item | None = None
    embedding: np.ndarray | None = None
    error: InputError | None = None


def pad_batch(sequences: Sequence[torch.Tensor], value: int | float) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences (length, ...) -> a batch padded to the longest (batch, longest, ...) and its mask."""
    longest = max(len(s) for s in sequences)
    batch = sequences[0].new_full((len(sequences), longest, *sequences[0].shape[1:]), value)
    mask = torch.zeros(len(sequences), longest, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return batch, mask


def segment_bounds(length: int, max_length: int) -> list[tuple[int, int]]:
    """[(start, end)] of the segments of an input of ``length`` steps, as the official script."""
    bounds = [(start, min(start + max_length, length)) for start in range(0, length, max_length)]
    bounds[-1] = (max(0, length - max_length), length)
    return bounds


def segment_weights(length: int, max_length: int) -> list[int]:
    full, rest = divmod(length, max_length)
    return [max_length] * full + ([rest] if rest else [])


class Embedder:
    """Embeds texts and files with ``model``; every later feature goes through this class."""

    def __init__(
        self,
        model: CLaMP3Model,
        batch_size: int = 16,
        max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS,
        max_padding: float = 0.1,
        audio_extractor=None,
        mert: str | None = None,
        feature_cache=None,
    ):
        if model.tokenizer is None:
            raise ValueError("model has no tokenizer; load it with clamp3.load_model")
        self.model = model.eval()
        self.tokenizer = model.tokenizer
        self.batch_size = batch_size
        self.max_text_tokens = max_text_tokens
        self.max_padding = max_padding
        self._extractor = audio_extractor
        self.mert = mert
        self.feature_cache = feature_cache
        self.patchilizer = Patchilizer(model.config.patch_size)
        config = model.config
        self.max_lengths = {
            "text": config.max_text_length,
            "symbolic": config.symbolic.max_length,
            "audio": config.audio.max_length,
        }

    # --- inputs -----------------------------------------------------------------------------
    @property
    def audio_extractor(self):
        """The extractor the model's preprocessing names (loaded on first use)."""
        if self._extractor is None:
            from clamp3.features import load_extractor

            self._extractor = load_extractor(self.model.config.audio_extractor, mert=self.mert, device=self.model.device)
        return self._extractor

    def prepare(self, item: Item) -> Prepared:
        """Tokenise, patchilise or frame one item; a bad one raises InputError."""
        if item.kind == "waveform":
            item = Item(item.source, item.name, "features", self.audio_extractor.extract(item.data))
        if item.modality == "text":
            joined = self.tokenizer.sep_token.join(unique_lines(item.data))
            ids = self.tokenizer(joined, add_special_tokens=True, verbose=False)["input_ids"]
            if len(ids) > self.max_text_tokens:
                raise InputError(
                    item.source,
                    f"text is {len(ids)} tokens, over the limit of {self.max_text_tokens} (raise it with --max-text-tokens)",
                )
            return Prepared(item, torch.tensor(ids, dtype=torch.long))
        if item.modality == "symbolic":
            return Prepared(item, torch.from_numpy(self.patchilizer.encode(item.data)))
        frames = torch.from_numpy(np.ascontiguousarray(item.data, dtype=np.float32))
        expected = self.model.config.audio.hidden_size
        if frames.shape[1] != expected:
            raise InputError(item.source, f"audio features have {frames.shape[1]} dimensions, the model expects {expected}")
        zero = torch.zeros(1, frames.shape[1])
        # A zero frame at both ends stands for the start and end of the recording.
        return Prepared(item, torch.cat([zero, frames, zero]))

    # --- the model --------------------------------------------------------------------------
    def _batches(self, lengths: list[int]) -> list[list[int]]:
        """Indices grouped into batches of similar length, longest first.

        A batch holds at most ``batch_size`` segments and is closed before padding would exceed
        ``max_padding`` of its tokens: compute per token is flat in the batch size on a CPU, so
        padding is pure loss there.
        """
        order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
        batches: list[list[int]] = []
        for index in order:
            batch = batches[-1] if batches else None
            if batch and len(batch) < self.batch_size:
                longest = lengths[batch[0]]
                real = sum(lengths[i] for i in batch) + lengths[index]
                if 1 - real / (longest * (len(batch) + 1)) <= self.max_padding:
                    batch.append(index)
                    continue
            batches.append([index])
        return batches

    @torch.inference_mode()
    def _run(self, modality: str, segments: list[torch.Tensor], pooled: bool) -> list[torch.Tensor]:
        """Segments of one modality -> per segment a projected vector or unpadded hidden states."""
        outputs: list[torch.Tensor | None] = [None] * len(segments)
        device = self.model.device
        for chunk in self._batches([len(s) for s in segments]):
            pad_value = self.tokenizer.pad_token_id if modality == "text" else 0
            inputs, mask = pad_batch([segments[i] for i in chunk], pad_value)
            inputs, mask = inputs.to(device), mask.to(device)
            hidden = self.model.hidden(modality, inputs, mask)  # (batch, length, hidden)
            if pooled:
                vectors = self.model.project(modality, hidden, mask).float().cpu()
                for row, index in enumerate(chunk):
                    outputs[index] = vectors[row]
            else:
                hidden = hidden.float().cpu()
                for row, index in enumerate(chunk):
                    outputs[index] = hidden[row, : len(segments[index])]
        return outputs

    def embed_prepared(self, prepared: Sequence[Prepared], pooled: bool = True) -> list[np.ndarray]:
        """Global vectors (1, D) or per-step features (1, n, H), in the order given."""
        results: list[np.ndarray | None] = [None] * len(prepared)
        for modality in ("text", "symbolic", "audio"):
            members = [i for i, p in enumerate(prepared) if p.modality == modality]
            if not members:
                continue
            max_length = self.max_lengths[modality]
            segments, owners = [], []
            for i in members:
                for start, end in segment_bounds(len(prepared[i].steps), max_length):
                    segments.append(prepared[i].steps[start:end])
                    owners.append(i)
            outputs = self._run(modality, segments, pooled)
            by_item: dict[int, list[torch.Tensor]] = {i: [] for i in members}
            for owner, output in zip(owners, outputs):
                by_item[owner].append(output)
            for i, parts in by_item.items():
                length = len(prepared[i].steps)
                if pooled:
                    weights = torch.tensor(segment_weights(length, max_length), dtype=torch.float32)
                    vector = (torch.stack(parts) * weights[:, None]).sum(0) / weights.sum()
                    results[i] = vector[None].numpy()
                else:
                    tail = length % max_length or max_length
                    steps = torch.cat([*parts[:-1], parts[-1][-tail:]])
                    results[i] = steps[None].numpy()
        return results

    # --- public API -------------------------------------------------------------------------
    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (N, D) global vectors; each text may hold several lines, as a .txt file."""
        prepared = [self.prepare(Item(Path("<text>"), f"text{i}", "text", text)) for i, text in enumerate(texts)]
        return np.concatenate(self.embed_prepared(prepared), axis=0)

    def encode_items(self, items: Sequence[Item], pooled: bool = True) -> list[np.ndarray]:
        return self.embed_prepared([self.prepare(item) for item in items], pooled)

    def _read(self, paths: list[Path], workers: int):
        """read_many, with audio files turned into features through the extractor and its cache."""
        from clamp3.formats import AUDIO_EXTENSIONS

        audio = [p for p in paths if p.suffix.lower() in AUDIO_EXTENSIONS]
        if audio:
            from clamp3.features import extract_files

            for path, features, error in extract_files(audio, self.audio_extractor, self.feature_cache, workers):
                yield path, ([] if error else [Item(path, path.stem, "features", features)]), [error] if error else []
        yield from read_many([p for p in paths if p.suffix.lower() not in AUDIO_EXTENSIONS], workers)

    def encode_files(
        self,
        paths: Iterable[str | Path],
        pooled: bool = True,
        workers: int = 0,
        chunk_size: int = 256,
        progress: bool = True,
    ) -> Iterator[FileResult]:
        """Embed files of any supported type; yields one result per item or failed file.

        Files are read (and converted) in ``workers`` processes when more than one; every ``chunk_size`` items
        are embedded together, so memory stays bounded and results arrive as they are done.
        """
        paths = [Path(p) for p in paths]
        pending: list[Prepared] = []
        bar = tqdm(total=len(paths), unit="file", disable=not progress, desc="embedding")

        def flush() -> Iterator[FileResult]:
            for prepared, vector in zip(pending, self.embed_prepared(pending, pooled)):
                yield FileResult(prepared.item.source, prepared.item, vector)
            pending.clear()

        for path, items, errors in self._read(paths, workers):
            for error in errors:
                yield FileResult(path, error=error)
            for item in items:
                try:
                    pending.append(self.prepare(item))
                except INPUT_ERRORS as exc:
                    yield FileResult(path, item, error=exc)
            bar.update(1)
            if len(pending) >= chunk_size:
                yield from flush()
        if pending:
            yield from flush()
        bar.close()

