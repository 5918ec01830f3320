"""Zero-shot classification with text prompts: the one classifier that ``clamp3 classify``, the
app's Classify tab (and its ``/classify`` endpoint) and the model card's evaluation use.

Classes x templates -> prompts (``{}`` in a template stands for the class) -> text vectors; a
class vector is the mean of its unit prompt vectors (a prompt ensemble), made unit again. An item
gets cosines with the class vectors and probabilities softmax(cosine / temperature), plus the log
of a class prior when one is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from clamp3.errors import Clamp3Error, Hint
from clamp3.retrieval import cosine_matrix, normalize

# CLIP's bound on the learned temperature (a logit scale of at most 100).
DEFAULT_TEMPERATURE = 0.01
DEFAULT_TEMPLATES = ("{}",)


def class_prompts(classes: Sequence[str], templates: Sequence[str] = DEFAULT_TEMPLATES) -> dict[str, list[str]]:
    """Each class's prompts: every template with ``{}`` replaced by the class (no other brace is special)."""
    templates = list(templates) or list(DEFAULT_TEMPLATES)
    missing = [t for t in templates if "{}" not in t]
    if missing:
        raise Clamp3Error(f"template '{missing[0]}' has no {{}} where the class goes", hint=Hint("put {} in every template", "templates"))
    return {label: [template.replace("{}", label) for template in templates] for label in classes}


def checked_prompts(prompts: Mapping[str, Sequence[str]], max_prompts: int | None = None) -> Mapping[str, Sequence[str]]:
    """``prompts`` if they can make a classifier: two classes or more, each with a prompt, and (with
    ``max_prompts``) no more prompts than that in all: checked before anything is encoded."""
    total = sum(len(texts) for texts in prompts.values())
    if max_prompts is not None and total > max_prompts:
        raise Clamp3Error(f"{len(prompts)} classes make {total} prompts, over the limit of {max_prompts}",
                          hint=Hint("give fewer classes or templates", "classes"))
    if len(prompts) < 2:
        raise Clamp3Error(f"zero-shot classification needs at least two classes, got {len(prompts)}",
                          hint=Hint("give two classes or more", "classes"))
    empty = [label for label, texts in prompts.items() if not texts]
    if empty:
        raise Clamp3Error(f"class '{empty[0]}' has no prompt")
    return prompts


# A file whose best class is below this cosine is far from every class, whatever the softmax says (its
# probabilities still reach 0.9+). Measured for the embedded default (second edition, as released
# with each work's texts in eight training languages, 2026-12-07) on the demo library's 11,099 scores
# by benchmarks/fit_cosine.py: with the tune-type classes, scores of those types have a median best
# cosine of 0.74 (lowest 0.497: none flagged), other scores 0.31 (95 % flagged); with the region
# classes 0.67 against 0.19 (30 of 7,674 flagged against 80 %); with the era classes 0.69 against
# 0.18 (7 of 916 against 100 %). The sum of the two error rates over the three presets is 0.26, near
# its lowest (0.255 at 0.435, which flags 75 or more of the region classes' scores); 0.38, the release
# before's, gives 0.34: it flags 87 % of the other scores under the tune-type classes and 22 of the
# first 40 Chinese songs. Other models have their own scale.
FIT_COSINE = {"default": 0.42}  # by weights name: the embedded default (clamp3.assets.EMBEDDED)


@dataclass(frozen=True)
class Prediction:
    """Of N items over C classes: cosines and probabilities (N, C), and each item's top class."""

    classes: list[str]
    cosines: np.ndarray
    probabilities: np.ndarray

    @property
    def labels(self) -> list[str]:
        return [self.classes[i] for i in self.probabilities.argmax(axis=1)]

    def far_from_every_class(self, threshold: float) -> np.ndarray:
        """(N,) True where an item's best cosine to the classes is under ``threshold``: none of the
        classes may describe it, however its probabilities read."""
        return self.cosines.max(axis=1) < threshold

    def ranking(self, row: int = 0) -> list[tuple[str, float, float]]:
        """(class, probability, cosine) of one item, most probable first."""
        order = np.argsort(-self.probabilities[row], kind="stable")
        return [(self.classes[i], float(self.probabilities[row, i]), float(self.cosines[row, i])) for i in order]


@dataclass(frozen=True)
class ZeroShotClassifier:
    classes: list[str]
    class_vectors: np.ndarray  # (C, D), unit rows
    temperature: float = DEFAULT_TEMPERATURE
    log_prior: np.ndarray | None = None  # (C,), added to the logits

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise Clamp3Error(f"temperature must be above 0, got {self.temperature}")

    @classmethod
    def from_prompts(
        cls,
        encode_texts: Callable[[list[str]], np.ndarray],
        prompts: Mapping[str, Sequence[str]],
        temperature: float = DEFAULT_TEMPERATURE,
        prior: Mapping[str, float] | None = None,
        max_prompts: int | None = None,
    ) -> ZeroShotClassifier:
        """Classes and their prompts -> a classifier; ``encode_texts`` maps texts to (N, D) vectors
        (all prompts go through it in one call). ``prior``: class -> probability (any scale)."""
        classes = list(checked_prompts(prompts, max_prompts))
        flat = [prompt for label in classes for prompt in prompts[label]]
        vectors = normalize(encode_texts(flat))  # (prompts, D)
        bounds = np.cumsum([0] + [len(prompts[label]) for label in classes])
        class_vectors = normalize(np.stack([vectors[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:])]))
        log_prior = None
        if prior is not None:
            weights = np.array([float(prior.get(label, 0.0)) for label in classes])
            if (weights <= 0).any():
                raise Clamp3Error("a class prior needs a probability above 0 for every class")
            log_prior = np.log(weights / weights.sum())
        return cls(classes, class_vectors, float(temperature), log_prior)

    @classmethod
    def from_templates(
        cls,
        encode_texts: Callable[[list[str]], np.ndarray],
        classes: Sequence[str],
        templates: Sequence[str] = DEFAULT_TEMPLATES,
        temperature: float = DEFAULT_TEMPERATURE,
        prior: Mapping[str, float] | None = None,
        max_prompts: int | None = None,
    ) -> ZeroShotClassifier:
        """Every class in every template: the prompt ensemble of the CLI and the app."""
        return cls.from_prompts(encode_texts, class_prompts(classes, templates), temperature, prior, max_prompts)

    def predict(self, vectors: np.ndarray) -> Prediction:
        """(N, D) item vectors -> their :class:`Prediction`."""
        cosines = cosine_matrix(np.atleast_2d(vectors), self.class_vectors)
        logits = cosines / self.temperature
        if self.log_prior is not None:
            logits = logits + self.log_prior
        logits = logits - logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        return Prediction(self.classes, cosines, probabilities / probabilities.sum(axis=1, keepdims=True))


# A field written by classify_library: a name of letters, digits, '_' and '-' (it is a filter and a
# map colour), not one the library keeps for itself.
FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,39}")


def classify_library(
    library, classifier: ZeroShotClassifier, field: str, modality: str | None = None,
    where: Mapping[str, str] | None = None, chunk: int = 5000,
) -> int:
    """Classify the items of ``library`` (of ``modality``, whose fields equal ``where``) and write
    each one's top class into the metadata field ``field`` and its probability (3 decimals) into
    ``field_probability``, in one transaction; search, filters and maps read them at once.
    Returns how many items were written."""
    from clamp3.metadata import HIDDEN_FIELDS

    if not FIELD_NAME.fullmatch(field or "") or field in HIDDEN_FIELDS or field == "title":
        raise Clamp3Error(f"'{field}' cannot be a field to write: letters, digits, '_' or '-', starting with a letter"
                          + (" (and not one the library keeps)" if field in HIDDEN_FIELDS or field == "title" else ""))
    rows = library.items(modality, dict(where or {}))
    if not rows:
        raise Clamp3Error(f"{library.directory}: no item to classify (modality {modality or 'any'}, filter {dict(where or {})})")
    changes = []
    for start in range(0, len(rows), chunk):
        part = rows[start : start + chunk]
        prediction = classifier.predict(library.vectors_of([r.id for r in part]))
        best = prediction.probabilities.argmax(axis=1)
        for row, index, probabilities in zip(part, best, prediction.probabilities):
            metadata = {**row.metadata, field: prediction.classes[index], f"{field}_probability": f"{probabilities[index]:.3f}"}
            changes.append((row.id, row.title, metadata))
    library.update_metadata(changes)
    return len(changes)
