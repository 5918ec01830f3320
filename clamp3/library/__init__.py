"""A persistent music library: items, metadata and vectors in SQLite, searched exactly or
through a FAISS index (``store``), or in a Milvus collection (``milvus``); :func:`open_library`
opens either by its name (a folder, ``milvus://host:port/collection`` or a milvus-lite ``*.db``).

``store`` holds :class:`Library`; ``rows`` the typed rows it hands out (:class:`LibraryItem`,
:class:`Hit`); ``shipped_map`` the precomputed map a released library ships with (``map.csv``).
"""

from clamp3.library.milvus import MilvusLibrary, is_milvus_target, open_library
from clamp3.library.rows import Hit, LibraryItem
from clamp3.library.shipped_map import MAP_COLUMNS, MAP_NAME, read_shipped_map, write_shipped_map
from clamp3.library.store import (
    ANN_NAME,
    DB_NAME,
    DEFAULT_ANN_THRESHOLD,
    SET_PREFIX,
    SET_VALUE,
    AddReport,
    BaseLibrary,
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
    "BaseLibrary",
    "Hit",
    "Library",
    "LibraryError",
    "LibraryItem",
    "MilvusLibrary",
    "is_milvus_target",
    "mix_modalities",
    "model_identity",
    "open_library",
    "read_shipped_map",
    "set_field",
    "write_shipped_map",
]
