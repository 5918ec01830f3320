"""The works of the demo corpus, chosen from the scores that ship in the music21 wheel.

Labels come from the sources themselves: region and song function from the ABC ``O:`` and ``R:``
fields of the Essen folk songs (music21 does not expose ``R:``, so the ABC text is read here),
tune type from ``R:`` of O'Neill's 1850 and Ryan's Mammoth Collection, composer and era from
the corpus folders.
"""

from __future__ import annotations

import math
import random
import re
from collections import defaultdict
from pathlib import Path

from demo.texts import FUNCTIONS

COUNTRIES = {  # German country names of the Essen O: field
    "Deutschland": "Germany", "Luxemburg": "Luxembourg", "Lothringen": "Lorraine", "Polen": "Poland", "China": "China",
    "Oesterreich": "Austria", "Schweiz": "Switzerland", "Niederlande": "the Netherlands", "Jugoslawien": "Yugoslavia",
    "Ungarn": "Hungary", "Russland": "Russia", "UdSSR": "Russia", "Rumaenien": "Romania", "Tschechoslowakei": "Czechoslovakia",
    "Irland": "Ireland", "Schweden": "Sweden", "Elsass": "Alsace", "Tirol": "Austria", "Steiermark": "Austria",
}
REGION_CLASSES = ("Germany", "China", "Lorraine", "Luxembourg", "Poland")
TUNE_TYPES = {"reel": "reel", "jig": "jig", "double jig": "jig", "hornpipe": "hornpipe", "slip jig": "slip jig",
              "slipjig": "slip jig", "strathspey": "strathspey", "air": "air"}
COMPOSER_FOLDERS = {  # folder -> (composer, era)
    "bach": ("Bach", "Baroque"), "palestrina": ("Palestrina", "Renaissance"), "monteverdi": ("Monteverdi", "Renaissance"),
    "beethoven": ("Beethoven", "Classical"), "mozart": ("Mozart", "Classical"), "haydn": ("Haydn", "Classical"),
    "josquin": ("Josquin", "Renaissance"), "schumann_robert": ("Schumann", "Romantic"), "trecento": (None, "Medieval"),
}
_TUNE_START = re.compile(r"^X:", re.M)
MAX_MXL_BYTES = 120_000


def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def field(tune: str, name: str) -> str | None:
    match = re.search(rf"^{name}:\s*(.*)$", tune, re.M)
    return match.group(1).strip() if match else None


def tunes_of(path: Path) -> list[tuple[str, str]]:
    """(number, text) of each tune of an ABC book; numbers as the X: fields give them."""
    text = path.read_text(encoding="latin-1")
    starts = [m.start() for m in _TUNE_START.finditer(text)]
    tunes = [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]
    return [(t[2:].split("\n", 1)[0].strip(), t) for t in tunes]


def essen_origin(origin: str) -> tuple[str | None, str | None, str | None]:
    """O: field -> (region class, country, Chinese province)."""
    parts = [p.strip() for p in origin.replace("/", ",").replace(";", ",").split(",")]
    names = [COUNTRIES.get(re.sub(r"\s*\(.*\)", "", p)) for p in parts]
    names = [n for n in names if n]
    if not names:
        return None, None, None
    if "China" in names:
        index = [re.sub(r"\s*\(.*\)", "", p) for p in parts].index("China")
        province = parts[index + 1].split(" ")[0] if index + 1 < len(parts) and parts[index + 1] else None
        return "China", "China", province
    for region in ("Lorraine", "Luxembourg", "Poland"):
        if region in names:
            return region, region, None
    country = names[0]
    return (country if country in REGION_CLASSES else "other"), country, None


def song_function(value: str | None) -> str | None:
    value = (value or "").lower()
    for name, (keyword, _) in FUNCTIONS.items():
        if keyword in value:
            return name
    return None


def essen_works() -> list[dict]:
    works = []
    for path in sorted((corpus_root() / "essenFolksong").glob("*.abc")):
        for number, tune in tunes_of(path):
            region, country, province = essen_origin(field(tune, "O") or "")
            if region is None:
                continue
            works.append({
                "id": f"essen-{path.stem}-{number}", "source": f"essenFolksong/{path.name}", "number": number,
                "kind": "folk", "collection": "Essen", "title": field(tune, "T"), "region": region, "country": country,
                "province": province, "function": song_function(field(tune, "R")),
            })
    return works


def fiddle_works() -> list[dict]:
    works = []
    for folder in ("oneills1850", "ryansMammoth"):
        for path in sorted((corpus_root() / folder).glob("*.abc")):
            for number, tune in tunes_of(path):
                tune_type = TUNE_TYPES.get((field(tune, "R") or "").lower().strip(" ."))
                if tune_type is None:
                    continue
                works.append({
                    "id": f"{folder}-{path.stem}-{number}", "source": f"{folder}/{path.name}", "number": number,
                    "kind": "fiddle", "collection": folder, "title": (field(tune, "T") or "").split(" -- ")[0].title() or None,
                    "tune_type": tune_type, "country": "Ireland" if folder == "oneills1850" else None,
                })
    return works


def composer_works() -> list[dict]:
    from music21 import corpus

    bundle = corpus.corpora.CoreCorpus().metadataBundle
    works = []
    for key, entry in sorted(bundle._metadataEntries.items()):
        source = str(entry.sourcePath)
        folder = source.split("/")[0]
        if folder not in COMPOSER_FOLDERS or entry.number is not None or source.endswith(".rntxt"):
            continue
        if source.endswith(".mxl") and (corpus_root() / source).stat().st_size > MAX_MXL_BYTES:
            continue  # whole quartets in one file: minutes of music21 time each
        composer, era = COMPOSER_FOLDERS[folder]
        metadata = entry.metadata
        title = (metadata.title or metadata.movementName) if metadata else None
        stem = Path(source).stem.replace("_", " ")
        if title and re.search(r"\.(mxl|xml|musicxml|krn|abc)$", title):
            title = None
        if folder == "bach":
            title = title or f"BWV {stem.replace('bwv', '')}"
        works.append({
            "id": key, "source": source, "number": None, "kind": "composer", "collection": folder,
            "title": title or stem, "composer": composer, "era": era,
        })
    return works


def task_label(work: dict) -> str:
    """The class that stratifies the held-out split."""
    return work.get("region") or work.get("tune_type") or work.get("composer") or work.get("era") or "other"


def select(seed: int = 0, germany: int | None = None, other: int | None = None, palestrina: int = 300, heldout: float = 0.1) -> list[dict]:
    """The demo corpus with a ``split`` per work: 'train' or 'heldout' (stratified by class, at
    least ``heldout`` of each class of three works or more). Every Essen song is kept by default
    (``germany``/``other`` cap those classes), so that the held-out regions keep the corpus's
    proportions; Palestrina's 1,318 mass movements are capped, most being near repeats."""
    rng = random.Random(seed)
    essen = essen_works()
    by_region = defaultdict(list)
    for work in essen:
        by_region[work["region"]].append(work)
    rng.shuffle(by_region["Germany"])
    rng.shuffle(by_region["other"])
    by_region["Germany"] = by_region["Germany"][:germany]
    by_region["other"] = by_region["other"][:other]
    composers = composer_works()
    rng.shuffle(composers)
    kept, n_palestrina = [], 0
    for work in composers:
        if work["composer"] == "Palestrina":
            n_palestrina += 1
            if n_palestrina > palestrina:
                continue
        kept.append(work)
    works = [w for region in sorted(by_region) for w in by_region[region]] + fiddle_works() + kept
    strata = defaultdict(list)
    for work in works:
        strata[(work["kind"], task_label(work))].append(work)
    for key in sorted(strata):
        group = strata[key]
        rng.shuffle(group)
        cut = math.ceil(len(group) * heldout) if len(group) >= 3 else 0
        for index, work in enumerate(group):
            work["split"] = "heldout" if index < cut else "train"
    return sorted(works, key=lambda w: w["id"])
