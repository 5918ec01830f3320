"""Strict loading of a state dict into a module: every key and shape must match.

A layer below both the models and the audio feature extractors, which load weights the same way.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from clamp3.errors import CheckpointError, Hint

# Buffers that checkpoints saved by older transformers carry and newer models do not register.
_IGNORABLE_KEY_RE = re.compile(r"(^|\.)(position_ids|attn\.bias|attn\.masked_bias)$")


ALIGNMENT = 64  # bytes: what torch's allocator gives a CPU tensor


def build_strict(build: Callable[[], torch.nn.Module], state: dict[str, torch.Tensor], path: str | Path) -> torch.nn.Module:
    """``build()`` holding the tensors of ``state`` (no copies but of tensors not on a 64-byte boundary;
    cast where the model's dtype differs).

    Keys and shapes are checked against a copy built on the meta device first, so that sizes read
    from a forged checkpoint allocate nothing. The module is then built again with its parameters
    on the meta device and ``state`` assigned to them: no memory is filled with a random
    initialisation that the weights replace, nor copied into (building the embedded default on
    the CPU took 1.2 s of CPU, both builds here 0.15 s), while buffers that no checkpoint holds
    (position ids, character offsets) keep the values their modules compute.
    """
    with torch.device("meta"), _MetaNormalSkipped():
        state = _checked_state(build(), state, path)
    with _parameters_on_meta(), _MetaNormalSkipped():
        module = build()
    expected = module.state_dict()
    state = {k: v.to(expected[k].dtype) for k, v in state.items()}
    # A tensor mapped from a safetensors file starts wherever the file's header ends (8-byte aligned):
    # matrix kernels then take other vector paths than on allocated memory (64-byte aligned), and the
    # same weights gave results 1 ulp apart by how they were loaded. Such tensors are copied.
    state = {k: v if v.data_ptr() % ALIGNMENT == 0 else v.clone() for k, v in state.items()}
    # Tied parameters (GPT-2's output layer is its input embedding) are one Parameter under two
    # names; assignment gives each name its own tensor, so the ties are made again after it.
    tied: dict[int, list[str]] = {}
    for name, parameter in module.named_parameters(remove_duplicate=False):
        tied.setdefault(id(parameter), []).append(name)
    module.load_state_dict(state, strict=False, assign=True)
    for first, *others in tied.values():
        for name in others:
            owner, _, attribute = name.rpartition(".")
            setattr(module.get_submodule(owner), attribute, module.get_parameter(first))
    left = [name for name, tensor in (*module.named_parameters(), *module.named_buffers()) if tensor.is_meta]
    if left:  # a parameter that no key fills and no tie covers: a gap in _checked_state
        raise CheckpointError(f"{path}: no weights for {left[:5]}")
    return module


class _MetaNormalSkipped(torch.overrides.TorchFunctionMode):
    """``normal_`` (the tensor method and ``nn.init``'s) on a meta tensor returns it unchanged (in
    this block, in this thread).

    A meta tensor holds no values, so nothing is lost; but torch fills it through a Python
    reference kernel whose first use imports ``torch._dynamo`` and, through it,
    ``torch.distributed``: about 1 s of CPU that loading a model would pay for nothing.
    """

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.normal_, torch.nn.init.normal_):
            tensor = args[0] if args else kwargs.get("tensor", kwargs.get("self"))
            if tensor.is_meta:
                return tensor
        return func(*args, **kwargs)


@contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Parameters registered in this block, by this thread, are moved to the meta device."""
    thread = threading.get_ident()

    def to_meta(module: torch.nn.Module, name: str, parameter: torch.nn.Parameter) -> torch.nn.Parameter | None:
        if threading.get_ident() != thread or parameter.is_meta:
            return None
        return torch.nn.Parameter(parameter.to("meta"), requires_grad=parameter.requires_grad)

    handle = torch.nn.modules.module.register_module_parameter_registration_hook(to_meta)
    try:
        yield
    finally:
        handle.remove()


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
