"""Files and items -> model input: what a loaded model needs besides its weights.

:class:`Preprocess` holds the tokenizer, the patchilizer, the longest input of each modality, the
audio extractor (loaded on first use) and its feature cache. :func:`load_model_and_preprocess`
returns it beside the model, as open_clip's ``create_model_and_transforms`` returns its transforms;
the embedder, the trainer's data and the app all go through it.

Long inputs are cut as the official ``extract_clamp3.py`` cuts them: an input of n steps is split
into segments of the encoder's maximum length L, the last segment being the last L steps
(:func:`segment_bounds`), weighted by L for full segments and n mod L for the last
(:func:`segment_weights`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from clamp3.assets import EMBEDDED
from clamp3.errors import Hint, InputError
from clamp3.formats import AUDIO_EXTENSIONS, Item, read_many, unique_lines
from clamp3.models.loading import load_model
from clamp3.models.patchilizer import Patchilizer

if TYPE_CHECKING:
    from clamp3.features import AudioExtractor, FeatureCache
    from clamp3.models.clamp3 import CLaMP3Model

DEFAULT_MAX_TEXT_TOKENS = 4096
# No token of the text model's vocabulary is longer than this many characters, so a text longer
# than the token limit times this is refused without being tokenised.
MAX_CHARACTERS_PER_TOKEN = 64


@dataclass
class Prepared:
    """An item as the model reads it: ``steps`` holds token ids (n,), patches (n, patch_size)
    or feature frames (n, dim)."""

    item: Item
    steps: torch.Tensor

    @property
    def modality(self) -> str:
        return self.item.modality


def pad_batch(sequences: Sequence[torch.Tensor], value: int | float) -> tuple[torch.Tensor, torch.Tensor]:
    """Sequences (length, ...) -> a batch padded to the longest (batch, longest, ...) and its mask."""
    longest = max(len(s) for s in sequences)
    batch = sequences[0].new_full((len(sequences), longest, *sequences[0].shape[1:]), value)
    mask = torch.zeros(len(sequences), longest, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        batch[row, : len(sequence)] = sequence
        mask[row, : len(sequence)] = 1
    return batch, mask


def segment_bounds(length: int, max_length: int) -> list[tuple[int, int]]:
    """[(start, end)] of the segments of an input of ``length`` steps, as the official script."""
    bounds = [(start, min(start + max_length, length)) for start in range(0, length, max_length)]
    bounds[-1] = (max(0, length - max_length), length)
    return bounds


def segment_weights(length: int, max_length: int) -> list[int]:
    full, rest = divmod(length, max_length)
    return [max_length] * full + ([rest] if rest else [])


def frame_features(features: np.ndarray) -> torch.Tensor:
    """Audio features (frames, dim) -> the audio encoder's input (frames + 2, dim), float32."""
    frames = torch.from_numpy(np.ascontiguousarray(features, dtype=np.float32))
    zero = torch.zeros(1, frames.shape[1])
    # A zero frame at both ends stands for the start and end of the recording.
    return torch.cat([zero, frames, zero])


class Preprocess:
    """Items and files -> :class:`Prepared` model input for one model.

    ``max_lengths`` is the longest segment of each modality (``text``, ``symbolic``, ``audio``);
    ``max_text_tokens`` the longest text accepted at all (longer texts are refused, not cut).
    ``tokenizer_loader`` stands in for ``tokenizer``: called when a text first needs one.
    ``audio_extractor`` replaces the one ``extractor_name`` names; ``mert`` a local copy of MERT.
    """

    def __init__(
        self,
        tokenizer,
        patch_size: int,
        max_lengths: dict[str, int],
        audio_dim: int,
        extractor_name: str,
        max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS,
        mert: str | None = None,
        feature_cache: FeatureCache | None = None,
        audio_extractor: AudioExtractor | None = None,
        device: str | torch.device = "cpu",
        tokenizer_loader: Callable[[], Any] | None = None,
    ):
        self._tokenizer = tokenizer
        self._tokenizer_loader = tokenizer_loader
        self.patchilizer = Patchilizer(patch_size)
        self.max_lengths = dict(max_lengths)
        self.audio_dim = audio_dim
        self.extractor_name = extractor_name
        self.max_text_tokens = max_text_tokens
        self.mert = mert
        self.feature_cache = feature_cache
        self._extractor = audio_extractor
        self.device = device

    @classmethod
    def from_model(
        cls,
        model: CLaMP3Model,
        max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS,
        mert: str | None = None,
        feature_cache: FeatureCache | None = None,
        audio_extractor: AudioExtractor | None = None,
    ) -> Preprocess:
        """The preprocessing ``model``'s config and tokenizer name; the extractor runs on its device."""
        if not model.has_tokenizer:
            raise ValueError("model has no tokenizer; load it with clamp3.load_model")
        config = model.config
        return cls(
            None,
            config.patch_size,
            {"text": config.max_text_length, "symbolic": config.symbolic.max_length, "audio": config.audio.max_length},
            config.audio.hidden_size,
            config.audio_extractor,
            max_text_tokens=max_text_tokens,
            mert=mert,
            feature_cache=feature_cache,
            audio_extractor=audio_extractor,
            device=model.device,
            tokenizer_loader=lambda: model.tokenizer,
        )

    @property
    def tokenizer(self):
        if self._tokenizer is None and self._tokenizer_loader is not None:
            self._tokenizer = self._tokenizer_loader()
        return self._tokenizer

    def __getstate__(self) -> dict:
        # pickled (a DataLoader's spawned workers) with its tokenizer, not the function that loads it
        return {**self.__dict__, "_tokenizer": self.tokenizer, "_tokenizer_loader": None}

    @property
    def audio_extractor(self) -> AudioExtractor:
        """The extractor the model's preprocessing names (loaded on first use)."""
        if self._extractor is None:
            from clamp3.features import load_extractor

            self._extractor = load_extractor(self.extractor_name, mert=self.mert, device=self.device)
        return self._extractor

    def pad_value(self, modality: str) -> int:
        return self.tokenizer.pad_token_id if modality == "text" else 0

    def prepare(self, item: Item) -> Prepared:
        """Tokenise, patchilise or frame one item; a bad one raises InputError."""
        if item.kind == "waveform":
            item = Item(item.source, item.name, "features", self.audio_extractor.extract(item.data))
        if item.modality == "text":
            budget = self.max_text_tokens * MAX_CHARACTERS_PER_TOKEN
            if len(item.data) > budget:  # before tokenising: a 20 MB text took minutes to be refused
                raise InputError(
                    item.source,
                    f"text is {len(item.data):,} characters, over the {budget:,} that {self.max_text_tokens} tokens can hold",
                    hint=Hint("raise the limit", "max_text_tokens"),
                )
            joined = self.tokenizer.sep_token.join(unique_lines(item.data))
            ids = self.tokenizer(joined, add_special_tokens=True, verbose=False)["input_ids"]
            if len(ids) > self.max_text_tokens:
                raise InputError(
                    item.source,
                    f"text is {len(ids)} tokens, over the limit of {self.max_text_tokens}",
                    hint=Hint("raise the limit", "max_text_tokens"),
                )
            return Prepared(item, torch.tensor(ids, dtype=torch.long))
        if item.modality == "symbolic":
            return Prepared(item, torch.from_numpy(self.patchilizer.encode(item.data)))
        if item.data.shape[1] != self.audio_dim:
            raise InputError(item.source, f"audio features have {item.data.shape[1]} dimensions, the model expects {self.audio_dim}")
        return Prepared(item, frame_features(item.data))

    def read(self, paths: Sequence[Path], workers: int = 0) -> Iterator[tuple[Path, list[Item], list[InputError]]]:
        """:func:`clamp3.formats.read_many`, with audio files turned into features through the
        extractor and its cache (a file extracted before is not decoded again)."""
        audio = [p for p in paths if p.suffix.lower() in AUDIO_EXTENSIONS]
        if audio:
            from clamp3.features import extract_files

            for path, features, error in extract_files(audio, self.audio_extractor, self.feature_cache, workers):
                yield path, ([] if error else [Item(path, path.stem, "features", features)]), [error] if error else []
        yield from read_many([p for p in paths if p.suffix.lower() not in AUDIO_EXTENSIONS], workers)


def load_model_and_preprocess(
    name_or_path: str | Path = EMBEDDED,
    text_model: str | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
    max_text_tokens: int = DEFAULT_MAX_TEXT_TOKENS,
    mert: str | None = None,
    feature_cache: FeatureCache | None = None,
) -> tuple[CLaMP3Model, Preprocess]:
    """:func:`clamp3.load_model` and the :class:`Preprocess` that turns files into its input."""
    model = load_model(name_or_path, text_model=text_model, device=device, dtype=dtype)
    return model, Preprocess.from_model(model, max_text_tokens=max_text_tokens, mert=mert, feature_cache=feature_cache)
