"""Whether the text projection is what holds back text -> score retrieval in the languages the
model was never trained in, or the frozen text tower under it.

    python benchmarks/language_bound.py --data data/demo
    python benchmarks/language_bound.py --data data/demo --works 0 --train-texts 3     # every held-out work (about 30 minutes)

Held-out scores (ABC) are searched by their description (every fact but the title) and by their
portrait (``demo.evaluate``'s two queries) in every language of ``demo/languages.py``; Hit@10 of
each language is compared with English's, as the model card does (the works and their portraits
from the corpus's works.jsonl, so with what the notes do). The text tower's pooled outputs
are computed once, so each row below only changes the text projection (a 384 x 384 linear map)
and searches the same score vectors again:

- the projection as shipped;
- the projection refitted on the training pairs against the shipped music vectors (the scores'
  towers kept), from the shipped weights, with and without Gaussian noise on the pooled text
  vectors (each coordinate's in proportion to its spread: for a linear map, a ridge penalty
  weighted by each coordinate's variance), and from the identity instead of the PCA whitening the
  recipe starts from;
- the shipped projection after removing the k directions in which the 20 training languages differ
  most: their mean vectors over the same generated texts, and the translation residuals (each text
  minus the mean of its translations), as multilingual embeddings are made language-neutral.

A second table gives, per language, how often a query finds its own English version among the
English queries of all the sampled works (Hit@10), in the text tower and after the projection,
beside its score Hit@10 as a ratio of English's: a language the text side places far from English
cannot be searched as well as English by any projection. Only training works and training
languages choose anything here; the held-out languages are measured, never fitted.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # demo's texts, languages and measures


def pooled_encoder(model, embedder):
    """Texts -> (N, D) pooled text-tower outputs: the embedder's own text path (its batching,
    its segments of long texts, averaged) with the text projection set to the identity while it
    runs (a square projection: the tower's width is the space's, as in the embedded default)."""
    import torch

    projection = model.text_proj
    if projection.in_features != projection.out_features:
        raise ValueError(f"the text projection maps {projection.in_features} to {projection.out_features} dimensions; "
                         "the pooled outputs are read through a square one only")

    def encode(texts: list[str], batch: int = 2048) -> np.ndarray:
        saved = projection.weight.detach().clone(), projection.bias.detach().clone()
        try:
            with torch.no_grad():
                projection.weight.copy_(torch.eye(projection.in_features))
                projection.bias.zero_()
            return np.concatenate([embedder.encode_texts(texts[start:start + batch]) for start in range(0, len(texts), batch)])
        finally:
            with torch.no_grad():
                projection.weight.copy_(saved[0])
                projection.bias.copy_(saved[1])

    return encode


def refit(weight, bias, texts, music, epochs: int, learning_rate: float, noise: float, seed: int, batch: int = 256):
    """The text projection trained by the cosine InfoNCE of the recipe (learnt temperature from
    0.07) on (pooled text, music vector) pairs, music fixed; ``noise`` is the standard deviation of
    the Gaussian noise added to each pooled text, per dimension, relative to that dimension's.
    Simpler than the training stage: no text prior, no weight decay, the temperature unclamped,
    and with several texts of a score drawn (``--train-texts``) two of them may share a batch."""
    import torch
    import torch.nn.functional as F

    from clamp3.training.loss import contrastive_loss

    generator = torch.Generator().manual_seed(seed)
    text, target = torch.from_numpy(texts), F.normalize(torch.from_numpy(music), dim=-1)
    linear = torch.nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(weight))
        linear.bias.copy_(torch.from_numpy(bias))
    scale = torch.nn.Parameter(torch.tensor(math.log(14.3)))
    optimizer = torch.optim.AdamW([*linear.parameters(), scale], lr=learning_rate, weight_decay=0.0)
    spread = text.std(dim=0)
    for _ in range(epochs):
        order = torch.randperm(len(text), generator=generator)
        for start in range(0, len(order) - batch + 1, batch):
            rows = order[start:start + batch]
            x = text[rows]
            if noise:
                x = x + noise * spread * torch.randn(x.shape, generator=generator)
            loss = contrastive_loss(F.normalize(linear(x), dim=-1), target[rows], scale.exp())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return linear.weight.detach().numpy(), linear.bias.detach().numpy()


def language_directions(parallel: np.ndarray, k: int, kind: str) -> np.ndarray:
    """(groups, languages, D) pooled vectors of the same texts in each training language -> the
    (D, k) orthonormal directions in which the languages differ most."""
    if kind == "means":
        spread = parallel.mean(axis=0)
        spread = spread - spread.mean(axis=0)
    else:  # translation residuals
        spread = (parallel - parallel.mean(axis=1, keepdims=True)).reshape(-1, parallel.shape[-1])
    return np.linalg.svd(spread, full_matrices=False)[2][:k].T


def hits_at_10(queries: dict, weight, bias, music: np.ndarray) -> dict[tuple[str, str], float]:
    from clamp3.retrieval import normalize, retrieval_metrics, retrieval_ranks

    return {key: retrieval_metrics(retrieval_ranks(normalize((pooled @ weight.T + bias).astype(np.float32)), music, rows))["hit@10"]
            for key, (rows, pooled) in queries.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--weights", default="default")
    parser.add_argument("--data", default="data/demo", help="a corpus built by demo.build")
    parser.add_argument("--works", type=int, default=500, help="held-out scores sampled as queries and pool (0: all)")
    parser.add_argument("--train-texts", type=int, default=1, help="training texts drawn per score for the refits")
    parser.add_argument("--parallel", type=int, default=200, help="training works whose texts are generated in every training language")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    import torch

    from clamp3 import Embedder
    from clamp3.models import load_model
    from clamp3.retrieval import retrieval_metrics, retrieval_ranks
    from demo.evaluate import QUERIES, embed_works, read_works, retrieval_summary
    from demo.languages import HELDOUT_LANGUAGES, LANGUAGES, TRAIN_LANGUAGES

    torch.manual_seed(args.seed)
    started = time.perf_counter()
    data, rng = Path(args.data), random.Random(args.seed)
    model = load_model(args.weights)
    embedder = Embedder(model, batch_size=64)
    encode = pooled_encoder(model, embedder)
    weight, bias = model.text_proj.weight.detach().numpy().copy(), model.text_proj.bias.detach().numpy().copy()
    works = read_works(data)

    heldout = [w for w in works if w["split"] == "heldout" and "abc" in w["files"]]
    if args.works:
        heldout = rng.sample(heldout, min(args.works, len(heldout)))
    music = embed_works(embedder, data, heldout, "abc")
    query_texts = {(query, lang): [QUERIES[query][1](w, lang) for w in heldout] for query in QUERIES for lang in LANGUAGES}
    train = [json.loads(line) for line in (data / "pairs_symbolic_train.jsonl").read_text(encoding="utf-8").splitlines()]
    train_pairs = [(pair["filepaths"][0], text) for pair in train for text in rng.sample(pair["texts"], min(args.train_texts, len(pair["texts"])))]
    training_works = [w for w in works if w["split"] == "train"]
    parallel_texts = [[QUERIES[query][1](w, lang) for lang in TRAIN_LANGUAGES]
                      for w in rng.sample(training_works, min(args.parallel, len(training_works))) for query in QUERIES]
    parallel_texts = [group for group in parallel_texts if all(group)]

    unique = list(dict.fromkeys([t for texts in query_texts.values() for t in texts if t] + [t for _, t in train_pairs]
                                + [t for group in parallel_texts for t in group]))
    print(f"encoding {len(unique):,} texts with the text tower ...", file=sys.stderr, flush=True)
    pooled = dict(zip(unique, encode(unique)))
    queries = {}
    for key, texts in query_texts.items():
        written = np.array([i for i, text in enumerate(texts) if text])
        if len(written):  # (a language demo.texts writes no query of these works in: left out)
            queries[key] = (written, np.stack([pooled[texts[i]] for i in written]))
    paths = list(dict.fromkeys(path for path, _ in train_pairs))
    print(f"embedding {len(paths):,} training scores ...", file=sys.stderr, flush=True)
    train_music = {}
    for result in embedder.encode_files([data / p for p in paths], progress=False):
        if result.error is None:
            train_music[str(Path(result.source).relative_to(data))] = result.embedding.reshape(-1)
    kept = [(p, t) for p, t in train_pairs if p in train_music]
    if not kept or not parallel_texts:
        parser.error(f"{data}: no training score read, or no training work described in every training language")
    fit_text = np.stack([pooled[t] for _, t in kept]).astype(np.float32)
    fit_music = np.stack([train_music[p] for p, _ in kept]).astype(np.float32)
    parallel = np.stack([[pooled[t] for t in group] for group in parallel_texts])  # (groups, languages, D)

    rows: list[tuple[str, np.ndarray, np.ndarray]] = [("shipped projection", weight, bias)]
    fit = dict(texts=fit_text, music=fit_music, epochs=args.epochs, seed=args.seed)
    rows.append(("refitted from it", *refit(weight, bias, noise=0.0, learning_rate=1e-4, **fit)))
    rows.append(("refitted from it, input noise 0.5", *refit(weight, bias, noise=0.5, learning_rate=1e-4, **fit)))
    eye = np.eye(weight.shape[1], dtype=np.float32)
    rows.append(("refitted from the identity (no whitening)", *refit(eye, -fit_text.mean(axis=0), noise=0.0, learning_rate=1e-3,
                                                                   **{**fit, "epochs": 2 * args.epochs})))
    centre = parallel.reshape(-1, parallel.shape[-1]).mean(axis=0)
    for kind, ks in (("means", (8, 19)), ("residuals", (16, 64))):
        for k in ks:
            directions = language_directions(parallel, k, kind)
            keep = np.eye(weight.shape[1]) - directions @ directions.T
            rows.append((f"shipped, {k} language directions removed ({kind})", (weight @ keep).astype(np.float32),
                         (bias + weight @ directions @ directions.T @ centre).astype(np.float32)))

    results = [(name, hits_at_10(queries, w, b, music)) for name, w, b in rows]
    print(f"\n{len(heldout)} held-out scores (ABC), {len(kept):,} training pairs for the refits, "
          f"{len(parallel)} parallel groups in {len(TRAIN_LANGUAGES)} training languages; {time.perf_counter() - started:.0f} s\n")
    for query in QUERIES:
        print(f"Query: {QUERIES[query][0]}. Hit@10: English; mean of the {len(TRAIN_LANGUAGES)} training languages; "
              f"mean of the {len(HELDOUT_LANGUAGES)} held-out ones; the lowest ratio to English; languages under 0.8 of English.\n")
        print("| text projection | en | training languages | held-out languages | lowest ratio | under 0.8 |")
        print("|---|---:|---:|---:|---|---:|")
        for name, hits in results:
            written = {lang: {"hit@10": hits[query, lang]} for lang in LANGUAGES if (query, lang) in hits}
            summary = retrieval_summary(written)
            if not summary:  # (too few works for English to find any)
                print(f"| {name} | {hits.get((query, 'en'), 0.0):.3f} | | | no ratio | |")
                continue
            ratios, worst = summary["hit@10_ratio"], summary["min_ratio_all"]
            print(f"| {name} | {written['en']['hit@10']:.3f} | {np.mean([written[lang]['hit@10'] for lang in TRAIN_LANGUAGES if lang in written]):.3f} | "
                  f"{np.mean([written[lang]['hit@10'] for lang in HELDOUT_LANGUAGES if lang in written]):.3f} | "
                  f"{worst['language']} {worst['ratio']:.2f} | {sum(r < 0.8 for r in ratios.values())} |")
        print()

    print("Each query's own English version among the English queries of all sampled works (Hit@10), in the text tower "
          "and after the shipped projection, beside the score Hit@10 ratio to English (shipped).\n")
    print("| language | in training | description: tower / projected / score ratio | portrait: tower / projected / score ratio |")
    print("|---|---|---|---|")
    shipped = results[0][1]
    for lang in LANGUAGES:
        cells = []
        for query in QUERIES:
            if (query, lang) not in queries or not shipped.get((query, "en")):
                cells.append("—")
                continue
            rows_en, pooled_en = queries[query, "en"]
            rows_lang, pooled_lang = queries[query, lang]
            position = {row: i for i, row in enumerate(rows_en)}
            both = [i for i, row in enumerate(rows_lang) if row in position]
            target = [position[rows_lang[i]] for i in both]
            found = [retrieval_metrics(retrieval_ranks(project(pooled_lang[both]), project(pooled_en), target))["hit@10"]
                     for project in (lambda x: x.astype(np.float32), lambda x: (x @ weight.T + bias).astype(np.float32))]
            cells.append(f"{found[0]:.2f} / {found[1]:.2f} / {shipped[query, lang] / shipped[query, 'en']:.2f}")
        print(f"| {lang} | {'yes' if lang in TRAIN_LANGUAGES else 'no'} | {cells[0]} | {cells[1]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
