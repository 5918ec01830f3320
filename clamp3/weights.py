"""Strict loading of a state dict into a module: every key and shape must match.

A layer below both the models and the audio feature extractors, which load weights the same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import torch

from clamp3.errors import CheckpointError, Hint

# Buffers that checkpoints saved by older transformers carry and newer models do not register.
_IGNORABLE_KEY_RE = re.compile(r"(^|\.)(position_ids|attn\.bias|attn\.masked_bias)$")


def build_strict(build: Callable[[], torch.nn.Module], state: dict[str, torch.Tensor], path: str | Path) -> torch.nn.Module:
    """``build()`` with all of ``state`` loaded. Keys and shapes are checked against a copy built
    on the meta device first, so that sizes read from a forged checkpoint allocate nothing."""
    with torch.device("meta"):
        _checked_state(build(), state, path)
    module = build()
    load_state_strict(module, state, path)
    return module


def load_state_strict(module: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> None:
    """Load all of ``state``; stale buffers are dropped, every other mismatch is an error."""
    module.load_state_dict(_checked_state(module, state, path), strict=False)


def _checked_state(module: torch.nn.Module, state: dict[str, torch.Tensor], path: str | Path) -> dict[str, torch.Tensor]:
    expected = module.state_dict()
    state = {k: v for k, v in state.items() if k in expected or not _IGNORABLE_KEY_RE.search(k)}
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    # GPT-2's output layer shares the input embedding; a checkpoint may omit it.
    missing = [k for k in missing if not (k.endswith("lm_head.weight") and k.replace("lm_head", "transformer.wte") in state)]
    if missing or unexpected:
        raise CheckpointError(
            f"{path}: checkpoint does not match the model; missing keys {missing[:10]}"
            f"{' ...' if len(missing) > 10 else ''}, unexpected keys {unexpected[:10]}"
            f"{' ...' if len(unexpected) > 10 else ''}"
        )
    wrong = [
        f"{k} {tuple(v.shape)} vs {tuple(expected[k].shape)}" for k, v in state.items() if v.shape != expected[k].shape
    ]
    if wrong:
        raise CheckpointError(f"{path}: tensor shapes do not match the model: {wrong[:5]}")
    return state


def load_failure_reason(exc: BaseException) -> str:
    """Why ``torch.load`` failed, in one line. Its weights-only refusal spans paragraphs and
    suggests ``weights_only=False``; what it refused follows ``WeightsUnpickler error:`` or the
    first paragraph, and the first sentence of that says enough."""
    text = str(exc)
    if text.startswith("Weights only load failed"):
        body = text.split("Check the documentation")[0]
        marker = "WeightsUnpickler error:"
        detail = body.split(marker)[-1] if marker in body else body.split("\n\n", 1)[-1]
        detail = re.split(r"(?<=\.)\s+(?=[A-Z])", " ".join(detail.split()))[0]
        return f"refused by the weights-only loader: {detail or 'not a pickle of tensors'}"
    return (text.strip().splitlines() or [""])[0]


def hub_fetch(download: Callable[[], str], what: str, where: str, hint: Hint) -> Path:
    """``download()`` (a Hugging Face hub call: the cache, or the hub when it can be reached) as a
    path; any failure (offline, not cached, no such repository or file) is one CheckpointError:
    ``cannot get WHAT (ErrorType): WHERE``, with ``hint``."""
    try:
        return Path(download())
    except Exception as exc:  # huggingface_hub raises many types, network errors among them
        raise CheckpointError(f"cannot get {what} ({type(exc).__name__}): {where}", hint=hint) from exc
