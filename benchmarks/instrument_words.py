"""How far the text side alone tells instruments (or the music's own words) apart across
languages: the bound on text -> audio instrument queries in a language the audio stage never saw,
and on portrait queries in a language no training text was written in.

    python benchmarks/instrument_words.py
    python benchmarks/instrument_words.py --weights runs/demo/audio/final
    python benchmarks/instrument_words.py --words music

Each instrument query of ``demo/rendering_queries.py`` in one language (the frame and the name,
as ``demo.evaluate`` asks the audio) is matched against the same ten queries in the seven trained
query languages (en de fr es zh ja ru, the language itself left out): it finds its instrument when
its mean cosine to that instrument's queries is the highest of the ten. Measured twice, on the
frozen text tower's pooled output (before the model's text projection) and in the shared space
(after it). An instrument the text side confuses in a language cannot be found in the audio by a
query in it, whatever the audio stage learns: the audio can only be near one of the two texts.
``--words music`` does the same with the 23 phrases of what the notes do (``demo.musicwords``:
mode, range, motion, rhythm, texture, upbeat, final) in each language of ``demo.languages``, the words of
the portrait queries.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # demo's queries and instruments
sys.path.insert(0, str(ROOT / "benchmarks"))  # language_bound's pooled outputs

REFERENCE_LANGUAGES = ["en", "de", "fr", "es", "zh", "ja", "ru"]


def encode(model, embedder, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(unit vectors before the text projection, unit vectors after it)."""
    from language_bound import pooled_encoder

    from clamp3.retrieval import normalize

    return normalize(pooled_encoder(model, embedder)(texts)), normalize(embedder.encode_texts(texts))


def word_sets(words: str) -> tuple[list[str], dict[str, list[str]]]:
    """The names compared and, per language, the phrase of each."""
    if words == "instruments":
        from demo.rendering_queries import QUERY_LANGUAGES, instrument_queries
        from demo.renderings import INSTRUMENTS

        names = list(INSTRUMENTS)
        return names, {lang: [instrument_queries(name)[lang] for name in names] for lang in QUERY_LANGUAGES}
    from demo.languages import LANGUAGES
    from demo.musicwords import KEYS, PHRASES

    return list(KEYS), {lang: list(PHRASES[lang]) for lang in LANGUAGES if lang in PHRASES}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--words", choices=("instruments", "music"), default="instruments")
    args = parser.parse_args(argv)

    from clamp3 import Embedder
    from clamp3.models import load_model
    from demo.languages import TRAIN_LANGUAGES

    model = load_model(args.weights)
    embedder = Embedder(model)
    names, phrases = word_sets(args.words)
    vectors = {lang: encode(model, embedder, texts) for lang, texts in phrases.items()}
    print(f"| query language | in training | text tower alone: {args.words} found (of {len(names)}) | in the shared space | confused |")
    print("|---|---|---:|---:|---|")
    for lang in phrases:
        found, confused = [], []
        for space in (0, 1):
            others = [vectors[ref][space] for ref in REFERENCE_LANGUAGES if ref != lang]
            similarity = np.mean([vectors[lang][space] @ ref.T for ref in others], axis=0)  # (query, name)
            best = similarity.argmax(axis=1)
            found.append(int((best == np.arange(len(names))).sum()))
            if space == 1:
                confused = [f"{names[i]} -> {names[j]}" for i, j in enumerate(best) if i != j]
        print(f"| {lang} | {'yes' if lang in TRAIN_LANGUAGES else 'no'} | {found[0]} | {found[1]} | {', '.join(confused) or '-'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
