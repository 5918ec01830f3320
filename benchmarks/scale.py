"""Scale-out figures measured on the machine at hand (see docs/scaling.md for what they mean).

    python benchmarks/scale.py embed [--weights default] [--saas] [--workers 0 2]
    python benchmarks/scale.py train
    python benchmarks/scale.py ann [--vectors 1000000] [--dim 768] [--nlist 1024] [--pq 64] [--nprobe 16 64]
                                   [--rerank 100 400] [--hnsw 100000] [--exact-max 1000000] [--scratch DIR]
    python benchmarks/scale.py ann --library assets/demo-library --nlist 64 --pq 48 96 --hnsw 10000

``embed``: files/s of ``Embedder.encode_files`` on the CPU for symbolic files as users have them
(MusicXML and MIDI converted on the fly, interleaved ABC, and a random sample of music21 works as
ABC and MTF), with the time reading and converting alone take, and the hours a million such files
would take here.

``train``: the ``torchrun`` path of the trainer on the CPU (gloo): two processes with half the
batch each against one process with the whole batch (final weights compared), and a two-process
run stopped and resumed against an uninterrupted one.

``ann``: a library of N random-but-clustered unit vectors (a Gaussian mixture in a 64-d subspace
plus 10 % isotropic noise), or with ``--library DIR`` the vectors of a real library, some held out
as queries. The footprint per million vectors
of float32, float16, the FAISS HNSW index the library builds today (on ``--hnsw`` of them) and an
IVF-PQ index; IVF-PQ build time; one-query-at-a-time latency and recall@10 against exact search,
with and without re-ranking the top ``--rerank`` candidates by float16 vectors read from disk, served from a
fresh process that loads the index into memory or maps it from disk (the files read once before
timing, or the float16 file's pages dropped with posix_fadvise before every query).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # tests.support
CONVERT = ROOT / "tests" / "data" / "golden" / "convert"
sys.path.insert(0, str(Path(__file__).parent))


def machine_load() -> str:
    """The 1-minute load average against the cores: other work on the machine skews every timing here."""
    return f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def hours_per_million(files_per_second: float) -> str:
    return f"{1e6 / files_per_second / 3600:,.0f} h" if files_per_second else "-"


# --- embedding throughput -------------------------------------------------------------------------
def load_for_embedding(name: str):
    """A model by ``load_model`` name, or 'saas-shape': the official size with seeded random weights."""
    if name != "saas-shape":
        from clamp3.models import load_model

        return load_model(name, device="cpu")
    from clamp3.models import CLaMP3Model
    from clamp3.models.loading import load_tokenizer
    from tests.support import randomize_, saas_shaped_config

    model = randomize_(CLaMP3Model(saas_shaped_config())).eval()
    model.tokenizer = load_tokenizer(ROOT / "tests" / "data" / "xlmr-base-shape")
    return model


def bench_embed(args: argparse.Namespace) -> None:
    import music21
    import torch
    from corpus import build_sample

    from clamp3.embedding import Embedder
    from clamp3.formats import read_many

    corpus = Path(music21.__file__).parent / "corpus"
    scores = [corpus / name.replace("__", "/") for name in (CONVERT / "musicxml_sample.txt").read_text().splitlines() if name]
    sets = {
        "MusicXML, 64 music21 corpus scores (converted to ABC here)": scores,
        "MIDI, 55 Bach chorales (converted to MTF here)": sorted((CONVERT / "midi").glob("*.mid")),
        "interleaved ABC, 63 whole scores": sorted((CONVERT / "abc_official").glob("*.abc")),
        "sample, 100 ABC + 50 MTF of random music21 works": build_sample(args.cache),
    }
    print(f"CPU, {torch.get_num_threads()} threads, torch {torch.__version__}, float32, batch size {args.batch_size}; "
          f"{machine_load()} at the start\n")
    print("| model | files | workers | reading + converting alone, s | encode_files, s | files/s | 10^6 files here |\n|---|---|---:|---:|---:|---:|---:|")
    for name in args.weights + (["saas-shape"] if args.saas else []):
        model = load_for_embedding(name)
        embedder = Embedder(model, batch_size=args.batch_size)
        size = sum(p.numel() for n, p in model.named_parameters() if not n.startswith("text_model")) / 1e6
        label = f"{name} ({size:.0f}M music params, {model.config.symbolic.num_layers}x{model.config.symbolic.hidden_size}, "
        label += f"{model.config.symbolic.max_length} patches, {model.config.projection_size}-d)"
        list(embedder.encode_files(next(iter(sets.values()))[:2], progress=False))  # first-call costs
        for title, files in sets.items():
            for workers in args.workers:
                started = time.perf_counter()
                read = sum(len(items) for _, items, _ in read_many(files, workers))
                reading = time.perf_counter() - started
                started = time.perf_counter()
                results = list(embedder.encode_files(files, workers=workers, progress=False))
                total = time.perf_counter() - started
                failed = sum(r.error is not None for r in results)
                rate = len(files) / total
                note = f", {failed} failed" if failed else ""
                print(f"| {label} | {title}{note} ({read} items) | {workers} | {reading:.1f} | {total:.1f} | {rate:.2f} | "
                      f"{hours_per_million(rate)} |", flush=True)
        del model, embedder
    print(f"\n{machine_load()} at the end")


# --- training under torchrun -----------------------------------------------------------------------
def train_run(out: Path, processes: int, batch_size: int, settings: list[str]) -> float:
    """``clamp3 train clamp3`` in one process or under torchrun; returns seconds per step."""
    command = [sys.executable, "-m", "clamp3.cli", "train", "clamp3"]
    if processes > 1:
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
                   "-m", "clamp3.cli", "train", "clamp3"]
    env = dict(os.environ, OMP_NUM_THREADS=str(max(1, (os.cpu_count() or 1) // processes)), HF_HUB_OFFLINE="1")
    done = subprocess.run([*command, f"output_dir={out}", f"batch_size={batch_size}", *settings, "-q"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-3000:]}")
    steps = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    steps = [s for s in steps if s["event"] == "step"]
    return steps[-1]["elapsed_s"] / len(steps)


def weight_difference(a: Path, b: Path) -> float:
    """Max |a - b| over the tensors of two model folders (a run's output folder means its final model)."""
    from safetensors.torch import load_file

    first, second = (load_file((f / "final" if (f / "final").is_dir() else f) / "model.safetensors") for f in (a, b))
    return max(float((first[k].float() - second[k].float()).abs().max()) for k in first)


def bench_train(args: argparse.Namespace) -> None:
    from soak import tiny_model

    from clamp3.models import save_pretrained
    from tests.support import write_pairs

    with tempfile.TemporaryDirectory(prefix="clamp3-scale-") as scratch:
        folder = Path(scratch)
        weights = save_pretrained(tiny_model(), folder / "model")
        pairs = write_pairs(folder)
        common = [f"train_data={pairs}", f"weights={weights}", f"epochs={args.steps}", "learning_rate=2e-3",
                  "warmup_steps=1", "checkpoint_every=1000", "tensorboard=false"]
        # Without dropout, text dropout and augmentation nothing is random: the runs must agree.
        fixed = [*common, "text_dropout=false", "augment=false", "dropout=0.0"]
        one = train_run(folder / "one", 1, 8, fixed)
        two = train_run(folder / "two", 2, 4, fixed)
        print(f"tiny model, 8 pairs, global batch 8, {args.steps} steps, CPU (gloo), {machine_load()}; the weights moved by up to "
              f"{weight_difference(weights, folder / 'one'):.1e} from the start in the 1-process run\n")
        print("| run | s/step | max abs weight difference |\n|---|---:|---:|")
        print(f"| 1 process, batch 8, nothing random | {one:.2f} | reference |")
        print(f"| torchrun 2 processes, batch 4 each, nothing random | {two:.2f} | "
              f"{weight_difference(folder / 'one', folder / 'two'):.1e} |")
        # Stopped halfway, then resumed from checkpoint.pt by the same command, against one uninterrupted run.
        for processes, batch, settings, what in ((1, 8, common, "dropout and augmentation on"),
                                                  (2, 4, common, "dropout and augmentation on"),
                                                  (2, 4, fixed, "nothing random")):
            tag = f"{processes}-{len(settings)}"
            whole, split = folder / f"whole{tag}", folder / f"split{tag}"
            train_run(whole, processes, batch, settings)
            train_run(split, processes, batch, [*settings, f"max_steps={args.steps // 2}"])
            train_run(split, processes, batch, settings)
            print(f"| {processes} process{'es' if processes > 1 else ''}, stopped at step {args.steps // 2} and resumed "
                  f"vs uninterrupted, {what} | - | {weight_difference(whole, split):.1e} |")


# --- a library of 10^7 items ---------------------------------------------------------------------------
def clustered(n: int, dim: int, seed: int, clusters: int = 1000, latent: int = 64, block: int = 100_000) -> np.ndarray:
    """(n, dim) unit vectors: a mixture of ``clusters`` Gaussians in a ``latent``-d subspace, plus
    isotropic noise carrying a tenth of the energy. The subspace and centres depend on nothing but
    the generator's fixed seed, so queries (another ``seed``) come from the same mixture."""
    from clamp3.retrieval import normalize

    fixed = np.random.default_rng(12345)
    basis = np.linalg.qr(fixed.standard_normal((dim, latent)))[0].astype(np.float32).T  # (latent, dim)
    centres = fixed.standard_normal((clusters, latent)).astype(np.float32)
    noise = np.sqrt(0.1 * latent * 1.36 / dim).astype(np.float32)  # a tenth of the mixture's energy
    rng = np.random.default_rng(seed)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, block):
        rows = min(block, n - start)
        z = centres[rng.integers(clusters, size=rows)] + 0.6 * rng.standard_normal((rows, latent), dtype=np.float32)
        out[start : start + rows] = normalize(z @ basis + noise * rng.standard_normal((rows, dim), dtype=np.float32))
    return out


def recall_at_10(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[:10]) & set(t[:10])) / 10 for f, t in zip(found, truth)]))


def rss() -> tuple[float, float]:
    """(anonymous, file-backed) resident MiB of this process."""
    values = {}
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(("RssAnon:", "RssFile:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("RssAnon", float("nan")), values.get("RssFile", float("nan"))


def read_through(path: Path) -> None:
    """Read a file once, so that its pages are in the page cache (as far as memory allows)."""
    with open(path, "rb", buffering=0) as handle:
        while handle.read(16 << 20):
            pass


def drop_cache(path: Path) -> None:
    """Evict a file's pages from the page cache (clean, unmapped pages; nothing else is touched)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


class RowFile:
    """Rows of an (N, D) float16 .npy read with pread, so that the page cache can be dropped."""

    def __init__(self, path: Path):
        header = np.load(path, mmap_mode="r")  # the header only: no row is touched through this map
        self.offset, self.dim, self.dtype = header.offset, header.shape[1], header.dtype
        del header
        self.row_bytes = self.dim * self.dtype.itemsize
        self.fd = os.open(path, os.O_RDONLY)

    def rows(self, ids: np.ndarray) -> np.ndarray:
        """(len(ids), D) float32, read in ascending order of ``ids``."""
        blob = b"".join(os.pread(self.fd, self.row_bytes, self.offset + int(i) * self.row_bytes) for i in ids)
        return np.frombuffer(blob, dtype=self.dtype).reshape(len(ids), self.dim).astype(np.float32)


def serve(index_path: str, half_path: str, queries_path: str, truth_path: str, nprobes: list[int], rerank: list[int],
          mapped: bool, cold: bool, answers) -> None:
    """In a fresh process: load (or map) the index, answer the queries one at a time, report rows."""
    import faiss

    faiss.omp_set_num_threads(1)  # one query per thread, as a server with many users runs it
    before = rss()
    started = time.perf_counter()
    index = faiss.read_index(index_path, faiss.IO_FLAG_MMAP if mapped else 0)
    load = time.perf_counter() - started
    half = RowFile(Path(half_path))
    if not cold:
        for path in (index_path, half_path):
            read_through(Path(path))
    queries, truth = np.load(queries_path), np.load(truth_path)
    rows = []
    for nprobe in nprobes:
        index.nprobe = nprobe
        for depth in (0, *rerank):
            times, found = [], []
            for query in queries:
                if cold:
                    drop_cache(Path(half_path))
                started = time.perf_counter()
                _, ids = index.search(query[None], max(depth, 10))
                ids = ids[0][ids[0] >= 0]
                if depth:
                    ids = np.sort(ids)
                    ids = ids[np.argsort(-(half.rows(ids) @ query))]
                times.append((time.perf_counter() - started) * 1000)
                found.append(ids[:10])
            p50, p99 = np.percentile(times, [50, 99])
            rows.append((nprobe, depth, float(p50), float(p99), recall_at_10(found, truth)))
    answers.put({"load_s": load, "before": before, "after": rss(), "rows": rows})


def bench_ann(args: argparse.Namespace) -> None:
    """One pass over the library in blocks (never all of it in memory as float32): the float16 file,
    the exact top 10 of every query, the IVF-PQ indexes; then each index served from a fresh process."""
    import faiss

    from clamp3.retrieval import build_hnsw, exact_top_k

    block = 100_000
    if args.library:  # real embeddings: a library's vectors, --queries of them held out as queries
        from clamp3.library import Library

        vectors = Library(args.library).matrix()[1]
        held_out = np.zeros(len(vectors), dtype=bool)
        held_out[np.random.default_rng(1).choice(len(vectors), args.queries, replace=False)] = True
        queries, real = vectors[held_out], vectors[~held_out]
        n, dim, source = len(real), real.shape[1], f"the vectors of {args.library} (less the queries)"
    else:
        n, dim, source = args.vectors, args.dim, "clustered unit vectors"
        queries = clustered(args.queries, dim, seed=1)
    threads = faiss.omp_get_max_threads()
    folder = Path(tempfile.mkdtemp(prefix="clamp3-ann-", dir=args.scratch))
    try:
        starts = range(0, n, block)

        def library_block(number: int) -> np.ndarray:  # the same rows every time it is asked for
            if args.library:
                return real[starts[number] : starts[number] + block]
            return clustered(min(block, n - starts[number]), dim, seed=10 + number)

        indexes = {}
        wanted = min(n, max(args.train_per_list * args.nlist, 64 * 256))  # k-means wants ~39 points a centroid
        sample = np.concatenate([library_block(b) for b in range(-(-wanted // block))])[:wanted]
        for m in args.pq:
            factory = f"IVF{args.nlist},PQ{m}"
            index = faiss.index_factory(dim, factory, faiss.METRIC_INNER_PRODUCT)
            index.do_polysemous_training = False  # only for Hamming-filtered search, and costly to train
            started = time.perf_counter()
            index.train(sample)
            indexes[factory] = [index, time.perf_counter() - started, 0.0]
        del sample
        half_path = folder / "vectors-f16.npy"
        half = np.lib.format.open_memmap(half_path, mode="w+", dtype=np.float16, shape=(n, dim))
        kept = np.empty((min(n, args.exact_max), dim), dtype=np.float32)  # float32 rows for exact and HNSW timings
        truth_scores = np.full((len(queries), 10), -np.inf, dtype=np.float32)
        truth = np.full((len(queries), 10), -1, dtype=np.int64)
        started = time.perf_counter()
        for number, first in enumerate(starts):
            rows = library_block(number)
            half[first : first + len(rows)] = rows
            if first < len(kept):
                kept[first : first + len(rows)] = rows[: len(kept) - first]
            scores, found = exact_top_k(rows, queries, 10)  # (Q, 10) in this block, merged with the best so far
            scores, found = np.concatenate([truth_scores, scores], 1), np.concatenate([truth, found + first], 1)
            best = np.argsort(-scores, axis=1, kind="stable")[:, :10]
            truth_scores, truth = np.take_along_axis(scores, best, 1), np.take_along_axis(found, best, 1)
            for entry in indexes.values():
                added = time.perf_counter()
                entry[0].add(rows)
                entry[2] += time.perf_counter() - added
        half.flush()
        del half
        passed = time.perf_counter() - started
        np.save(folder / "queries.npy", queries)
        np.save(folder / "truth.npy", truth)
        print(f"{n:,} {source} of {dim} dimensions, {args.queries} queries; one pass to write them as "
              f"float16, find the exact top 10 and fill the indexes: {passed:.0f} s; {threads} threads to build, "
              f"1 thread to search; {machine_load()}\n")

        times = []
        faiss.omp_set_num_threads(1)
        for query in queries:
            began = time.perf_counter()
            exact_top_k(kept, query[None], 10)
            times.append((time.perf_counter() - began) * 1000)
        exact_row = (len(kept), *np.percentile(times, [50, 99]))
        faiss.omp_set_num_threads(threads)
        footprint = [("float32 matrix (the library's in-memory copy today)", kept.nbytes / len(kept), "-"),
                     ("float16 matrix (on disk, for re-ranking)", half_path.stat().st_size / n, "-")]
        hnsw_row = None
        if args.hnsw:
            subset = min(args.hnsw, len(kept))
            began = time.perf_counter()
            hnsw = build_hnsw(kept[:subset])
            built = time.perf_counter() - began
            footprint.append((f"HNSW M=32 flat, as the library builds it (measured on {subset:,})",
                              len(faiss.serialize_index(hnsw)) / subset, f"{built:.0f} s for {subset:,}"))
            hnsw.hnsw.efSearch = 128
            sub_truth = exact_top_k(kept[:subset], queries, 10)[1]
            times, found = [], []
            faiss.omp_set_num_threads(1)
            for query in queries:
                began = time.perf_counter()
                found.append(hnsw.search(query[None], 10)[1][0])
                times.append((time.perf_counter() - began) * 1000)
            faiss.omp_set_num_threads(threads)
            hnsw_row = (subset, *np.percentile(times, [50, 99]), recall_at_10(found, sub_truth))
            del hnsw
        del kept

        results = []
        for factory, (index, trained, adding) in indexes.items():
            path = folder / f"{factory}.faiss"
            faiss.write_index(index, str(path))
            footprint.append((f"{factory} (codes + ids + centroids)", path.stat().st_size / n,
                              f"{trained + adding:.0f} s ({trained:.0f} s training on {wanted:,}, {adding:.0f} s adding)"))
            indexes[factory] = None
            del index
            for mapped, cold in ((False, False), (True, False), (False, True)):
                context = multiprocessing.get_context("spawn")
                answers = context.Queue()
                process = context.Process(target=serve, args=(
                    str(path), str(half_path), str(folder / "queries.npy"), str(folder / "truth.npy"),
                    args.nprobe, args.rerank, mapped, cold, answers))
                process.start()
                results.append((factory, mapped, cold, answers.get(timeout=3600)))
                process.join()
            path.unlink()

        print("| storage | bytes / vector | GB per 10^6 | GB per 10^7 | build |\n|---|---:|---:|---:|---|")
        for label, per_vector, build in footprint:
            print(f"| {label} | {per_vector:,.1f} | {per_vector * 1e6 / 1e9:.3f} | {per_vector * 1e7 / 1e9:.2f} | {build} |")
        print("\n| search | resident | load | p50 ms | p99 ms | recall@10 |\n|---|---|---:|---:|---:|---:|")
        rows, p50, p99 = exact_row
        print(f"| exact, float32 in memory (on the first {rows:,}) | {rows * dim * 4 / 2**20:,.0f} MiB | - | {p50:.1f} | {p99:.1f} | 1.000 |")
        if hnsw_row:
            subset, p50, p99, recall = hnsw_row
            print(f"| HNSW M=32 efSearch=128 (on the first {subset:,}; recall against exact on those) | - | - | "
                  f"{p50:.2f} | {p99:.2f} | {recall:.3f} |")
        for factory, mapped, cold, result in results:
            anon = result["after"][0] - result["before"][0]
            file = result["after"][1] - result["before"][1]
            where = ("index mapped from disk, files read once before (page cache warm)" if mapped
                     else "index in memory, float16 file dropped from the page cache before each query" if cold
                     else "index in memory, float16 file read once before (page cache warm)")
            for nprobe, depth, p50, p99, recall in result["rows"]:
                how = f"exact re-rank of the top {depth} from float16 on disk" if depth else "PQ scores only"
                print(f"| {factory} nprobe={nprobe}, {how}; {where} | +{anon:,.0f} MiB anon, +{file:,.0f} MiB file "
                      f"| {result['load_s']:.1f} s | {p50:.2f} | {p99:.2f} | {recall:.3f} |", flush=True)
        print(f"\n{machine_load()} at the end")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parts = parser.add_subparsers(dest="part", required=True)
    embed = parts.add_parser("embed", help="embedding throughput of symbolic files on this machine")
    embed.add_argument("--weights", nargs="*", default=["default"], help="load_model names (default: the embedded model)")
    embed.add_argument("--saas", action="store_true", help="also the official size (random weights, 458M parameters)")
    embed.add_argument("--workers", type=int, nargs="+", default=[0, 2], help="reader processes (0: in the main process)")
    embed.add_argument("--batch-size", type=int, default=16)
    embed.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "clamp3-bench-sample")
    train = parts.add_parser("train", help="the trainer under torchrun on the CPU")
    train.add_argument("--steps", type=int, default=6)
    ann = parts.add_parser("ann", help="footprint, build time, latency and recall of ANN indexes")
    ann.add_argument("--vectors", type=int, default=1_000_000)
    ann.add_argument("--dim", type=int, default=768)
    ann.add_argument("--queries", type=int, default=200)
    ann.add_argument("--nlist", type=int, default=1024)
    ann.add_argument("--pq", type=int, nargs="+", default=[64], help="bytes per vector of the PQ codes")
    ann.add_argument("--train-per-list", type=int, default=64, help="training vectors per inverted list")
    ann.add_argument("--nprobe", type=int, nargs="+", default=[16, 64])
    ann.add_argument("--rerank", type=int, nargs="+", default=[100, 400], help="candidates re-ranked by float16 vectors")
    ann.add_argument("--hnsw", type=int, default=100_000, help="build the HNSW index on this many (0: none)")
    ann.add_argument("--exact-max", type=int, default=1_000_000, help="time exact search on at most this many (held as float32)")
    ann.add_argument("--library", default=None, help="a library folder: its vectors instead of synthetic ones")
    ann.add_argument("--scratch", default=None, help="folder for the index and the float16 vectors (default: $TMPDIR)")
    args = parser.parse_args(argv)
    {"embed": bench_embed, "train": bench_train, "ann": bench_ann}[args.part](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
