"""Batched embedding of files and texts with a loaded CLaMP 3 model.

Inputs come from :class:`clamp3.preprocess.Preprocess`, cut into segments as the official
``extract_clamp3.py`` cuts them; the global vector is the mean of the projected segment vectors
weighted by :func:`~clamp3.preprocess.segment_weights`; per-step features concatenate the
segments without the overlap.

Unlike the official loop (one file, one segment at a time, every segment padded to L), segments
of many files are sorted by length and run in batches padded only to the longest in the batch.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.attention import SDPBackend, sdpa_kernel
from tqdm.auto import tqdm

from clamp3.errors import INPUT_ERRORS, InputError
from clamp3.formats import Item
from clamp3.models.clamp3 import CLaMP3Model
from clamp3.preprocess import (
    DEFAULT_MAX_TEXT_TOKENS,
    Prepared,
    Preprocess,
    pad_batch,
    segment_bounds,
    segment_weights,
)

logger = logging.getLogger(__name__)

# Attention kernels for inference on a GPU. cuDNN's, which torch prefers for bfloat16 on Hopper,
# builds a plan for each new shape, and batches here come in many shapes: on an H200 the first
# bfloat16 pass over benchmarks/embed.py's large folder took 1.2-1.6 s with it and 0.55-0.61 s
# without, warm passes alike (README, "GPU run"). Float32 never reaches cuDNN's kernel.
SDPA_BACKENDS = [SDPBackend.FLASH_ATTENTION, SDPBackend.EFFICIENT_ATTENTION, SDPBackend.MATH]


@dataclass
class FileResult:
    """What became of one item (or of a whole file that could not be read)."""

    source: Path
    item: Item | None = None
    embedding: np.ndarray | None = None
    error: InputError | None = None


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
        preprocess: Preprocess | None = None,
        lock: contextlib.AbstractContextManager | None = None,
    ):
        """``preprocess`` turns items into model input (by default the one ``model`` names, with
        ``max_text_tokens``, ``audio_extractor``, ``mert`` and ``feature_cache``; give those to
        the :class:`Preprocess` instead when giving one). ``lock`` (a ``threading.Lock`` a server
        shares among its threads) is held around each use of a model only, each batch's forward
        pass and a waveform's feature extraction: reading, converting, tokenising and patching run
        outside it."""
        if preprocess is None:
            preprocess = Preprocess.from_model(
                model, max_text_tokens=max_text_tokens, mert=mert, feature_cache=feature_cache, audio_extractor=audio_extractor
            )
        elif audio_extractor is not None or mert is not None or feature_cache is not None or max_text_tokens != DEFAULT_MAX_TEXT_TOKENS:
            raise ValueError("input options go to the Preprocess when one is given, not to the Embedder")
        self.model = model.eval()
        self.preprocess = preprocess
        self.batch_size = batch_size
        self.max_padding = max_padding
        self.lock = lock if lock is not None else contextlib.nullcontext()

    @property
    def tokenizer(self):
        return self.preprocess.tokenizer

    @property
    def max_lengths(self) -> dict[str, int]:
        return self.preprocess.max_lengths

    def prepare(self, item: Item) -> Prepared:
        """Tokenise, patchilise or frame one item (:meth:`Preprocess.prepare`); a waveform's
        features come from the audio model, under the lock."""
        if item.kind == "waveform":
            with self.lock:
                return self.preprocess.prepare(item)
        return self.preprocess.prepare(item)

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
            inputs, mask = pad_batch([segments[i] for i in chunk], self.preprocess.pad_value(modality))
            inputs, mask = inputs.to(device), mask.to(device)
            # The lock is taken per batch: a short query waits for one batch of a long file, not all of them.
            # torch's kernel choice is process-wide: set and restored under the lock, batch by batch
            kernels = sdpa_kernel(SDPA_BACKENDS) if device.type == "cuda" else contextlib.nullcontext()
            with self.lock, kernels:
                hidden = self.model.hidden(modality, inputs, mask)  # (batch, length, hidden)
                if pooled:
                    vectors = self.model.project(modality, hidden, mask).float().cpu()
                else:
                    hidden = hidden.float().cpu()
            if pooled:
                for row, index in enumerate(chunk):
                    outputs[index] = vectors[row]
            else:
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
    def prepare_texts(self, texts: Sequence[str]) -> list[Prepared]:
        """Texts as the model reads them (tokenised; the token budget checked); no model runs."""
        return [self.prepare(Item(Path("<text>"), f"text{i}", "text", text)) for i, text in enumerate(texts)]

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        """Texts -> (N, D) global vectors; each text may hold several lines, as a .txt file."""
        return np.concatenate(self.embed_prepared(self.prepare_texts(texts)), axis=0)

    def encode_items(self, items: Sequence[Item], pooled: bool = True) -> list[np.ndarray]:
        return self.embed_prepared([self.prepare(item) for item in items], pooled)

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
        # Each file's results stay together and in input order (errors first, then its items),
        # whatever waits for the next batch: a writer can take one file's outputs at a time.
        pending: list[tuple[Path, list[FileResult | Prepared]]] = []
        waiting = 0
        bar = tqdm(total=len(paths), unit="file", disable=not progress, desc="embedding")

        def flush() -> Iterator[FileResult]:
            prepared = [entry for _, entries in pending for entry in entries if isinstance(entry, Prepared)]
            vectors = iter(self.embed_prepared(prepared, pooled))
            for path, entries in pending:
                for entry in entries:
                    yield FileResult(path, entry.item, next(vectors)) if isinstance(entry, Prepared) else entry
            pending.clear()

        for path, items, errors in self.preprocess.read(paths, workers):
            entries: list[FileResult | Prepared] = [FileResult(path, error=error) for error in errors]
            for item in items:
                try:
                    entries.append(self.prepare(item))
                    waiting += 1
                except INPUT_ERRORS as exc:
                    entries.append(FileResult(path, item, error=exc))
            pending.append((path, entries))
            bar.update(1)
            if waiting >= chunk_size:
                yield from flush()
                waiting = 0
        if pending:
            yield from flush()
        bar.close()
