"""What a library hands out: its items, and search hits (an item with its rank and score)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class LibraryItem:
    """One item of a library: a file, or one tune of a tune book (``name`` ``book#X``).

    ``path`` is absolute; ``metadata`` holds every field but the title (read from the file, then
    overridden by the sidecar)."""

    id: int
    path: str
    name: str
    modality: str
    title: str
    metadata: dict[str, str]

    def to_dict(self) -> dict:
        return {"id": self.id, "path": self.path, "name": self.name, "modality": self.modality,
                "title": self.title, "metadata": dict(self.metadata)}


@dataclass(frozen=True)
class Hit(LibraryItem):
    """An item found by a search: ``rank`` from 1, ``score`` the cosine similarity to the query;
    ``calibrated``, in a search of all modalities at once (:meth:`Library.search_mixed`), the
    score the hit was ranked by (``retrieval.merge_calibrated``: 1 for each modality's best);
    ``passage``, in a passage search (``clamp3.passages``), the bars of the window that matched."""

    rank: int
    score: float
    calibrated: float | None = None
    passage: tuple[int, int] | None = None  # a passage search's best window: (first bar, last bar), from 1

    def to_dict(self) -> dict:
        extra = {} if self.calibrated is None else {"calibrated": self.calibrated}
        if self.passage is not None:
            extra["passage"] = {"first_bar": self.passage[0], "last_bar": self.passage[1]}
        return {"rank": self.rank, "score": self.score, **extra, **super().to_dict()}
