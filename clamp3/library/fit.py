"""Whether anything in a library fits a text query: the query's best cosine against the best
cosines that the library's own descriptions reach.

A search always returns its ``k`` best items, however far they are; "energetic rock guitar solo"
over folk songs and chorales gets a confident-looking list. Descriptions made from a seeded sample
of the library's items (title and field values) are queries that do fit it: their top-1 cosines
show what a fitting query reaches here, and a query whose best cosine falls below a low percentile
of them is told that nothing in the library is close (figures in the README, "Honest answers").
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from clamp3.errors import Clamp3Error
from clamp3.metadata import HIDDEN_FIELDS
from clamp3.retrieval import fit_threshold

DESCRIPTIONS = 32  # texts encoded once per library version: some 6 s of the small model on 2 busy cores
NO_FIT_PERCENTILE = 25.0  # a query below the best score of three in four fitting descriptions is "no fit"
INTERNAL_FIELDS = HIDDEN_FIELDS | {"bars", "voices", "kind", "collection"}  # bookkeeping, not descriptions


@dataclass(frozen=True)
class FitCalibration:
    """The best cosines (median ``typical``) the library's own descriptions reach, and the
    ``threshold`` below which a query's best score means nothing in the library fits it."""

    typical: float
    threshold: float
    descriptions: int

    def fits(self, best_score: float) -> bool:
        return best_score >= self.threshold

    def verdict(self, best_score: float) -> str | None:
        """A line for a query that nothing fits, else None."""
        if self.fits(best_score):
            return None
        return f"nothing in this library is close to your query (best score {best_score:.3f}, typical {self.typical:.3f})"


def descriptions(library, count: int = DESCRIPTIONS, seed: int = 0) -> list[str]:
    """Texts made from the title and field values of ``count`` items picked at random (seeded)."""
    ids = [i for (i,) in library.db.execute("SELECT id FROM items ORDER BY id")]
    picked = sorted(random.Random(seed).sample(ids, min(count, len(ids))))
    texts = []
    for item in library.items_by_id(picked):
        values = [str(v) for k, v in item.metadata.items() if k not in INTERNAL_FIELDS and str(v).strip() not in ("", "nan")]
        texts.append(", ".join(dict.fromkeys([item.title, *values])))
    return texts


def calibrate_fit(
    library, encode_texts: Callable[[list[str]], np.ndarray], count: int = DESCRIPTIONS,
    percentile: float = NO_FIT_PERCENTILE, modality: str | None = None,
) -> FitCalibration:
    """Encode ``count`` descriptions of the library's items (``encode_texts``: texts -> (N, D)) and
    take the best cosines they reach among the items (of ``modality``)."""
    texts = descriptions(library, count)
    if not texts:  # (encoding no texts would fail first, with a ValueError)
        raise Clamp3Error(f"{library.directory}: the library is empty: nothing to calibrate against")
    hits = library.search(encode_texts(texts), 1, modality)
    typical, threshold = fit_threshold(np.array([found[0].score for found in hits if found]), percentile)
    return FitCalibration(typical, threshold, len(texts))
