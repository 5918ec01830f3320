"""Write golden/first_edition_texts.json: synthetic works that cover every field of the demo's
descriptions, and what demo.texts said of them in the first edition's eight languages.

Run at commit e0c7ba9 (the last one before the phrase tables were keyed by language), from the
repository root: ``PYTHONPATH=. python tests/data/make_first_edition_texts.py``. The shipped
embedded model was trained on these strings, so a later demo.texts must give them unchanged.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from demo import texts

FIRST_EDITION = ["en", "de", "fr", "es", "it", "zh", "ja", "ru"]
KEYS = ["C", "G", "D", "A", "E", "B", "F#", "C#", "F", "Bb", "Eb", "Ab", "Db", "Gb", "Cb",
        "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "Dm", "Gm", "Cm", "Fm", "Bbm", "Ebm",
        "Ador", "Edor", "Ddor", "Gdor", "Amix", "Dmix", "Gmix", "Bbmix", "F#dor", "Cion", "Aaeo", "Hp", "none", ""]
METRES = ["2/4", "3/4", "4/4", "6/8", "9/8", "12/8", "3/8", "5/4", None]
VOICES = [1, 2, 3, 4, 5, 8, None]
BARS = [1, 2, 3, 5, 11, 21, 22, 25, 12, 14, 104, 111, None]


def works() -> list[dict]:
    """Every region, province, tune type, function, composer and era, with the other fields cycled."""
    out = [{"kind": "folk", "region": "other" if c not in ("Germany", "China", "Lorraine", "Luxembourg", "Poland") else c,
            "country": c} for c in texts.PLACES]
    out += [{"kind": "folk", "region": "China", "country": "China", "province": p} for p in texts.PROVINCES]
    out += [{"kind": "folk", "region": "China", "country": "China", "province": "Nowhere"}]
    out += [{"kind": "folk", "region": "Germany", "country": "Germany", "function": f} for f in texts.FUNCTIONS]
    out += [{"kind": "fiddle", "tune_type": t} for t in texts.TUNE_TYPES]
    out += [{"kind": "classical", "composer": c, "era": e} for c in texts.COMPOSERS for e in texts.ERAS]
    out += [{"kind": "classical", "era": e} for e in texts.ERAS]
    out += [{"kind": "classical", "composer": "Nobody"}, {"kind": "folk", "country": None}]
    for i, work in enumerate(out):
        work.update({"title": f"Title {i}" if i % 3 else None, "key": KEYS[i % len(KEYS)],
                     "metre": METRES[i % len(METRES)], "voices": VOICES[i % len(VOICES)], "bars": BARS[i % len(BARS)]})
    return out


def outputs(work: dict, i: int) -> dict:
    per_lang = {}
    for lang in FIRST_EDITION:
        per_lang[lang] = {
            "core": texts.core(work, lang),
            "details": texts.details(work, lang),
            "details_untitled": texts.details(work, lang, title=False),
            "describe": texts.describe(work, lang),
            "describe_random": texts.describe(work, lang, random.Random(f"{i}:{lang}")),
        }
    return {"languages": per_lang, "descriptions": texts.descriptions(work, random.Random(i), per_language=2)}


def main() -> None:
    all_works = works()
    golden = {
        "works": [{"work": w, **outputs(w, i)} for i, w in enumerate(all_works)],
        "key_name": {lang: {k: texts.key_name(k, lang) for k in KEYS} for lang in FIRST_EDITION},
        "bars_phrase": {lang: [texts.bars_phrase(n, lang) for n in [*range(1, 31), 101, 102, 104, 105, 111, 112, 121, 122, 125]] for lang in FIRST_EDITION},
        "task_prompts": {lang: {t: texts.task_prompts(t, lang) for t in ("tune_type", "region", "composer")}
                         for lang in FIRST_EDITION},
    }
    path = Path(__file__).parent / "golden" / "first_edition_texts.json"
    path.write_text(json.dumps(golden, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
