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

    python benchmarks/embed.py [--folders sample large] [--limit N] [--device cuda] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

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


def run_folder(name: str, files: list[Path], model: CLaMP3Model, batch_size: int) -> None:
    items = [read_items(f)[0] for f in files]
    embedder = Embedder(model, batch_size=batch_size)
    patches = [len(embedder.prepare(item).steps) for item in items]
    print(
        f"\n## {name}: {len(files)} files ({sum(f.suffix == '.abc' for f in files)} ABC, "
        f"{sum(f.suffix == '.mtf' for f in files)} MTF), {sum(patches)} patches, "
        f"median {int(np.median(patches))}, max {max(patches)}",
        flush=True,
    )
    ours, seconds = timed(lambda: embedder.encode_items(items))
    baseline, base_seconds = timed(lambda: official_loop(model, embedder, items))
    rows = [("official loop (1 file, padded to 512)", base_seconds), ("clamp3 embed (float32)", seconds)]
    difference = max(float(np.abs(a - b).max()) for a, b in zip(ours, baseline))
    if model.device.type == "cuda":
        low = Embedder(model.to(torch.bfloat16), batch_size=batch_size)
        low_out, low_seconds = timed(lambda: low.encode_items(items))
        model.to(torch.float32)
        rows.append(("clamp3 embed (bfloat16)", low_seconds))
        cosine = min(float((a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(low_out, ours))
        print(f"bfloat16 vs float32: min cosine {cosine:.5f}")
    print("\n| method | seconds | files/s | speed-up |\n|---|---:|---:|---:|")
    for label, secs in rows:
        print(f"| {label} | {secs:.1f} | {len(files) / secs:.2f} | {base_seconds / secs:.1f}x |")
    print(f"max |clamp3 - official loop| over the global vectors: {difference:.2e}", flush=True)
    assert difference <= 1e-3, "outputs disagree"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folders", nargs="+", default=["sample", "large"], choices=["sample", "large"])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N files of each folder (0: all)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "clamp3-bench-sample")
    args = parser.parse_args()

    folders = {
        "sample": lambda: build_sample(args.cache),
        "large": lambda: sorted((CORPUS / "abc_official").glob("*.abc")) + sorted((CORPUS / "mtf_official").glob("*.mtf")),
    }
    print(f"SAAS-shaped model, random weights, on {args.device}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads", flush=True)
    model = randomize_(CLaMP3Model(saas_shaped_config())).to(args.device).eval()
    model.tokenizer = load_tokenizer(TOKENIZER)
    for name in args.folders:
        files = folders[name]()
        run_folder(name, files[: args.limit] if args.limit else files, model, args.batch_size)


if __name__ == "__main__":
    main()
