"""Embeddings against the official extractor, and the batched engine against a naive loop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import DATA, GOLDEN, TINY_OFFICIAL, TINY_TEXT_MODEL

from clamp3.embedding import Embedder
from clamp3.errors import InputError
from clamp3.formats import Item, read_items
from clamp3.preprocess import Preprocess, frame_features, load_model_and_preprocess, segment_bounds, segment_weights

TINY = GOLDEN / "embed_tiny"
INPUTS = sorted((TINY / "inputs").iterdir())


def test_tiny_official_goldens_global_and_per_step(tiny_model):
    """Goldens from the official extract_clamp3.py on the same checkpoint (tests/data/README.md)."""
    embedder = Embedder(tiny_model, batch_size=4)
    items = [read_items(path)[0] for path in INPUTS]
    for pooled, folder in ((True, "global"), (False, "steps")):
        for path, ours in zip(INPUTS, embedder.encode_items(items, pooled)):
            expected = np.load(TINY / folder / f"{path.stem}.npy")
            assert ours.shape == expected.shape, path.name
            assert np.abs(ours - expected).max() <= 1e-4, path.name


def naive_embedding(model, prepared, max_length, pooled):
    """The official per-file loop: each segment alone, padded to max_length."""
    steps = prepared.steps
    n = len(steps)
    segments = [steps[i : i + max_length] for i in range(0, n, max_length)]
    segments[-1] = steps[-max_length:]
    pad_value = model.tokenizer.pad_token_id if prepared.modality == "text" else 0
    outputs = []
    with torch.inference_mode():
        for segment in segments:
            padded = segment.new_full((max_length, *segment.shape[1:]), pad_value)
            padded[: len(segment)] = segment
            mask = torch.zeros(1, max_length)
            mask[0, : len(segment)] = 1
            hidden = model.hidden(prepared.modality, padded[None], mask)
            outputs.append(model.project(prepared.modality, hidden, mask)[0] if pooled else hidden[0, : len(segment)])
    if pooled:
        weights = torch.tensor([max_length] * (n // max_length) + ([n % max_length] if n % max_length else []))
        return ((torch.stack(outputs) * weights[:, None]).sum(0) / weights.sum())[None].numpy()
    tail = n % max_length or max_length
    return torch.cat([*outputs[:-1], outputs[-1][-tail:]])[None].numpy()


@pytest.mark.parametrize("pooled", [True, False])
def test_batched_equals_one_at_a_time(tiny_model, pooled):
    embedder = Embedder(tiny_model, batch_size=3)
    prepared = [embedder.prepare(read_items(path)[0]) for path in INPUTS]
    batched = embedder.embed_prepared(prepared, pooled)
    for p, ours in zip(prepared, batched):
        expected = naive_embedding(tiny_model, p, embedder.max_lengths[p.modality], pooled)
        np.testing.assert_allclose(ours, expected, atol=1e-5, err_msg=p.item.name)


def test_segments_follow_the_official_rule():
    for n in range(1, 70):
        for length in (1, 4, 16):
            bounds = segment_bounds(n, length)
            naive = [(i, min(i + length, n)) for i in range(0, n, length)]
            naive[-1] = (max(0, n - length), n)
            assert bounds == naive
            weights = segment_weights(n, length)
            assert len(weights) == len(bounds) and sum(weights) == n


def test_encode_texts_equals_text_files(tiny_model):
    embedder = Embedder(tiny_model)
    text = (TINY / "inputs" / "text_multi.txt").read_text(encoding="utf-8")
    vectors = embedder.encode_texts([text, "A lively Irish jig"])
    assert vectors.shape == (2, 48)
    np.testing.assert_allclose(vectors[:1], np.load(TINY / "global" / "text_multi.npy"), atol=1e-5)


def test_text_over_the_token_limit_is_an_input_error(tiny_model):
    embedder = Embedder(tiny_model, max_text_tokens=4096)
    (item,) = read_items(DATA / "bad" / "long.txt")
    with pytest.raises(InputError, match=r"long.txt: text is \d+ tokens, over the limit of 4096") as error:
        embedder.prepare(item)
    assert error.value.hint.setting == "max_text_tokens"


def test_a_text_too_long_for_any_tokenising_is_refused_before_it(tiny_model):
    """Issue 16: a 20 MB query was tokenised (about 100 s under the app's model lock) before being
    refused; now its length in characters refuses it first."""
    from clamp3.preprocess import MAX_CHARACTERS_PER_TOKEN

    embedder = Embedder(tiny_model, max_text_tokens=100)
    huge = Item(Path("query"), "query", "text", "ein Volkslied " * 2_000_000)  # 28 MB
    with pytest.raises(InputError, match=r"query: text is 28,000,000 characters, over the 6,400 that 100 tokens can hold"):
        embedder.prepare(huge)
    fits = Item(Path("query"), "query", "text", "Volkslied " * (100 * MAX_CHARACTERS_PER_TOKEN // 10))  # passes, then is counted
    with pytest.raises(InputError, match=r"text is \d+ tokens, over the limit of 100"):
        embedder.prepare(fits)


def test_features_of_the_wrong_size_are_an_input_error(tiny_model):
    item = Item(Path("x.npy"), "x", "features", np.zeros((4, 768), dtype=np.float32))
    with pytest.raises(InputError, match="audio features have 768 dimensions, the model expects 64"):
        Embedder(tiny_model).prepare(item)


def test_encode_files_reports_bad_files_and_goes_on(tiny_model):
    paths = [TINY / "inputs" / "score_0.abc", DATA / "bad" / "garbage.mid", DATA / "bad" / "book_one_bad.abc"]
    results = list(Embedder(tiny_model).encode_files(paths, progress=False, workers=2))
    good = [r.item.name for r in results if r.error is None]
    bad = [str(r.error) for r in results if r.error is not None]
    assert good == ["score_0", "book_one_bad#1", "book_one_bad#2"]
    assert len(bad) == 2 and "garbage.mid" in bad[0] and "book_one_bad.abc#9" in bad[1]


def test_each_files_results_arrive_together_and_in_order(tiny_model):
    """A book with a bad tune read between good files: its error and its good tunes come together,
    each file once, in input order (the batch runner writes and counts a file per group)."""
    from itertools import groupby

    files = [GOLDEN / "embed_tiny" / "inputs" / "midi_0.mtf", DATA / "bad" / "book_one_bad.abc", GOLDEN / "embed_tiny" / "inputs" / "score_0.abc"]
    results = list(Embedder(tiny_model).encode_files(files, progress=False))
    assert [source for source, _ in groupby(r.source for r in results)] == files
    book = [r for r in results if r.source == files[1]]
    assert sum(r.error is not None for r in book) == 1 and sum(r.embedding is not None for r in book) == 2


def test_bfloat16_is_close_to_float32(tiny_model):
    from clamp3.models import load_model

    model = load_model(TINY / "tiny_official.pth", text_model=tiny_model.config.text_model, dtype=torch.bfloat16)
    model.config.max_text_length = tiny_model.config.max_text_length
    items = [read_items(path)[0] for path in INPUTS]
    low = Embedder(model).encode_items(items)
    full = Embedder(tiny_model).encode_items(items)
    for a, b in zip(low, full):
        cosine = float((a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b))
        assert a.dtype == np.float32 and cosine > 0.99


def test_an_embedder_through_a_given_preprocess_equals_its_own(tiny_model):
    model, preprocess = load_model_and_preprocess(TINY_OFFICIAL, text_model=str(TINY_TEXT_MODEL), max_text_tokens=4096)
    assert preprocess.max_lengths["symbolic"] == model.config.symbolic.max_length
    model.config.max_text_length = preprocess.max_lengths["text"] = tiny_model.config.max_text_length
    items = [read_items(path)[0] for path in INPUTS]
    for ours, theirs in zip(Embedder(model, preprocess=preprocess).encode_items(items), Embedder(tiny_model).encode_items(items)):
        np.testing.assert_array_equal(ours, theirs)
    with pytest.raises(ValueError, match="input options go to the Preprocess"):
        Embedder(model, max_text_tokens=10, preprocess=preprocess)


def test_audio_features_are_framed_by_a_zero_frame_at_both_ends(tiny_model):
    features = np.arange(12, dtype=np.float64).reshape(3, 4)
    framed = frame_features(features)
    assert framed.dtype == torch.float32 and framed.shape == (5, 4)
    assert not framed[0].any() and not framed[-1].any()
    np.testing.assert_array_equal(framed[1:-1].numpy(), features)
    item = Item(Path("x.npy"), "x", "features", np.ones((2, 64), dtype=np.float32))
    assert torch.equal(Preprocess.from_model(tiny_model).prepare(item).steps, frame_features(item.data))


def test_the_lock_is_held_per_batch_so_a_short_query_gets_in_between(tiny_model, monkeypatch):
    """Issue 16: the model lock was held for all the batches of a request, so a long file kept a
    text query waiting for every one of them; it is now taken for one batch's forward pass."""
    import threading

    from clamp3 import embedding

    lock = threading.RLock()
    embedder = Embedder(tiny_model, batch_size=1, lock=lock)
    items = read_items(GOLDEN / "convert" / "abc_official" / sorted(p.name for p in (GOLDEN / "convert" / "abc_official").glob("*.abc"))[0])
    expected = embedder.encode_items(items * 3)
    real, calls, got_in = embedding.pad_batch, [], []

    def between_batches(*args, **kwargs):  # runs before each batch's forward pass, outside it
        calls.append(1)
        if len(calls) == 2:
            other = threading.Thread(target=lambda: got_in.append(lock.acquire(timeout=10) and (lock.release() or True)))
            other.start()
            other.join()
        return real(*args, **kwargs)

    monkeypatch.setattr(embedding, "pad_batch", between_batches)
    vectors = embedder.encode_items(items * 3)
    assert len(calls) >= 3 and got_in == [True]
    assert all(np.array_equal(a, b) for a, b in zip(vectors, expected))
