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

from clamp3.metadata import clean_title, clean_value, from_dos
from demo.texts import FUNCTION_KEYWORDS, REGION_CLASSES

COUNTRIES = {  # German country names of the Essen O: field
    "Deutschland": "Germany", "Luxemburg": "Luxembourg", "Lothringen": "Lorraine", "Polen": "Poland", "China": "China",
    "Oesterreich": "Austria", "Schweiz": "Switzerland", "Niederlande": "the Netherlands", "Jugoslawien": "Yugoslavia",
    "Ungarn": "Hungary", "Russland": "Russia", "UdSSR": "Russia", "Rumaenien": "Romania", "Tschechoslowakei": "Czechoslovakia",
    "Irland": "Ireland", "Schweden": "Sweden", "Elsass": "Alsace", "Tirol": "Austria", "Steiermark": "Austria",
}
TUNE_TYPES = {"reel": "reel", "jig": "jig", "double jig": "jig", "hornpipe": "hornpipe", "slip jig": "slip jig",
              "slipjig": "slip jig", "strathspey": "strathspey", "air": "air"}
# Chinese direction words before a province in O: (``nan Jiangsu``: southern Jiangsu), and the
# provinces spelt otherwise once each
DIRECTIONS = {"nan", "bei", "dong", "xi"}
PROVINCE_SPELLINGS = {"Jianxi": "Jiangxi", "Heinan": "Hainan"}
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


def field(tune: str, name: str, dos: bool = False) -> str | None:
    """A header field of a tune (read as Latin-1), decoded: UTF-8 and, in a book typed in the DOS
    code page (``dos``), its letters (``á`` there is the DOS ß, 0xE1)."""
    match = re.search(rf"^{name}:\s*(.*)$", tune, re.M)
    if not match:
        return None
    value = match.group(1).strip().encode("latin-1").decode("utf-8", errors="replace")
    return clean_value(name, from_dos(value).replace("á", "ß") if dos else value)


def typed_in_dos(tunes: list[tuple[str, str]]) -> bool:
    """Whether a book was typed in the DOS code page: C1 characters (UTF-8 ``\xc2\x80``..``\x9f``
    read as Latin-1) are its umlauts. Eleven Essen books are; ``irl.abc`` has true Latin-1 ``á``."""
    return any(re.search("\xc2[\x80-\x9f]", text) for _, text in tunes)


def province_of(part: str) -> str | None:
    """The province of the part of O: after China: ``nan Jiangsu`` -> Jiangsu, ``Sha1nxi1`` ->
    Shanxi (tone numbers), ``Neimeng.Tuoxian`` -> Neimeng; placeholders (``........``) -> None."""
    words = [w for w in re.split(r"[\s.]+", re.sub(r"\d", "", part)) if w and w.lower() not in DIRECTIONS]
    return PROVINCE_SPELLINGS.get(words[0], words[0]) if words else None


def tunes_of(path: Path) -> list[tuple[str, str]]:
    """(number, text) of each tune of an ABC book; numbers as the X: fields give them. The books
    are UTF-8, read here as Latin-1 (the music is ASCII; the fields are repaired when read)."""
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
        province = province_of(parts[index + 1]) if index + 1 < len(parts) else None
        return "China", "China", province
    for region in ("Lorraine", "Luxembourg", "Poland"):
        if region in names:
            return region, region, None
    country = names[0]
    return (country if country in REGION_CLASSES else "other"), country, None


def song_function(value: str | None) -> str | None:
    value = (value or "").lower()
    for name, keyword in FUNCTION_KEYWORDS.items():
        if keyword in value:
            return name
    return None


def essen_works() -> list[dict]:
    works = []
    for path in sorted((corpus_root() / "essenFolksong").glob("*.abc")):
        tunes = tunes_of(path)
        dos = typed_in_dos(tunes)
        for number, tune in tunes:
            region, country, province = essen_origin(field(tune, "O", dos) or "")
            if region is None:
                continue
            work_id = f"essen-{path.stem}-{number}"
            works.append({
                "id": work_id, "source": f"essenFolksong/{path.name}", "number": number,
                "kind": "folk", "collection": "Essen", "title": clean_title(field(tune, "T", dos), work_id)[0], "region": region,
                "country": country, "province": province, "function": song_function(field(tune, "R", dos)),
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
                work_id = f"{folder}-{path.stem}-{number}"
                # O'Neill's titles are capitals with the type after " -- ": the type is R:'s
                title = (field(tune, "T") or "").split(" -- ")[0]
                works.append({
                    "id": work_id, "source": f"{folder}/{path.name}", "number": number, "kind": "fiddle", "collection": folder,
                    "title": clean_title(title, work_id)[0], "tune_type": tune_type,
                    "country": "Ireland" if folder == "oneills1850" else None,
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
            "title": clean_title(title, Path(source).stem)[0], "composer": composer, "era": era,
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
