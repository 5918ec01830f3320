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


def clock(seconds: int) -> str:
    """Seconds as minutes:seconds (``72`` -> ``1:12``)."""
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


@dataclass(frozen=True)
class Hit(LibraryItem):
    """An item found by a search: ``rank`` from 1, ``score`` the cosine similarity to the query;
    ``calibrated``, in a search of all modalities at once (:meth:`Library.search_mixed`), the
    score the hit was ranked by (``retrieval.merge_calibrated``: 1 for each modality's best);
    ``passage``, in a passage search (``clamp3.passages``), where the window that matched lies:
    its first and last bar of a score (``passage_unit`` "bars"), its start and end second of MIDI
    and audio ("seconds")."""

    rank: int
    score: float
    calibrated: float | None = None
    passage: tuple[int, int] | None = None  # a passage search's best window: (first bar, last bar) from 1, or (start s, end s)
    passage_unit: str = "bars"

    @property
    def passage_label(self) -> str:
        return passage_label(self.passage, self.passage_unit)

    def to_dict(self) -> dict:
        extra = {} if self.calibrated is None else {"calibrated": self.calibrated}
        if self.passage is not None:
            names = ("start_second", "end_second") if self.passage_unit == "seconds" else ("first_bar", "last_bar")
            extra["passage"] = dict(zip(names, self.passage))
        return {"rank": self.rank, "score": self.score, **extra, **super().to_dict()}


def passage_label(passage: tuple[int, int] | None, unit: str = "bars") -> str:
    """"bars 17-24", "bar 3" or (``unit`` "seconds") "1:12-1:27"; empty for no passage."""
    if passage is None:
        return ""
    first, last = passage
    if unit == "seconds":
        return f"{clock(first)}-{clock(last)}"
    return f"bars {first}-{last}" if last > first else f"bar {first}"


def passage_of(stored: dict | None) -> tuple[tuple[int, int] | None, str]:
    """(passage, unit) of a hit's ``to_dict()["passage"]`` (as a page or a JSON line keeps it)."""
    if not isinstance(stored, dict):
        return None, "bars"
    if "start_second" in stored:
        return (int(stored["start_second"]), int(stored["end_second"])), "seconds"
    return (int(stored["first_bar"]), int(stored["last_bar"])), "bars"
