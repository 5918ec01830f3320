"""CLaMP 3: one embedding space for multilingual text, sheet music, MIDI and audio."""

from clamp3.config import CLaMP3Config, EncoderConfig
from clamp3.embedding import Embedder
from clamp3.errors import CheckpointError, Clamp3Error, InputError
from clamp3.formats import SUPPORTED_EXTENSIONS, Item, read_items
from clamp3.library import Library
from clamp3.models import CLaMP3Model, load_m3, load_model, save_pretrained

__version__ = "0.1.0"

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
    "load_m3",
    "load_model",
    "read_items",
    "save_pretrained",
]
