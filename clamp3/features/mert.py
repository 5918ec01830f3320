"""MERT v1 features as the official ``extract_mert.py`` makes them, without remote code.

MERT v1 is HuBERT with a layer-normed feature projection (and, in v0 only, a CQT branch), so its
``config.json`` and weights map onto transformers' ``HubertModel``. Per window: the waveform
normalised over the whole clip as Wav2Vec2's feature extractor does, every hidden state (the
embedding output and each layer) averaged over time, then averaged over layers.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import torch

from clamp3.errors import CheckpointError, Hint
from clamp3.features.extractors import window_bounds
from clamp3.formats.audio import SAMPLE_RATE
from clamp3.weights import hub_fetch, load_failure_reason, load_state_strict

logger = logging.getLogger(__name__)

_HUBERT_KEYS = (
    "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
    "layer_norm_eps", "feat_extract_norm", "feat_extract_activation", "conv_dim", "conv_stride",
    "conv_kernel", "conv_bias", "num_conv_pos_embeddings", "num_conv_pos_embedding_groups",
    "do_stable_layer_norm", "feat_proj_layer_norm", "mask_time_prob",
)
_WEIGHT_NORM = {  # the two layouts of the positional convolution's weight norm
    "weight_g": "parametrizations.weight.original0",
    "weight_v": "parametrizations.weight.original1",
}
MIN_SAMPLES = 400  # the receptive field of one frame of the convolutional front end


def hubert_config(mert_config: dict):
    from transformers import HubertConfig

    if mert_config.get("feature_extractor_cqt"):
        raise CheckpointError("MERT with a CQT branch (MERT v0) is not supported; use MERT v1")
    if mert_config.get("deepnorm"):
        raise CheckpointError("MERT with deepnorm is not supported; use MERT v1")
    config = HubertConfig(**{key: mert_config[key] for key in _HUBERT_KEYS if key in mert_config})
    config._attn_implementation = "sdpa"
    return config


def _resolve(source: str) -> Path:
    path = Path(source).expanduser()
    if path.is_dir():
        return path
    from huggingface_hub import snapshot_download

    return hub_fetch(lambda: snapshot_download(source, allow_patterns=["config.json", "*.safetensors", "*.bin"]),
                     f"the MERT model '{source}'", "not a local folder and not in the Hugging Face cache",
                     Hint("download it and give its local folder", "mert"))


def _read_weights(folder: Path) -> dict[str, torch.Tensor]:
    safetensors = sorted(folder.glob("*.safetensors"))
    if safetensors:
        from safetensors.torch import load_file

        state: dict[str, torch.Tensor] = {}
        for file in safetensors:
            try:
                state.update(load_file(file))
            except Exception as exc:  # safetensors raises its own error types for damaged files
                raise CheckpointError(f"{file}: not a readable safetensors file ({type(exc).__name__}: {load_failure_reason(exc)})") from exc
        return state
    bins = sorted(folder.glob("*.bin"))
    if not bins:
        raise CheckpointError(f"{folder}: no model.safetensors or pytorch_model.bin")
    state = {}
    for file in bins:
        try:
            state.update(torch.load(file, map_location="cpu", weights_only=True))
        except Exception as exc:  # torch reports a refused or damaged pickle in many types, over many lines
            raise CheckpointError(f"{file}: not a loadable PyTorch checkpoint ({type(exc).__name__}: {load_failure_reason(exc)})") from exc
    return state


def _match_layout(state: dict[str, torch.Tensor], expected: set[str]) -> dict[str, torch.Tensor]:
    """Strip a wrapper prefix and convert the weight-norm layout to the one ``expected`` uses."""
    renamed = {}
    for key, value in state.items():
        for prefix in ("music_hubert.", "hubert.", "mert."):
            if key.startswith(prefix):
                key = key[len(prefix) :]
                break
        if key not in expected:
            for old, new in _WEIGHT_NORM.items():
                for a, b in ((old, new), (new, old)):
                    if key.endswith(a) and key[: -len(a)] + b in expected:
                        key = key[: -len(a)] + b
        renamed[key] = value
    return renamed


class MertExtractor:
    """A MERT v1 model; ``extract`` gives (windows, hidden) features."""

    sample_rate = SAMPLE_RATE

    def __init__(self, model, name: str, batch_size: int = 8):
        self.model = model.eval()
        self.name = name
        self.dim = model.config.hidden_size
        self.batch_size = batch_size

    @classmethod
    def load(cls, source: str, device: str = "cpu", batch_size: int = 8, dtype: torch.dtype = torch.float32):
        from transformers import HubertModel

        folder = _resolve(source)
        try:
            mert_config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CheckpointError(f"{folder}: no readable config.json ({exc})") from exc
        if not isinstance(mert_config, dict):
            raise CheckpointError(f"{folder / 'config.json'}: not a MERT config (expected a JSON object)")
        try:
            model = HubertModel(hubert_config(mert_config))
        except Exception as exc:  # transformers validates a config with errors of its own (and TypeError, ValueError, ...)
            raise CheckpointError(f"{folder / 'config.json'}: not a usable MERT v1 config ({type(exc).__name__}: {load_failure_reason(exc)})") from exc
        state = _match_layout(_read_weights(folder), set(model.state_dict()))
        if "masked_spec_embed" not in state:  # only used for masking in training
            state["masked_spec_embed"] = model.masked_spec_embed.detach().clone()
        load_state_strict(model, state, folder)
        name = source if not Path(source).expanduser().is_dir() else mert_config.get("_name_or_path") or folder.name
        return cls(model.to(device=device, dtype=dtype), str(name), batch_size)

    @staticmethod
    def clip_statistics(waveform: np.ndarray) -> tuple[float, float]:
        """Mean and scale of the whole clip, as Wav2Vec2FeatureExtractor(do_normalize) uses them."""
        return float(waveform.mean(dtype=np.float64)), float(np.sqrt(waveform.var(dtype=np.float64) + 1e-7))

    @torch.inference_mode()
    def _windows(self, batch: torch.Tensor) -> torch.Tensor:
        """(windows, samples) -> (windows, hidden): time mean per hidden state, then layer mean."""
        device = self.model.device
        states = self.model(batch.to(device=device, dtype=self.model.dtype), output_hidden_states=True).hidden_states
        return torch.stack([state.float().mean(dim=1) for state in states]).mean(dim=0).cpu()

    def extract(self, waveform: np.ndarray) -> np.ndarray:
        """(samples,) -> (windows, hidden). Windows are normalised one batch at a time, so a long
        recording is never copied whole."""
        mean, scale = self.clip_statistics(waveform)
        if len(waveform) < MIN_SAMPLES:  # shorter than one frame: pad with silence
            waveform = np.pad(waveform, (0, MIN_SAMPLES - len(waveform)), constant_values=mean)
        bounds = window_bounds(len(waveform), self.sample_rate)
        full = [b for b in bounds if b[1] - b[0] == bounds[0][1] - bounds[0][0]]
        # Windows of equal length run together; the shorter last one runs alone.
        groups = [full[i : i + self.batch_size] for i in range(0, len(full), self.batch_size)]
        groups += [[b] for b in bounds[len(full) :]]
        vectors = []
        for group in groups:
            batch = np.stack([(waveform[a:b] - mean) / scale for a, b in group]).astype(np.float32)
            vectors.append(self._windows(torch.from_numpy(batch)))
        return torch.cat(vectors).numpy()
