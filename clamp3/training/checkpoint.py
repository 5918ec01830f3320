"""A training checkpoint: model, optimiser, scheduler, scaler, every rank's random states and the
position in the data, written whole or not at all, read back with ``weights_only=True``."""

from __future__ import annotations

import json
import logging
import random
from pathlib import Path

import numpy as np
import torch

from clamp3.errors import CheckpointError
from clamp3.io import atomic_write
from clamp3.weights import load_failure_reason

logger = logging.getLogger(__name__)

# numpy's RNG state as checkpoints written before plain RNG states hold it: rebuilding an array
# runs no code, so these stay within what ``weights_only`` allows.
_NUMPY_ARRAY_GLOBALS = [np.zeros(0).__reduce__()[0], np.ndarray, np.dtype, type(np.dtype(np.uint32))]


def rng_states() -> dict:
    """Every RNG state as tensors and plain types, so that ``torch.load(weights_only=True)`` reads it."""
    name, keys, position, has_gauss, cached_gaussian = np.random.get_state()
    return {
        "python": random.getstate(), "numpy": (name, keys.tolist(), position, has_gauss, cached_gaussian),
        "torch": torch.get_rng_state(), "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_states(states: dict) -> None:
    """Restore what :func:`rng_states` returned (or numpy's state as an array, as older checkpoints hold it)."""
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def rank_states(saved: dict, rank: int, world: int, path: Path) -> dict:
    """This rank's ``{"rng": ..., "data_rng": ...}`` from a checkpoint (checkpoints before
    ``rank_rng`` hold one process's as ``rng`` and ``data_rng``); with another number of ranks
    than wrote it, rank 0's."""
    ranks = saved.get("rank_rng") or [{"rng": saved["rng"], "data_rng": saved["data_rng"]}]
    if len(ranks) != world and world > 1:
        logger.warning("%s was written by %d process(es) and is resumed by %d: the ranks take rank 0's random states",
                       path, len(ranks), world)
    return ranks[rank] if len(ranks) == world else ranks[0]


def write_checkpoint(path: Path, blob: dict) -> None:
    """Written to a temporary name and renamed: a killed run leaves the previous checkpoint whole."""
    atomic_write(path, lambda handle: torch.save(blob, handle))


def read_checkpoint(path: Path) -> dict:
    """A training checkpoint, loaded with ``weights_only=True``; one that cannot be read is an error,
    never a fresh start (it is written to a temporary name and renamed, so a killed run leaves the
    previous one whole: a damaged one was damaged outside training)."""
    try:
        with torch.serialization.safe_globals(_NUMPY_ARRAY_GLOBALS):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch reports damage as RuntimeError, UnpicklingError, EOFError, ...
        reason = load_failure_reason(exc)
        raise CheckpointError(
            f"{path}: not a readable training checkpoint ({type(exc).__name__}: {reason}); move it away to train from the start"
        ) from exc


def truncate_metrics(path: Path, step: int) -> None:
    """Drop the events logged after the checkpoint of ``step``: a resumed run logs them again."""
    if not path.exists():
        return
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    keep = None
    for number, line in enumerate(lines):
        try:
            event = json.loads(line)
        except ValueError:  # a line cut short by the kill
            continue
        if event.get("event") == "step" and event.get("step") == step:
            keep = number + 1
    if keep is not None and keep < len(lines):
        atomic_write(path, lambda handle: handle.write("".join(lines[:keep]).encode("utf-8")))
