"""CLaMP 3: one embedding space for multilingual text, sheet music, MIDI and audio."""

from clamp3.config import CLaMP3Config, EncoderConfig
from clamp3.embedding import Embedder
from clamp3.errors import CheckpointError, Clamp3Error, InputError
from clamp3.formats import SUPPORTED_EXTENSIONS, Item, read_items
from clamp3.library import Library
from clamp3.models import CLaMP3Model, load_m3, load_model, save_pretrained
from clamp3.preprocess import Preprocess, load_model_and_preprocess

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
    "Preprocess",
    "load_m3",
    "load_model",
    "load_model_and_preprocess",
    "read_items",
    "save_pretrained",
]
