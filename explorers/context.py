"""What every tab shares: the model and the library, loaded once, used under one lock.

The model is not thread-safe to call from several threads at once on the CPU without paying for
it twice in memory bandwidth, so encoding goes through one lock; Gradio's queue decides the
concurrency of the handlers around it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from clamp3 import Embedder, Library, load_model
from clamp3.errors import Clamp3Error
from clamp3.library import Hit, model_identity
from clamp3.retrieval import normalize

logger = logging.getLogger(__name__)


@dataclass
class Context:
    weights: str
    index: Path
    embedder: Embedder
    library: Library
    lock: threading.Lock = field(default_factory=threading.Lock)
    loaded_in: float = 0.0

    @classmethod
    def load(cls, weights: str | None = None, index: str | None = None) -> Context:
        """``weights``/``index`` default to $CLAMP3_WEIGHTS / $CLAMP3_INDEX, then the embedded default."""
        from clamp3.models import EMBEDDED

        started = time.perf_counter()
        weights = weights or os.environ.get("CLAMP3_WEIGHTS") or EMBEDDED
        index = index or os.environ.get("CLAMP3_INDEX")
        if index is None:
            if weights != EMBEDDED:
                raise Clamp3Error(f"weights '{weights}' need a library of their own vectors: pass --index DIR")
            from clamp3.embedded import library_dir

            index = library_dir()
        model = load_model(weights)
        library = Library(index, create=True)
        library.check_model(model_identity(model))
        context = cls(weights, Path(index), Embedder(model, batch_size=16), library)
        context.loaded_in = time.perf_counter() - started
        logger.info("loaded %s and %s (%d items) in %.1f s", weights, index, len(library), context.loaded_in)
        return context

    def encode_text(self, text: str) -> np.ndarray:
        """(1, D) unit vector of a query text."""
        with self.lock:
            return normalize(self.embedder.encode_texts([text]))

    def encode_file(self, path: str | Path) -> np.ndarray:
        """(1, D) unit vector of an uploaded file (its first item, for a tune book)."""
        with self.lock:
            results = list(self.embedder.encode_files([path], progress=False))
        for result in results:
            if result.error is not None:
                raise Clamp3Error(str(result.error))
            return normalize(result.embedding.reshape(1, -1))
        raise Clamp3Error(f"{Path(path).name}: no music found in the file")

    def search(self, vector: np.ndarray, k: int, modality: str | None = None, where: dict[str, str] | None = None) -> list[Hit]:
        with self.lock:
            return self.library.search(vector, k, modality, where)[0]
