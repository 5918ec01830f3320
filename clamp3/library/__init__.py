"""A persistent music library: items, metadata and vectors in SQLite, searched exactly or
through a FAISS index.

``store`` holds :class:`Library`; ``rows`` the typed rows it hands out (:class:`LibraryItem`,
:class:`Hit`); ``shipped_map`` the precomputed map a released library ships with (``map.csv``).
"""

from clamp3.library.rows import Hit, LibraryItem
from clamp3.library.shipped_map import MAP_COLUMNS, MAP_NAME, read_shipped_map, write_shipped_map
from clamp3.library.store import (
    ANN_NAME,
    DB_NAME,
    DEFAULT_ANN_THRESHOLD,
    SET_PREFIX,
    SET_VALUE,
    AddReport,
    Library,
    LibraryError,
    mix_modalities,
    model_identity,
    set_field,
)

__all__ = [
    "ANN_NAME",
    "DB_NAME",
    "DEFAULT_ANN_THRESHOLD",
    "SET_PREFIX",
    "SET_VALUE",
    "MAP_COLUMNS",
    "MAP_NAME",
    "AddReport",
    "Hit",
    "Library",
    "LibraryError",
    "LibraryItem",
    "mix_modalities",
    "model_identity",
    "read_shipped_map",
    "set_field",
    "write_shipped_map",
]
