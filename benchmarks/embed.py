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

On a CPU a second table, the account, says where the speed-up stops (issue 17). It counts this
process's CPU seconds (all threads), not wall seconds: on a CPU shared with other jobs a thread
waiting for a core costs wall time but no CPU time, so the ratios hold better under load.

- patches: in the files; in their segments (the last segment of a file over 512 patches overlaps
  the one before it, as the official cut does, so both sides compute those twice); computed by the
  official loop (512 for every segment); computed by clamp3 (every batch padded to its longest
  segment, as :meth:`Embedder._batches` groups them). "padding removed" is official / clamp3;
- FLOPs (:func:`patch_flops`, counted from the config) of what each side computed, and the CPU's
  matmul throughput (:func:`matmul_rate`: ``torch.mm`` of one encoder layer's shapes, best of
  several tries, measured before and after the folder, the higher kept), hence each side's
  utilisation of that peak in its model time (its CPU seconds less patching). The model speed-up
  is exactly padding removed x the FLOP ratio of a computed patch x the utilisation ratio;
- time outside the model: patching (``Embedder.prepare``, inside both sides' seconds, timed once on
  clamp3's side) and reading (``read_items``, before either side is timed);
- the ceiling: the official loop's CPU seconds over clamp3's FLOPs at the matmul peak plus
  patching, the speed-up clamp3 would reach if its model ran at that peak: what is left to gain
  without computing fewer FLOPs.

On a CPU, clamp3 in bfloat16 (``clamp3 embed --dtype bfloat16``) runs on the first
``--bfloat16-files`` files of each kind beside float32 on the same files: files/s and how far its
global vectors are from float32's. It is opt-in; float32 stays the default.

    python benchmarks/embed.py [--folders sample large] [--per-kind N | --limit N] [--device cuda]
                               [--batch-size 16] [--bfloat16-files 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from clamp3.config import CLaMP3Config, EncoderConfig
from clamp3.embedding import Embedder
from clamp3.formats import read_items
from clamp3.models import CLaMP3Model
from clamp3.models.clamp3 import masked_mean
from clamp3.models.loading import load_tokenizer
from clamp3.models.m3 import NUM_CHARS
from clamp3.preprocess import segment_bounds

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


@dataclass
class Took:
    """How long a call took: wall seconds, and this process's CPU seconds over all its threads
    (what other jobs on a shared CPU change least: a thread waiting for a core is not charged)."""

    wall: float
    cpu: float


def timed(fn) -> tuple[Any, Took]:
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return result, Took(time.perf_counter() - start, time.process_time() - cpu)


@dataclass
class Comparison:
    """One folder embedded both ways: seconds, and how far apart the global vectors are."""

    official_seconds: float
    clamp3_seconds: float  # patching + model
    difference: float  # max |clamp3 - official loop| over the global vectors
    official_cpu: float = 0.0  # CPU seconds of the same runs (see Took)
    clamp3_cpu: float = 0.0
    patching: Took | None = None  # Embedder.prepare over the items, inside both sides' seconds
    # On a GPU, a second pass of each precision: the first pays each new batch shape's one-time set-up
    # (kernel choice, workspaces), which the official loop, one padded shape throughout, pays once.
    clamp3_warm_seconds: float | None = None
    bfloat16_seconds: float | None = None  # on a GPU: clamp3 in bfloat16 too
    bfloat16_warm_seconds: float | None = None
    bfloat16_cosine: float | None = None  # its min cosine with the float32 vectors


def folder_files(name: str, cache: Path, per_kind: int = 0) -> list[Path]:
    """The files of the folder ``name``, ABC then MTF (``sample`` is built under ``cache`` once);
    with ``per_kind``, only the first that many of each kind (and only those built, in a folder of
    their own: a smaller draw holds other works than the full one)."""
    if name == "sample":
        files = build_sample(cache / f"{per_kind}-each", per_kind, per_kind) if per_kind else build_sample(cache)
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


@contextmanager
def bfloat16(model: CLaMP3Model) -> Iterator[CLaMP3Model]:
    """``model`` in bfloat16 inside the block; after it, float32 again with its own float32 weights
    (a round trip alone would leave them rounded to bfloat16, and later runs would compare those)."""
    saved = {key: value.clone() for key, value in model.state_dict().items()}
    model.to(torch.bfloat16)
    try:
        yield model
    finally:
        model.to(torch.float32)
        model.load_state_dict(saved)


def bfloat16_run(model: CLaMP3Model, embedder: Embedder, items, reference: list[np.ndarray]) -> tuple[Took, float, float, Took]:
    """clamp3 in bfloat16 on ``items``: (time, max abs difference, min cosine) of its global
    vectors against ``reference``, float32's on the same items, and the time of a second pass."""
    with bfloat16(model):
        low, took = warm_timed(embedder.encode_items, items)
        _, again = timed(lambda: embedder.encode_items(items))
    difference = max(float(np.abs(a - b).max()) for a, b in zip(low, reference))
    cosine = min(float((a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b)) for a, b in zip(low, reference))
    return took, difference, cosine, again


def compare(model: CLaMP3Model, embedder: Embedder, items) -> Comparison:
    """clamp3's engine (patching and model timed apart), then the official loop, on ``items``; on a
    GPU also clamp3 in bfloat16."""

    def ours(some):
        prepared, patching = timed(lambda: [embedder.prepare(item) for item in some])
        return embedder.embed_prepared(prepared), patching

    (vectors, patching), took = warm_timed(ours, items)
    baseline, base = warm_timed(lambda some: official_loop(model, embedder, some), items)
    difference = max(float(np.abs(a - b).max()) for a, b in zip(vectors, baseline))
    result = Comparison(base.wall, took.wall, difference, base.cpu, took.cpu, patching)
    if model.device.type == "cuda":
        result.clamp3_warm_seconds = timed(lambda: ours(items))[1].wall
        low, _, result.bfloat16_cosine, again = bfloat16_run(model, embedder, items, vectors)
        result.bfloat16_seconds, result.bfloat16_warm_seconds = low.wall, again.wall
    return result


# --- the account: where the speed-up stops --------------------------------------------------------
def layer_flops(config: EncoderConfig, length: int) -> int:
    """FLOPs of one patch through one encoder layer whose sequence is ``length`` patches long (a
    multiply-add counts 2): the query, key, value and output projections 4 x 2H^2, the feed-forward
    2 x 2HI, the attention scores and their weighted sum 2 x 2LH (all heads together). Layer norms,
    softmax and GELU are left out (elementwise, a few per cent of the time), as are the pooler and
    the projection (2H^2 each per segment, not per patch)."""
    hidden, intermediate = config.hidden_size, config.intermediate_size
    return 8 * hidden * hidden + 4 * hidden * intermediate + 4 * length * hidden


def patch_flops(config: CLaMP3Config, length: int, one_hot: bool) -> int:
    """FLOPs of one patch through the symbolic tower in a sequence of ``length`` patches: the patch
    embedding (the official loop's dense product of the one-hot patch, 2 x (patch_size x 128) x H;
    clamp3's sum of the patch_size weight rows the characters select, patch_size x H), then every layer."""
    encoder = config.symbolic
    width = config.patch_size * encoder.hidden_size
    return (2 * NUM_CHARS * width if one_hot else width) + encoder.num_layers * layer_flops(encoder, length)


def matmul_rate(config: EncoderConfig, device: torch.device | str, dtype: torch.dtype = torch.float32,
                rows: tuple[int, ...] = (512, 2048), tries: int = 5) -> float:
    """GFLOP per CPU-second of ``torch.mm`` over one encoder layer's products, in the threads torch
    uses: (R x H) @ (H x H) four times (query, key, value, output), (R x H) @ (H x I) and
    (R x I) @ (I x H), for R = 512 (one segment, as the official loop runs them) and 2048 (a batch of
    four); the best of ``tries`` at the better R. CPU time, not wall time, as the CPU is shared."""
    hidden, intermediate = config.hidden_size, config.intermediate_size
    shapes = [(hidden, hidden)] * 4 + [(hidden, intermediate), (intermediate, hidden)]
    generator = torch.Generator().manual_seed(0)

    def rate(r: int) -> float:
        pairs = [(torch.randn(r, k, generator=generator).to(device, dtype), torch.randn(k, n, generator=generator).to(device, dtype))
                 for k, n in shapes]
        seconds = min(timed(lambda: [torch.mm(a, b) for a, b in pairs])[1].cpu for _ in range(tries))
        return sum(2 * r * k * n for k, n in shapes) / seconds / 1e9

    return max(rate(r) for r in rows)


@dataclass
class Account:
    """What each side computed on one folder, in patches and FLOPs."""

    file_patches: int
    segment_patches: int  # the segments' patches: the overlap of a long file's last segment counted twice
    official_patches: int  # every segment padded to the maximum length
    clamp3_patches: int  # every batch padded to its longest segment
    official_flops: float
    clamp3_flops: float


def count(model: CLaMP3Model, embedder: Embedder, items) -> Account:
    """Patches and FLOPs of both sides on ``items``: the official loop's segments of the maximum
    length, clamp3's batches as its engine groups the segments of all the items."""
    config, max_length = model.config, model.config.symbolic.max_length
    sizes = [len(embedder.prepare(item).steps) for item in items]
    lengths = [end - start for size in sizes for start, end in segment_bounds(size, max_length)]
    batches = [(len(batch), lengths[batch[0]]) for batch in embedder._batches(lengths)]  # longest first in each
    return Account(
        file_patches=sum(sizes),
        segment_patches=sum(lengths),
        official_patches=max_length * len(lengths),
        clamp3_patches=sum(n * length for n, length in batches),
        official_flops=max_length * len(lengths) * patch_flops(config, max_length, one_hot=True),
        clamp3_flops=sum(n * length * patch_flops(config, length, one_hot=False) for n, length in batches),
    )


def account_rows(account: Account, result: Comparison, peak: float, reading: Took) -> dict[str, str]:
    """The account of one folder as (measure -> value), in CPU seconds; ``peak`` in GFLOP per CPU-second."""
    patching = result.patching.cpu
    official_model, clamp3_model = result.official_cpu - patching, result.clamp3_cpu - patching  # CPU s
    official_use = account.official_flops / official_model / (peak * 1e9)
    clamp3_use = account.clamp3_flops / clamp3_model / (peak * 1e9)
    padding = account.official_patches / account.clamp3_patches
    per_patch = (account.official_flops / account.official_patches) / (account.clamp3_flops / account.clamp3_patches)
    ceiling = result.official_cpu / (account.clamp3_flops / (peak * 1e9) + patching)
    return {
        "patches in the files / in their segments": f"{account.file_patches:,} / {account.segment_patches:,}",
        "patches computed: official (512 a segment) / clamp3 (batches padded to their longest)":
            f"{account.official_patches:,} / {account.clamp3_patches:,}",
        "padding removed (official / clamp3 patches)": f"{padding:.2f}x",
        "MFLOP a computed patch: official / clamp3": f"{account.official_flops / account.official_patches / 1e6:.1f} / "
                                                     f"{account.clamp3_flops / account.clamp3_patches / 1e6:.1f}",
        "GFLOP computed: official / clamp3": f"{account.official_flops / 1e9:,.0f} / {account.clamp3_flops / 1e9:,.0f}",
        "matmul peak, float32, GFLOP per CPU-second": f"{peak:.0f}",
        "official model: CPU s; CPU s per 1,000 computed patches; utilisation":
            f"{official_model:.1f}; {official_model / account.official_patches * 1000:.2f}; {official_use:.0%}",
        "clamp3 model: CPU s; CPU s per 1,000 segment patches (per 1,000 computed); utilisation":
            f"{clamp3_model:.1f}; {clamp3_model / account.segment_patches * 1000:.2f} "
            f"({clamp3_model / account.clamp3_patches * 1000:.2f}); {clamp3_use:.0%}",
        "outside the model, CPU s: patching (in both sides) / reading (before both)": f"{patching:.2f} / {reading.cpu:.2f}",
        "model speed-up = padding removed x FLOP a patch x utilisation":
            f"{padding:.2f} x {per_patch:.2f} x {clamp3_use / official_use:.2f} = {official_model / clamp3_model:.2f}x",
        "speed-up with patching, CPU time / wall time":
            f"{result.official_cpu / result.clamp3_cpu:.2f}x / {result.official_seconds / result.clamp3_seconds:.2f}x",
        "ceiling: clamp3 at the matmul peak, patching included (CPU time)": f"{ceiling:.2f}x",
    }


def bf16_instructions() -> str:
    """The CPU's bfloat16 instruction sets, as /proc/cpuinfo names them, or 'none'."""
    cpuinfo = Path("/proc/cpuinfo")
    flags = set(cpuinfo.read_text().split()) if cpuinfo.exists() else set()
    return ", ".join(f for f in ("avx512_bf16", "amx_bf16") if f in flags) or "none"


def run_folder(name: str, files: list[Path], model: CLaMP3Model, batch_size: int, bfloat16_files: int) -> dict[str, str]:
    """Embed the folder both ways and print its table; returns its account (on a CPU; empty on a GPU)."""
    items, reading = timed(lambda: [read_items(f)[0] for f in files])
    embedder = Embedder(model, batch_size=batch_size)
    print(f"\n## {name}: {describe(files, embedder, items)}", flush=True)
    on_cpu = model.device.type == "cpu"  # the account counts CPU seconds
    before = matmul_rate(model.config.symbolic, model.device) if on_cpu else 0.0
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
    if not on_cpu:
        return {}
    peak = max(before, matmul_rate(model.config.symbolic, model.device))
    account = account_rows(count(model, embedder, items), result, peak, reading)
    if bfloat16_files:
        subset = [i for i, f in zip(items, files) if f.suffix == ".abc"][:bfloat16_files]
        subset += [i for i, f in zip(items, files) if f.suffix == ".mtf"][:bfloat16_files]
        reference, took = warm_timed(embedder.encode_items, subset)
        low, difference, cosine = bfloat16_run(model, embedder, subset, reference)
        account["bfloat16 on the first files of each kind: files; files/s float32 / bfloat16; CPU s float32 / bfloat16"] = (
            f"{len(subset)}; {len(subset) / took.wall:.2f} / {len(subset) / low.wall:.2f}; {took.cpu:.1f} / {low.cpu:.1f}")
        account["bfloat16 against float32: max abs difference / min cosine"] = f"{difference:.1e} / {cosine:.5f}"
        account["matmul peak, bfloat16, GFLOP per CPU-second"] = f"{matmul_rate(model.config.symbolic, model.device, torch.bfloat16):.0f}"
    return account


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--folders", nargs="+", default=["sample", "large"], choices=["sample", "large"])
    subset = parser.add_mutually_exclusive_group()
    subset.add_argument("--limit", type=int, default=0, help="use only the first N files of each folder (0: all)")
    subset.add_argument("--per-kind", type=int, default=0, help="use only the first N ABC and N MTF files of each folder (0: all)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--bfloat16-files", type=int, default=3,
                        help="on a CPU, time clamp3 in bfloat16 on the first N files of each kind (0: not)")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "clamp3-bench-sample")
    args = parser.parse_args()

    started = time.perf_counter()
    print(f"SAAS-shaped model, random weights, on {args.device}; torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; bfloat16 instructions: {bf16_instructions()}", flush=True)
    model = build_model(args.device)
    accounts = {}
    for name in args.folders:
        files = folder_files(name, args.cache, args.per_kind)
        accounts[name] = run_folder(name, files[: args.limit] if args.limit else files, model, args.batch_size, args.bfloat16_files)
    if any(accounts.values()):
        print(f"\n## account (CPU seconds)\n\n| measure | {' | '.join(accounts)} |\n|---|{'---:|' * len(accounts)}")
        for measure in dict.fromkeys(key for rows in accounts.values() for key in rows):
            print(f"| {measure} | {' | '.join(rows.get(measure, '-') for rows in accounts.values())} |")
    print(f"\n{time.perf_counter() - started:.0f} s in all; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
