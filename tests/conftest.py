"""Shared fixtures: tiny real weights built from files under tests/data, no network."""

from __future__ import annotations

import gc
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # nothing in the suite may reach a hub
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ["CLAMP3_CACHE"] = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"clamp3-test-cache-{os.getpid()}")

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
TINY_TEXT_MODEL = DATA / "tiny-xlmr"
TINY_OFFICIAL = GOLDEN / "embed_tiny" / "tiny_official.pth"
# The preprocessing the tiny official checkpoint was made with (not inferable from tensors).
TINY_MAX_TEXT_LENGTH = 16


@pytest.fixture(autouse=True)
def _collector_as_found():
    """A CLI command run in the test process freezes what the process holds (clamp3.memory.keep_loaded),
    as its own process would; the next test gets the collector as it was."""
    thresholds = gc.get_threshold()
    yield
    if gc.get_freeze_count():
        gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.fixture(scope="session")
def tiny_model():
    """The tiny official-format checkpoint built by the official code, loaded by ours."""
    from clamp3.models import load_model

    model = load_model(TINY_OFFICIAL, text_model=str(TINY_TEXT_MODEL))
    model.config.max_text_length = TINY_MAX_TEXT_LENGTH
    return model


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_model, tmp_path_factory):
    """The same weights saved in the project's own format."""
    from clamp3.models import save_pretrained

    return save_pretrained(tiny_model, tmp_path_factory.mktemp("tiny") / "model")


@pytest.fixture(scope="session")
def demo_items() -> str:
    """How many items the shipped demo library holds, as the app and the CLI write it ("12,762")."""
    from clamp3.assets import library_dir
    from clamp3.library import Library

    library = Library(library_dir(unpack=False), read_only=True)
    try:
        return f"{library.info()['items']:,}"
    finally:
        library.close()


def pytest_addoption(parser):
    parser.addoption(
        "--fuzz-examples",
        type=int,
        default=None,
        help="random inputs per reader in tests/test_fuzz.py (default: a short fixed set)",
    )


@pytest.fixture
def embedder(tiny_model):
    from clamp3.embedding import Embedder

    return Embedder(tiny_model)


@pytest.fixture
def music(tmp_path):
    """A folder of the library tests: three scores (a book of 3 tunes among them) and 6 MIDI files."""
    import shutil

    folder = tmp_path / "music"
    (folder / "midi").mkdir(parents=True)
    for name in ("bwv10.7.mxl", "bwv277.krn", "essen_book.abc"):
        shutil.copy(DATA / "scores" / name, folder / name)
    for midi in sorted((GOLDEN / "convert" / "midi").glob("*.mid"))[:6]:
        shutil.copy(midi, folder / "midi" / midi.name)
    return folder
