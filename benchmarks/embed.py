"""Embedding throughput: clamp3's batched engine vs the official one-file-at-a-time loop.

Both run the same full-size SAAS-shaped model (seeded random weights, about 458M parameters)
over two mixed folders of real interleaved ABC and MTF files, check that the global vectors
agree, and print files/s side by side:

- ``sample``: 100 ABC and 50 MTF files from works drawn uniformly at random from the music21
  corpus (benchmarks/corpus.py): mostly folk tunes, as real collections are;
- ``large``: the 63 MusicXML scores and 55 chorale MIDI files under tests/data/golden/convert,
  chosen for conformance, not for speed: whole quartet movements and long MIDI, where most
  segments are a full 512 patches and there is no padding to save.

The baseline re-implements ``extract_clamp3.py``'s loop: one file at a time, every segment
padded to 512 patches, batch size 1, the one-hot patch embedding as a dense matrix product.
Each side is timed after an untimed run on the folder's first file (first calls set things up).

    python benchmarks/embed.py [--folders sample large] [--limit N] [--device cuda] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from clamp3.config import CLaMP3Config
from clamp3.embedding import Embedder
from clamp3.formats import read_items
from clamp3.models import CLaMP3Model
from clamp3.models.clamp3 import masked_mean
from clamp3.models.loading import load_tokenizer

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).resolve().parents[1])]  # corpus, tests.support
from corpus import build_sample  # noqa: E402

from tests.support import randomize_, saas_shaped_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "golden" / "convert"
TOKENIZER = ROOT / "tests" / "data" / "xlmr-base-shape"
TOLERANCE = 1e-3  # the largest difference of a global vector from the official loop's


def official_loop(model: CLaMP3Model, embedder: Embedder, items) -> list[np.ndarray]:
    """One file at a time, each segment padded to the maximum length, as extract_clamp3.py."""
    max_length = model.config.symbolic.max_length
    encoder = model.symbolic_model
    device = model.device
    outputs = []
    with torch.no_grad():
        for item in items:
            patches = embedder.prepare(item).steps
            n = len(patches)
            segments = [patches[i : i + max_length] for i in range(0, n, max_length)]
            segments[-1] = patches[-max_length:]
            vectors = []
            for segment in segments:
                padded = torch.zeros(max_length, patches.shape[1], dtype=torch.long)
                padded[: len(segment)] = segment
                mask = torch.zeros(1, max_length)
                mask[0, : len(segment)] = 1
                one_hot = torch.nn.functional.one_hot(padded[None], 128).reshape(1, max_length, -1).float()
                embeds = encoder.patch_embedding(one_hot.to(device))
                hidden = encoder.base(inputs_embeds=embeds, attention_mask=mask.to(device)).last_hidden_state
                vectors.append(model.symbolic_proj(masked_mean(hidden, mask.to(device))))
            weights = [max_length] * (n // max_length) + ([n % max_length] if n % max_length else [])
            weights = torch.tensor(weights, dtype=torch.float32, device=device)[:, None]
            outputs.append(((torch.cat(vectors) * weights).sum(0) / weights.sum())[None].float().cpu().numpy())
    return outputs


def timed(fn):
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start = time.perf_counter()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, time.perf_counter() - start


@dataclass
class Comparison:
    """One folder embedded both ways: seconds, and how far apart the global vectors are."""

    official_seconds: float
    clamp3_seconds: float
    difference: float  # max |clamp3 - official loop| over the global vectors
    bfloat16_seconds: float | None = None  # on a GPU: clamp3 in bfloat16 too
    bfloat16_cosine: float | None = None  # its min cosine with the float32 vectors


def folder_files(name: str, cache: Path, per_kind: int = 0) -> list[Path]:
    """The files of the folder ``name``, ABC then MTF (``sample`` is built under ``cache`` once);
    with ``per_kind``, only the first that many of each kind (and only those built)."""
    if name == "sample":
        files = build_sample(cache, per_kind, per_kind) if per_kind else build_sample(cache)
    else:
        files = sorted((CORPUS / "abc_official").glob("*.abc")) + sorted((CORPUS / "mtf_official").glob("*.mtf"))
    if per_kind:
        files = [f for f in files if f.suffix == ".abc"][:per_kind] + [f for f in files if f.suffix == ".mtf"][:per_kind]
    return files


def build_model(device: str, config: CLaMP3Config | None = None) -> CLaMP3Model:
    """``config`` (by default the SAAS shape) with seeded random weights, in eval mode on ``device``."""
    model = randomize_(CLaMP3Model(config or saas_shaped_config())).to(device).eval()
    model.tokenizer = load_tokenizer(TOKENIZER)
    return model


def describe(files: list[Path], embedder: Embedder, items) -> str:
    """Files of each kind and their patches, as the model reads them."""
    patches = [len(embedder.prepare(item).steps) for item in items]
    return (f"{len(files)} files ({sum(f.suffix == '.abc' for f in files)} ABC, "
            f"{sum(f.suffix == '.mtf' for f in files)} MTF), {sum(patches)} patches, "
            f"median {int(np.median(patches))}, max {max(patches)}")


def warm_timed(run, items):
    """``run(items)`` timed after an untimed ``run`` on the first item: first calls set up kernels
    and libraries (on a GPU, cuBLAS and its workspace), a cost that the side run first would pay alone."""
    run(items[:1])
    return timed(lambda: run(items))


def compare(model: CLaMP3Model, embedder: Embedder, items) -> Comparison:
    """clamp3's engine, then the official loop, on ``items``; on a GPU also clamp3 in bfloat16
    (the model goes back to float32 after, its weights rounded to bfloat16's precision)."""
    ours, seconds = warm_timed(embedder.encode_items, items)
    baseline, base_seconds = warm_timed(lambda some: official_loop(model, embedder, some), items)
    result = Comparison(base_seconds, seconds, max(float(np.abs(a - b).max()) for a, b in zip(ours, baseline)))
    if model.device.type == "cuda":
        low = Embedder(model.to(torch.bfloat16), batch_size=embedder.batch_size)
        low_out, result.bfloat16_seconds = warm_timed(low.encode_items, items)
        model.to(torch.float32)
        result.bfloat16_cosine = min(float((a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(low_out, ours))
    return result


def run_folder(name: str, files: list[Path], model: CLaMP3Model, batch_size: int) -> None:
    items = [read_items(f)[0] for f in files]
    embedder = Embedder(model, batch_size=batch_size)
    print(f"\n## {name}: {describe(files, embedder, items)}", flush=True)
    result = compare(model, embedder, items)
    rows = [("official loop (1 file, padded to 512)", result.official_seconds), ("clamp3 embed (float32)", result.clamp3_seconds)]
    if result.bfloat16_seconds is not None:
        rows.append(("clamp3 embed (bfloat16)", result.bfloat16_seconds))
        print(f"bfloat16 vs float32: min cosine {result.bfloat16_cosine:.5f}")
    print("\n| method | seconds | files/s | speed-up |\n|---|---:|---:|---:|")
    for label, secs in rows:
        print(f"| {label} | {secs:.1f} | {len(files) / secs:.2f} | {result.official_seconds / secs:.1f}x |")
    print(f"max |clamp3 - official loop| over the global vectors: {result.difference:.2e}", flush=True)
    assert result.difference <= TOLERANCE, "outputs disagree"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folders", nargs="+", default=["sample", "large"], choices=["sample", "large"])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N files of each folder (0: all)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "clamp3-bench-sample")
    args = parser.parse_args()

    print(f"SAAS-shaped model, random weights, on {args.device}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", flush=True)
    model = build_model(args.device)
    for name in args.folders:
        files = folder_files(name, args.cache)
        run_folder(name, files[: args.limit] if args.limit else files, model, args.batch_size)


if __name__ == "__main__":
    main()
