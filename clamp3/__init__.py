"""CLaMP 3: one embedding space for multilingual text, sheet music, MIDI and audio.

The public names are imported on first use (PEP 562): ``import clamp3.formats`` or the CLI's
``--help`` then never pays for torch and transformers (seconds of imports), and neither does a
forkserver that preloads the readers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from clamp3.config import CLaMP3Config, EncoderConfig
    from clamp3.embedding import Embedder
    from clamp3.errors import CheckpointError, Clamp3Error, InputError
    from clamp3.formats import SUPPORTED_EXTENSIONS, Item, read_items
    from clamp3.library import Library
    from clamp3.models import CLaMP3Model, load_m3, load_model, save_pretrained
    from clamp3.preprocess import Preprocess, load_model_and_preprocess

__version__ = "0.1.0"

# Public name -> the module that defines it.
_MODULE_OF = {
    "CLaMP3Config": "clamp3.config",
    "EncoderConfig": "clamp3.config",
    "Embedder": "clamp3.embedding",
    "CheckpointError": "clamp3.errors",
    "Clamp3Error": "clamp3.errors",
    "InputError": "clamp3.errors",
    "SUPPORTED_EXTENSIONS": "clamp3.formats",
    "Item": "clamp3.formats",
    "read_items": "clamp3.formats",
    "Library": "clamp3.library",
    "CLaMP3Model": "clamp3.models",
    "load_m3": "clamp3.models",
    "load_model": "clamp3.models",
    "save_pretrained": "clamp3.models",
    "Preprocess": "clamp3.preprocess",
    "load_model_and_preprocess": "clamp3.preprocess",
}

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "CLaMP3Config",
    "CLaMP3Model",
    "CheckpointError",
    "Clamp3Error",
    "Embedder",
    "EncoderConfig",
    "InputError",
    "Item",
    "Library",
    "Preprocess",
    "load_m3",
    "load_model",
    "load_model_and_preprocess",
    "read_items",
    "save_pretrained",
]


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'clamp3' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once: later lookups don't come back here
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
