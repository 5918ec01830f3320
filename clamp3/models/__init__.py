from clamp3.models.clamp3 import CLaMP3Model, masked_mean
from clamp3.models.loading import create_model, export_official, load_m3, load_model, save_pretrained
from clamp3.models.m3 import M3Model, M3PatchEncoder
from clamp3.models.patchilizer import Patchilizer

__all__ = [
    "create_model",
    "CLaMP3Model",
    "M3Model",
    "M3PatchEncoder",
    "Patchilizer",
    "export_official",
    "load_m3",
    "load_model",
    "masked_mean",
    "save_pretrained",
]
