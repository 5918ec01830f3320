"""The text tower's tokenizer, read back from a copy that loads in the time of parsing its file.

``AutoTokenizer.from_pretrained`` builds an XLM-R tokenizer in 2.8 s of the embedded default's
4.8 s load: transformers 5 parses the 17 MB ``tokenizer.json`` in Python and rebuilds the
pipeline from the 250,002-piece vocabulary, where ``tokenizers`` reads the same file in a third
of the time. The file cannot simply be read as it is: the rebuilt pipeline differs from the
file's (it splits on whitespace before Metaspace and drops the file's space-collapsing
normaliser, so ``a </s> b``, which ``Preprocess`` makes of two lines with a trailing space,
and ``\\r\\n`` get other ids). So the tokenizer ``AutoTokenizer`` built is saved once, under a key
of the source files' digests and the transformers and tokenizers versions, and later loads read
that copy as it is: with ``tokenizers`` alone (:class:`TextTokenizer`, what clamp3 asks of a
tokenizer: a text's ids, its separator and padding tokens, saving), so that a text search does not
import transformers (about a second of CPU).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
from pathlib import Path

from clamp3.errors import CheckpointError, Hint
from clamp3.io import cache_home, file_digest
from clamp3.models.packaged import resolve_text_model

logger = logging.getLogger(__name__)

TOKENIZER_FILE = "tokenizer.json"
CONFIG_FILE = "tokenizer_config.json"
# Every file AutoTokenizer reads besides the model's config: a change to any gives another copy.
_SOURCE_FILES = (TOKENIZER_FILE, CONFIG_FILE, "special_tokens_map.json", "added_tokens.json")
_COPY_VERSION = 1  # bump when what a copy holds changes


def load_tokenizer(source: str | Path):
    """The tokenizer of ``source`` (a directory, a hub id in the local cache, or a packaged tower),
    giving the ids ``AutoTokenizer.from_pretrained(source)`` gives."""
    name = resolve_text_model(str(source))
    try:
        folder = _local_folder(name)
        if folder is None:  # no tokenizer.json: AutoTokenizer converts another format, every time
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(name)
        return _load_copy(name, folder)
    except Exception as exc:
        raise CheckpointError(
            f"cannot load the tokenizer '{source}' ({type(exc).__name__})",
            hint=Hint("give a local copy of it", "text_model"),
        ) from exc


def _local_folder(name: str) -> Path | None:
    """The folder that holds ``name``'s tokenizer.json: ``name`` itself, or its hub cache snapshot."""
    if Path(name).is_dir():
        return Path(name) if (Path(name) / TOKENIZER_FILE).is_file() else None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(name, TOKENIZER_FILE)
    return Path(cached).parent if isinstance(cached, str) else None


def copy_key(folder: Path) -> str:
    """Digest of the tokenizer files in ``folder`` and the versions that turn them into a tokenizer."""
    digest = hashlib.sha256(f"copy {_COPY_VERSION} transformers {_version('transformers')} tokenizers {_version('tokenizers')}".encode())
    for file in _SOURCE_FILES:
        path = folder / file
        digest.update(f"\n{file} {file_digest(path) if path.is_file() else '-'}".encode())
    return digest.hexdigest()[:32]


class TextTokenizer:
    """A saved copy read by ``tokenizers``: the ids ``PreTrainedTokenizerFast`` gives for one text
    (its backend's, with no truncation or padding: ``tests/test_tokenizer.py``), the separator and
    padding tokens its config names, and ``save_pretrained`` (written from memory). That is all
    clamp3 asks of a tokenizer; a first load, before the copy exists, gives transformers' own."""

    def __init__(self, folder: Path, config: dict, sep_token: str, pad_token: str):
        from tokenizers import Tokenizer

        self.name_or_path = str(folder)
        self.config = config
        self.backend = Tokenizer.from_file(str(folder / TOKENIZER_FILE))
        self.backend.no_truncation()
        self.backend.no_padding()
        self.sep_token, self.pad_token = sep_token, pad_token
        self.pad_token_id = self.backend.token_to_id(pad_token)

    @classmethod
    def from_copy(cls, folder: Path) -> TextTokenizer | None:
        """The copy in ``folder``, or None where transformers reads it otherwise than its backend
        (special tokens split as text) or its config does not name both tokens in the vocabulary."""
        config = json.loads((folder / CONFIG_FILE).read_text(encoding="utf-8"))
        sep, pad = (_token_text(config.get(key)) for key in ("sep_token", "pad_token"))
        if sep is None or pad is None or config.get("split_special_tokens"):
            return None
        tokenizer = cls(folder, config, sep, pad)
        return tokenizer if None not in (tokenizer.pad_token_id, tokenizer.backend.token_to_id(sep)) else None

    def __call__(self, text: str, add_special_tokens: bool = True, verbose: bool = True) -> dict[str, list[int]]:
        return {"input_ids": self.backend.encode(text, add_special_tokens=add_special_tokens).ids}

    def save_pretrained(self, directory: str | Path) -> None:
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        self.backend.save(str(directory / TOKENIZER_FILE))
        (directory / CONFIG_FILE).write_text(json.dumps(self.config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _token_text(token) -> str | None:
    """A special token as a config holds it: its text, or a dict of its settings."""
    return token.get("content") if isinstance(token, dict) else token


def _version(package: str) -> str:
    """The installed version of ``package``, without importing it (transformers: a second)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:  # not installed by pip: the module says
        return __import__(package).__version__


def _load_copy(name: str, folder: Path):
    copy = cache_home() / "tokenizers" / copy_key(folder)
    if (copy / TOKENIZER_FILE).is_file():
        tokenizer = TextTokenizer.from_copy(copy)
        if tokenizer is not None:
            return tokenizer
        from transformers import PreTrainedTokenizerFast

        return PreTrainedTokenizerFast.from_pretrained(copy)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name)
    try:
        copy.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=copy.parent, prefix=f".{copy.name}."))
        try:
            tokenizer.save_pretrained(tmp)
            _name_added_tokens(tmp / CONFIG_FILE, tokenizer)
            tmp.rename(copy)
        finally:  # left when saving failed, or when another process saved the same copy first
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:  # a read-only cache: every load takes AutoTokenizer's time, nothing else changes
        if not (copy / TOKENIZER_FILE).is_file():
            logger.warning("cannot keep a copy of the tokenizer in %s (%s); it loads slowly", copy.parent, exc)
    return tokenizer


def _name_added_tokens(config_file: Path, tokenizer) -> None:
    """Write the special tokens' settings into the copy's config. transformers 5 saves them only in
    tokenizer.json, and ``from_pretrained`` then parses all 17 MB of it in Python to find them
    (0.5 s of CPU)."""
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if "added_tokens_decoder" not in config:
        config["added_tokens_decoder"] = {str(i): token.__getstate__() for i, token in tokenizer.added_tokens_decoder.items()}
        config_file.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
