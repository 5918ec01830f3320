"""A persistent music library: items, metadata and vectors in SQLite, searched exactly or
through a FAISS index (:mod:`clamp3.library.store`)."""

from clamp3.library.shipped_map import MAP_COLUMNS, MAP_NAME, read_shipped_map, write_shipped_map
from clamp3.library.store import (
    ANN_NAME,
    DB_NAME,
    DEFAULT_ANN_THRESHOLD,
    AddReport,
    Hit,
    Library,
    LibraryError,
    model_identity,
)

__all__ = [
    "ANN_NAME",
    "DB_NAME",
    "DEFAULT_ANN_THRESHOLD",
    "MAP_COLUMNS",
    "MAP_NAME",
    "AddReport",
    "Hit",
    "Library",
    "LibraryError",
    "model_identity",
    "read_shipped_map",
    "write_shipped_map",
]
