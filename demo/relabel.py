"""Titles and metadata of the demo library made again from the corpus, without embedding again.

    python -m demo.relabel [--library assets/demo-library]

Each item's labels (title, region, country, province, song function, tune type, composer, era)
are read again from its work in the music21 corpus (``demo.corpus``), its other fields kept
(metre, key, voices, bars, split), and all of it cleaned by :func:`clamp3.metadata.clean_metadata`:
the fields a fresh ``demo.release`` would give it. Works the installed corpus no longer lists keep
their stored labels, cleaned. An item whose file has the same content, title and shown metadata
as an earlier item of its modality is removed (the same tune in two books). Vectors are not
touched. ``demo.release`` runs the same :func:`relabel` on the library it builds.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from clamp3.library import Library, read_shipped_map, write_shipped_map
from clamp3.metadata import clean_metadata, shown_metadata

# The fields demo.corpus gives a work; a field it leaves out (None) is dropped from the item.
LABEL_FIELDS = ("title", "region", "country", "province", "function", "tune_type", "composer", "era")


def corpus_labels() -> dict[str, dict]:
    """Work id -> the labels demo.corpus reads for it now."""
    from demo.corpus import composer_works, essen_works, fiddle_works

    return {work["id"]: work for work in essen_works() + fiddle_works() + composer_works()}


def relabeled(title: str, metadata: dict[str, str], name: str, labels: dict[str, dict]) -> tuple[str, dict[str, str]]:
    """(title, metadata) of one item with its work's labels of ``labels`` and cleaned."""
    fields = {"title": title, **metadata}
    work = labels.get(metadata.get("work", ""))
    if work is not None:
        for key in LABEL_FIELDS:
            if work.get(key) is None:
                fields.pop(key, None)
            else:
                fields[key] = work[key]
    fields = clean_metadata(fields, name)
    return fields.pop("title"), fields


def duplicates(library: Library) -> list[int]:
    """Ids of the items that repeat an earlier item of their modality: same content, same title,
    same shown metadata."""
    seen, repeats = set(), []
    rows = library.db.execute("SELECT id, modality, content_hash, title, metadata FROM items ORDER BY id")
    for item_id, modality, digest, title, metadata in rows:
        key = (modality, digest, title, json.dumps(shown_metadata(json.loads(metadata)), sort_keys=True))
        if key in seen:
            repeats.append(item_id)
        seen.add(key)
    return repeats


def relabel(library: Library, labels: dict[str, dict] | None = None) -> dict[str, int]:
    """Relabel every item of ``library`` (one transaction), then remove the repeated items; counts of what changed."""
    labels = corpus_labels() if labels is None else labels
    counts: dict[str, int] = defaultdict(int)
    changes = []
    for row in library.db.execute("SELECT id, name, title, metadata FROM items ORDER BY id").fetchall():
        item_id, name, title, metadata = row[0], row[1], row[2], json.loads(row[3])
        new_title, new_metadata = relabeled(title, metadata, name, labels)
        if new_title != title:
            counts["titles changed"] += 1
        counts["values dropped"] += sum(key not in new_metadata and key not in ("meter", "rhythm") for key in metadata)
        counts["fields renamed"] += sum(key in metadata for key in ("meter", "rhythm"))
        if (new_title, new_metadata) != (title, metadata):
            changes.append((item_id, new_title, new_metadata))
    counts["items changed"] = library.update_metadata(changes)
    repeats = duplicates(library)
    counts["repeated items removed"] = library.remove(repeats) if repeats else 0
    shipped = read_shipped_map(library.directory)
    if repeats and shipped is not None:  # the shipped map holds exactly the library's items
        kept = [item_id for item_id in shipped if item_id not in set(repeats)]
        write_shipped_map(library.directory, kept, np.asarray([shipped[i] for i in kept], dtype=np.float64).reshape(-1, 2))
    return dict(counts)


def compact(folder: Path) -> None:
    """Move the journal into the database and VACUUM it, for a file to ship."""
    connection = sqlite3.connect(folder / "library.sqlite3", isolation_level=None)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("VACUUM")
    finally:
        connection.close()
    for extra in folder.glob("library.sqlite3-*"):  # WAL files of a cleanly closed library are empty
        extra.unlink()


def main(argv: list[str] | None = None) -> int:
    from clamp3.assets import LIBRARY_DIR, assets_dir

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--library", default=str(assets_dir() / LIBRARY_DIR))
    args = parser.parse_args(argv)
    folder = Path(args.library)
    library = Library(folder)
    try:
        counts = relabel(library)
    finally:
        library.close()
    compact(folder)
    print(", ".join(f"{key}: {value:,}" for key, value in counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
