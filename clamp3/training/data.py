"""Text-music pairs for contrastive training.

Two layouts: the official M4-RAG JSONL (``id``, ``filepaths`` relative to the JSONL's folder,
``analysis`` and other text fields, ``translations`` with a ``language`` key), and a simple CSV
or JSONL of ``path,text[,language]``. Bad lines are counted and logged with their line number.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from clamp3.errors import InputError
from clamp3.formats import read_items
from clamp3.preprocess import frame_features, pad_batch

logger = logging.getLogger(__name__)

NON_TEXT_KEYS = {"id", "filepaths", "language", "translations", "path"}


@dataclass
class Pair:
    line: int
    files: list[Path]
    texts: list[str]  # every text field, one candidate each
    translations: list[str] = field(default_factory=list)
    analysis: str = ""


@dataclass
class DataReport:
    pairs: int = 0
    bad: list[str] = field(default_factory=list)


def _texts(record: dict) -> list[str]:
    texts = []
    for key, value in record.items():
        if key in NON_TEXT_KEYS:
            continue
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, list):
            texts.extend(v for v in value if isinstance(v, str))
    return [t for t in texts if t.strip()]


def read_pairs(path: str | Path, roots: Sequence[str | Path] = ()) -> tuple[list[Pair], DataReport]:
    """The pairs of a JSONL/CSV file, their music paths relative to its folder. With ``roots``, a
    music file that does not lie under one of them (links resolved) is bad data, with the same
    words whether or not it exists."""
    path = Path(path)
    root = path.parent
    allowed = [Path(r).resolve() for r in roots]
    report = DataReport()
    pairs: list[Pair] = []
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        records = [(n, row) for n, row in enumerate(csv.DictReader(io.StringIO(text)), 2)]
    else:
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                report.bad.append(f"{path}:{number}: not JSON ({exc.msg})")
                continue
            if not isinstance(record, dict):
                report.bad.append(f"{path}:{number}: not a JSON object")
                continue
            records.append((number, record))
    for number, record in records:
        names = record.get("filepaths") or ([record["path"]] if record.get("path") else [])
        files = [root / name for name in names]
        outside = [name for name, f in zip(names, files) if allowed and not any(f.resolve().is_relative_to(r) for r in allowed)]
        if outside:
            report.bad.append(f"{path}:{number}: music file {outside[0]} lies outside the allowed folders")
            continue
        missing = [str(f) for f in files if not f.exists()]
        if not files or missing:
            report.bad.append(f"{path}:{number}: missing music file {missing[0] if missing else '(none given)'}")
            continue
        translations = record.get("translations") or {}
        translated = [v for k, v in translations.items() if k != "language" and isinstance(v, str) and v.strip()] if isinstance(translations, dict) else []
        texts = _texts(record) if "text" not in record else [record["text"]] if str(record["text"]).strip() else []
        if not texts and not translated:
            report.bad.append(f"{path}:{number}: empty text")
            continue
        analysis = record.get("analysis") or record.get("text") or (texts or translated)[0]
        pairs.append(Pair(number, files, texts, translated, analysis))
    report.pairs = len(pairs)
    for line in report.bad:
        logger.warning("%s", line)
    return pairs, report


def truncate(steps, length: int, rng: random.Random, randomly: bool):
    """At most ``length`` steps: the head, or with ``randomly`` the head, the tail or a middle run."""
    if len(steps) <= length:
        return steps
    choice = rng.choice(["head", "tail", "middle"]) if randomly else "head"
    if choice == "head":
        return steps[:length]
    if choice == "tail":
        return steps[-length:]
    start = rng.randint(1, len(steps) - length)
    return steps[start : start + length]


def remove_instrument_names(music: str) -> str:
    """Drop instrument names (ABC ``nm=``/``snm=`` of V: lines) and programs (MTF program_change -> 0)."""
    lines = re.findall(r".*?\n|.*$", music)
    is_mtf = music.startswith("ticks_per_beat")
    out = []
    for line in lines:
        if not is_mtf and line.startswith("V:"):
            cut = [p for p in (line.find(" nm="), line.find(" snm=")) if p != -1]
            if cut:
                line = line[: cut[0]] + "\n"
        elif is_mtf and line.startswith("program_change"):
            line = " ".join(line.rstrip("\n").split(" ")[:-1]) + " 0" + ("\n" if line.endswith("\n") else "")
        out.append(line)
    return "".join(out)


class PairDataset(torch.utils.data.Dataset):
    """Pairs -> (text token ids, music steps) with the official augmentations in training mode:
    text dropout over fields and translations, head/tail/middle truncation, and instrument names
    removed with probability 0.9. ``text_sampling="one"`` takes one whole candidate text instead
    of the official random subset of fields."""

    def __init__(
        self, pairs: list[Pair], tokenizer, patchilizer, max_text: int, max_music: int, train: bool,
        text_dropout: bool = True, augment: bool = True, text_sampling: str = "official",
    ):
        self.pairs, self.tokenizer, self.patchilizer = pairs, tokenizer, patchilizer
        self.max_text, self.max_music, self.train, self.text_dropout = max_text, max_music, train, text_dropout
        self.augment = train and augment
        self.text_sampling = text_sampling
        self._music: dict[Path, object] = {}
        self.rng = random.Random(0)

    def __len__(self) -> int:
        return len(self.pairs)

    def music(self, path: Path):
        """Model input of a music file: interleaved ABC / MTF text, or (frames, dim) features."""
        if path not in self._music:
            (item,) = read_items(path)[:1]
            self._music[path] = item.data
        return self._music[path]

    def _text(self, pair: Pair) -> str:
        rng = self.rng
        if not (self.train and self.text_dropout):
            return pair.analysis
        if self.text_sampling == "one":  # one whole candidate: the data already holds short and long texts
            return rng.choice(pair.texts + pair.translations)
        candidates = pair.translations if (pair.translations and rng.random() < 0.5) else pair.texts or pair.translations
        lines = [c for c in "\n".join(dict.fromkeys(candidates)).split("\n") if c]
        chosen = [c for c in lines if rng.random() < 0.5] or lines
        rng.shuffle(chosen)
        return self.tokenizer.sep_token.join(chosen)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor, str]:
        pair = self.pairs[index]
        ids = torch.tensor(self.tokenizer(self._text(pair))["input_ids"], dtype=torch.long)
        path = self.rng.choice(pair.files) if self.train else pair.files[0]
        music = self.music(path)
        if isinstance(music, str):
            if self.augment and self.rng.random() < 0.9:
                music = remove_instrument_names(music)
            steps, modality = torch.from_numpy(self.patchilizer.encode(music)), "symbolic"
        else:
            steps, modality = frame_features(music), "audio"
        return truncate(ids, self.max_text, self.rng, self.augment), truncate(steps, self.max_music, self.rng, self.augment), modality


def collate(batch, pad_token_id: int):
    """Pad to the longest item of the batch: (ids, text mask, music, music mask, modality)."""
    texts, musics, modalities = zip(*batch)
    if len(set(modalities)) != 1:
        raise InputError("<batch>", "a batch mixes symbolic and audio items; train one stage at a time")

    ids, text_mask = pad_batch(texts, pad_token_id)
    music, music_mask = pad_batch(musics, 0)
    return ids, text_mask, music, music_mask, modalities[0]


__all__ = ["DataReport", "Pair", "PairDataset", "collate", "read_pairs", "remove_instrument_names", "truncate"]
