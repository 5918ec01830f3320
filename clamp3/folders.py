"""A folder of music (or of saved vectors) as names and vectors, and a query given as a text or a file:
what ``search REF_DIR``, ``score``, ``eval``, ``distance`` and ``probe`` read."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from clamp3.errors import INPUT_ERRORS, Clamp3Error
from clamp3.formats import SUPPORTED_EXTENSIONS
from clamp3.io import collect_files

logger = logging.getLogger(__name__)


def embed_folder(embedder, folder: str | Path, embeddings: bool = False, workers: int = 0) -> tuple[list[str], np.ndarray]:
    """Every file under ``folder`` -> (relative paths, (N, D) global vectors); a file that cannot
    be embedded is logged and left out.

    With ``embeddings``, the folder holds .npy global vectors as the official scripts read them.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise Clamp3Error(f"{folder}: not a folder")
    if embeddings:
        files, _ = collect_files([folder], [".npy"])
        if not files:
            raise Clamp3Error(f"{folder}: no .npy file")
        return [str(p.relative_to(folder)) for p, _ in files], np.stack([np.load(p).reshape(-1) for p, _ in files])
    files, _ = collect_files([folder], SUPPORTED_EXTENSIONS)
    names, vectors = [], []
    for result in embedder.encode_files([p for p, _ in files], workers=workers, progress=False):
        if result.error is not None:
            logger.error("%s", result.error)
            continue
        relative = result.source.parent.relative_to(folder) / (result.item.name + result.source.suffix)
        names.append(relative.as_posix())
        vectors.append(result.embedding.reshape(-1))
    if not vectors:
        raise Clamp3Error(f"{folder}: no file could be embedded")
    return names, np.stack(vectors)


def encode_query(embedder, query: str) -> np.ndarray:
    """(1, D): the file ``query`` names (its first piece that reads, as the app takes an upload:
    a tune book's other tunes are neither embedded nor able to fail the query), or else the text
    itself."""
    path = Path(query)
    if not path.is_file():
        return embedder.encode_texts([query])
    ((_, items, errors),) = embedder.preprocess.read([path])
    for item in items:
        try:
            prepared = embedder.prepare(item)
        except INPUT_ERRORS as exc:
            errors.append(exc)
            continue
        if len(items) > 1:
            logger.warning("%s holds %d pieces: the query is the first that reads (%s)", path.name, len(items), item.name)
        (vector,) = embedder.embed_prepared([prepared])
        return vector.reshape(1, -1)
    raise errors[0] if errors else Clamp3Error(f"{path.name}: no music found in the file")
