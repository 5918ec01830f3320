"""The tokenizer read back from its saved copy gives the ids ``AutoTokenizer`` gives, for texts in
many scripts and for the joins of lines that ``Preprocess`` makes (clamp3/models/tokenizer.py)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from conftest import TINY_TEXT_MODEL
from transformers import AutoTokenizer

from clamp3.formats import Item
from clamp3.io import cache_home
from clamp3.models.packaged import E5_SMALL, resolve_text_model
from clamp3.models.tokenizer import TextTokenizer, load_tokenizer
from clamp3.preprocess import Preprocess

TEXTS = [
    "a lively Irish jig",
    "Chinesisches Volkslied aus Shanxi",
    "山西民歌，一首关于黄河的歌。\n巴赫的四声部众赞歌",
    "日本の民謡、さくらさくら。ルクセンブルクの民謡",
    "한국 민요 아리랑",
    "موسيقى عربية تقليدية من مصر",
    "שיר עם עברי",
    "Русская народная песня из Польши",
    "ελληνική μουσική",
    "हिन्दी संगीत, ไทย เพลง",
    "🎻🎶 a fiddle tune 🇮🇪 👩‍👩‍👧 🏳️‍🌈",
    "ﬁne ＡＢＣ ① ㍿ Ⅻ ß ǅ İ ı",
    "e\u0301 café\u00a0nbsp\u3000ideographic space \u200bzero\u200dwidth",
    "tab\there  two  spaces   three",
    "  leading and trailing  ",
    "a line \n another line\n\n\nafter empty lines\n a line ",  # joins into 'a line </s> another line</s>...'
    "windows\r\nline ends\r\n",
    "<s> </s> <pad> <mask> <unk> x<mask>y",
    "control\x00\x07characters",
    "",
    "\n\n",
    " ".join(["jig", "reel", "hornpipe", "Volkslied", "民歌"] * 800),  # very long: thousands of tokens
    "x" * 5000,
]


def random_texts(count: int = 100) -> list[str]:
    """Seeded strings over Latin, Cyrillic, Arabic, CJK, emoji and full-width characters."""
    rng = random.Random(0)
    ranges = [(32, 0x2FF), (0x400, 0x4FF), (0x600, 0x6FF), (0x4E00, 0x9FFF), (0x1F300, 0x1F6FF), (0xFF00, 0xFFEF), (10, 10)]
    return ["".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(rng.randint(0, 80))) for _ in range(count)]


def preprocess(tokenizer) -> Preprocess:
    return Preprocess(tokenizer, 64, {"text": 512, "symbolic": 512, "audio": 128}, 768, "spectral-v1", max_text_tokens=100_000)


@pytest.mark.parametrize("source", [str(TINY_TEXT_MODEL), E5_SMALL], ids=["tiny-xlmr", "multilingual-e5-small"])
def test_saved_copy_gives_autotokenizers_ids(source):
    reference = AutoTokenizer.from_pretrained(resolve_text_model(source))
    load_tokenizer(source)  # the first load saves the copy
    fast = load_tokenizer(source)
    assert Path(fast.name_or_path).parent == cache_home() / "tokenizers"  # read back from the copy
    assert isinstance(fast, TextTokenizer)  # by tokenizers alone
    assert (fast.sep_token, fast.pad_token_id) == (reference.sep_token, reference.pad_token_id)
    texts = TEXTS + random_texts()
    for text in texts:
        for add_special_tokens in (True, False):
            assert fast(text, add_special_tokens=add_special_tokens)["input_ids"] == \
                reference(text, add_special_tokens=add_special_tokens)["input_ids"], repr(text[:60])
    # As Preprocess.prepare uses it: lines joined by sep_token, special tokens added, padded with pad_token_id.
    ours, theirs = preprocess(fast), preprocess(reference)
    for i, text in enumerate(t for t in texts if t.strip("\n")):
        item = Item(Path("<text>"), f"text{i}", "text", text)
        assert ours.prepare(item).steps.tolist() == theirs.prepare(item).steps.tolist(), repr(text[:60])
    assert ours.pad_value("text") == theirs.pad_value("text")


def test_the_copy_saves_what_transformers_reads(tmp_path):
    import pickle
    import shutil

    fast = load_tokenizer(TINY_TEXT_MODEL)
    fast = load_tokenizer(TINY_TEXT_MODEL)  # (the first load of a fresh cache saves the copy)
    assert isinstance(fast, TextTokenizer)
    shutil.rmtree(fast.name_or_path)  # a cache cleaned meanwhile: saving writes from memory
    fast.save_pretrained(tmp_path / "saved")
    saved = AutoTokenizer.from_pretrained(tmp_path / "saved")
    for text in TEXTS[:12]:
        assert saved(text)["input_ids"] == fast(text)["input_ids"]
    # a Preprocess whose tokenizer is loaded on first use pickles with it (spawned DataLoader workers)
    lazy = Preprocess(None, 64, {"text": 512, "symbolic": 512, "audio": 128}, 768, "spectral-v1", tokenizer_loader=lambda: fast)
    again = pickle.loads(pickle.dumps(lazy))
    assert again.tokenizer("a jig")["input_ids"] == fast("a jig")["input_ids"]


def test_a_copy_whose_special_tokens_split_as_text_is_read_by_transformers(tmp_path):
    """transformers applies ``split_special_tokens`` from the config, which tokenizer.json does not hold."""
    folder = tmp_path / "tokenizer"
    AutoTokenizer.from_pretrained(TINY_TEXT_MODEL, split_special_tokens=True).save_pretrained(folder)
    reference = AutoTokenizer.from_pretrained(folder)
    load_tokenizer(folder)
    loaded = load_tokenizer(folder)
    assert not isinstance(loaded, TextTokenizer)
    assert loaded("a </s> b")["input_ids"] == reference("a </s> b")["input_ids"]


def test_a_changed_tokenizer_gets_a_new_copy(tmp_path):
    folder = tmp_path / "tokenizer"
    AutoTokenizer.from_pretrained(TINY_TEXT_MODEL).save_pretrained(folder)
    assert load_tokenizer(folder)("ein Volkslied")["input_ids"] == load_tokenizer(folder)("ein Volkslied")["input_ids"]
    copies = set((cache_home() / "tokenizers").iterdir())
    config = folder / "tokenizer_config.json"
    config.write_text(config.read_text().replace('"model_max_length": 512', '"model_max_length": 64'))
    assert load_tokenizer(folder).model_max_length == 64
    assert len(set((cache_home() / "tokenizers").iterdir()) - copies) == 1


def test_without_a_writable_cache_the_tokenizer_still_loads(tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    monkeypatch.setenv("CLAMP3_CACHE", str(blocked))
    tokenizer = load_tokenizer(TINY_TEXT_MODEL)
    assert tokenizer("a jig")["input_ids"] == AutoTokenizer.from_pretrained(TINY_TEXT_MODEL)("a jig")["input_ids"]
