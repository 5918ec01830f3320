"""The BERT encoder of every tower, written here: transformers' ``BertModel`` and ``XLMRobertaModel``
as encoders, with the same parameter names and the same arithmetic as their SDPA path.

Why not transformers' own: ``transformers.models.bert.modeling_bert`` imports its modeling utilities
at module level, and they import ``torch._dynamo``, ``torch.distributed.tensor`` and
``scipy.optimize``: 2.5 s of CPU on 2 cores, more than the whole load of the embedded default.
Nor its configurations: importing transformers at all costs about a second of CPU (its package
scans every model folder), so a config this module covers is read into :class:`BertSettings`
(:func:`encoder_config`); one it does not cover (a decoder, other activations, chunked
feed-forward, another model type, a key it does not know) is transformers' ``AutoConfig``, and its
model is built by transformers, imported then (:func:`build_encoder`).

The outputs equal transformers' (float32: to the bit on the CPU in the tests' shapes; see
tests/test_bert.py): the same operations in the same order (embeddings summed word + token type
+ position, a boolean padding mask of shape (batch, 1, query, key) or none when nothing is
padded, ``scaled_dot_product_attention`` with scale head_dim ** -0.5, residual sums inside the
layer norms), and dropout as ``nn.Dropout`` modules with the config's probabilities, so that a
trainer can set ``module.p`` on each.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any, Union

import torch
import torch.nn.functional as F
from torch import nn

from clamp3.config import EncoderConfig

if TYPE_CHECKING:
    from transformers import PretrainedConfig

ACTIVATIONS = {"gelu": F.gelu, "relu": F.relu}
MODEL_TYPES = ("bert", "xlm-roberta")  # XLM-R: BERT with RoBERTa's position ids
# Keys of a saved BERT or XLM-R config that change nothing the encoder computes.
INERT_KEYS = frozenset({
    "model_type", "architectures", "transformers_version", "_name_or_path", "dtype", "torch_dtype", "bos_token_id",
    "eos_token_id", "classifier_dropout", "use_cache", "tie_word_embeddings", "gradient_checkpointing", "output_past",
    "tokenizer_class", "id2label", "label2id", "problem_type", "return_dict", "output_hidden_states", "output_attentions",
})  # fmt: skip


@dataclass
class BertSettings:
    """What :class:`BertEncoder` reads of a config, with transformers' ``BertConfig`` defaults
    (``XLMRobertaConfig``'s differ in ``pad_token_id`` only, 1)."""

    model_type: str = "bert"
    vocab_size: int = 30522
    hidden_size: int = 768
    num_hidden_layers: int = 12
    num_attention_heads: int = 12
    intermediate_size: int = 3072
    hidden_act: str = "gelu"
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    initializer_range: float = 0.02
    layer_norm_eps: float = 1e-12
    pad_token_id: int = 0
    position_embedding_type: str = "absolute"
    is_decoder: bool = False
    add_cross_attention: bool = False
    chunk_size_feed_forward: int = 0


Config = Union[BertSettings, "PretrainedConfig"]


def tower_settings(config: EncoderConfig) -> BertSettings:
    """The BERT of a music tower (no vocabulary: it reads embeddings)."""
    return BertSettings(
        vocab_size=1,
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_layers,
        num_attention_heads=config.num_heads,
        intermediate_size=config.intermediate_size,
        max_position_embeddings=config.max_length,
        type_vocab_size=config.type_vocab_size,
        layer_norm_eps=config.layer_norm_eps,
    )


def encoder_config(values: dict[str, Any]) -> Config:
    """A text tower's config from its saved fields (``model_type`` among them): :class:`BertSettings`
    where :class:`BertEncoder` computes what transformers would, else transformers' config."""
    known = {f.name for f in fields(BertSettings)}
    model_type = values.get("model_type")
    if model_type in MODEL_TYPES and set(values) <= known | INERT_KEYS:
        defaults = {"pad_token_id": 1} if model_type == "xlm-roberta" else {}
        settings = BertSettings(**{**defaults, **{k: v for k, v in values.items() if k in known}})
        if supports(settings):
            return settings
    from transformers import AutoConfig

    return AutoConfig.for_model(model_type, **{k: v for k, v in values.items() if k != "model_type"})


def supports(config: Config) -> bool:
    """Whether :class:`BertEncoder` computes what transformers' model for ``config`` computes."""
    return (
        config.model_type in MODEL_TYPES
        and not config.is_decoder
        and not config.add_cross_attention
        and not config.chunk_size_feed_forward
        and getattr(config, "position_embedding_type", "absolute") == "absolute"
        and config.hidden_act in ACTIVATIONS
        and config.hidden_size % config.num_attention_heads == 0
    )


def build_encoder(config: Config, add_pooling_layer: bool = True) -> nn.Module:
    """:class:`BertEncoder` for ``config`` where it :func:`supports` it, else transformers' model."""
    if supports(config):
        return BertEncoder(config, add_pooling_layer=add_pooling_layer)
    from transformers import AutoModel

    config._attn_implementation = "sdpa"
    # not every model type takes add_pooling_layer; those that do default to a pooler
    return AutoModel.from_config(config, **({} if add_pooling_layer else {"add_pooling_layer": False}))


@dataclass
class EncoderOutput:
    last_hidden_state: torch.Tensor  # (batch, length, hidden)
    pooler_output: torch.Tensor | None = None  # (batch, hidden), tanh(dense(first step)); None without a pooler


class Embeddings(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        # XLM-R numbers positions from padding_idx + 1 and gives padding the padding position
        self.position_offset = config.pad_token_id if config.model_type == "xlm-roberta" else None
        self.word_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, padding_idx=config.pad_token_id)
        self.position_embeddings = nn.Embedding(
            config.max_position_embeddings, config.hidden_size, padding_idx=self.position_offset
        )
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def position_ids(self, input_ids: torch.Tensor | None, length: int, device: torch.device) -> torch.Tensor:
        """(batch or 1, length) positions: BERT counts from 0; XLM-R counts the tokens that are not
        padding from padding_idx + 1 (every step when only embeddings are given)."""
        if self.position_offset is None:
            return torch.arange(length, device=device)[None]
        if input_ids is None:
            return torch.arange(self.position_offset + 1, length + self.position_offset + 1, device=device)[None]
        real = input_ids.ne(self.position_offset).int()
        return (torch.cumsum(real, dim=1).type_as(real) * real).long() + self.position_offset

    def forward(self, input_ids: torch.Tensor | None, inputs_embeds: torch.Tensor | None,
                token_type_ids: torch.Tensor | None, position_ids: torch.Tensor | None) -> torch.Tensor:
        if inputs_embeds is None:
            inputs_embeds = self.word_embeddings(input_ids)  # (batch, length, hidden)
        if position_ids is None:
            position_ids = self.position_ids(input_ids, inputs_embeds.shape[1], inputs_embeds.device)
        if token_type_ids is None:  # all type 0: its one row, broadcast, adds what the (batch, length) lookup would
            token_types = self.token_type_embeddings.weight[0]
        else:
            token_types = self.token_type_embeddings(token_type_ids)
        embeddings = inputs_embeds + token_types
        embeddings = embeddings + self.position_embeddings(position_ids)
        return self.dropout(self.LayerNorm(embeddings))


class SelfAttention(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.head_size = config.hidden_size // config.num_attention_heads
        self.query = nn.Linear(config.hidden_size, config.hidden_size)
        self.key = nn.Linear(config.hidden_size, config.hidden_size)
        self.value = nn.Linear(config.hidden_size, config.hidden_size)
        self.dropout = nn.Dropout(config.attention_probs_dropout_prob)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        batch, length, _ = hidden.shape
        heads = (batch, length, -1, self.head_size)
        query = self.query(hidden).view(heads).transpose(1, 2)  # (batch, heads, length, head_size)
        key = self.key(hidden).view(heads).transpose(1, 2)
        value = self.value(hidden).view(heads).transpose(1, 2)
        attended = F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, dropout_p=self.dropout.p if self.training else 0.0,
            scale=self.head_size**-0.5,
        )
        return attended.transpose(1, 2).contiguous().reshape(batch, length, -1)  # (batch, length, hidden)


class ResidualNorm(nn.Module):
    """dense -> dropout -> LayerNorm(x + residual): BERT's ``attention.output`` and ``output``."""

    def __init__(self, config: Config, in_features: int):
        super().__init__()
        self.dense = nn.Linear(in_features, config.hidden_size)
        self.LayerNorm = nn.LayerNorm(config.hidden_size, eps=config.layer_norm_eps)
        self.dropout = nn.Dropout(config.hidden_dropout_prob)

    def forward(self, hidden: torch.Tensor, residual: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(self.dropout(self.dense(hidden)) + residual)


class Attention(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.self = SelfAttention(config)
        self.output = ResidualNorm(config, config.hidden_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        return self.output(self.self(hidden, mask), hidden)


class Intermediate(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.intermediate_size)
        self.activation = ACTIVATIONS[config.hidden_act]

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(hidden))  # (batch, length, intermediate)


class Layer(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.attention = Attention(config)
        self.intermediate = Intermediate(config)
        self.output = ResidualNorm(config, config.intermediate_size)

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        attended = self.attention(hidden, mask)
        return self.output(self.intermediate(attended), attended)


class Encoder(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.layer = nn.ModuleList(Layer(config) for _ in range(config.num_hidden_layers))

    def forward(self, hidden: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
        for layer in self.layer:
            hidden = layer(hidden, mask)
        return hidden


class Pooler(nn.Module):
    def __init__(self, config: Config):
        super().__init__()
        self.dense = nn.Linear(config.hidden_size, config.hidden_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))


class BertEncoder(nn.Module):
    """A BERT (or XLM-R) encoder whose state dict is that of transformers' ``BertModel`` (or
    ``XLMRobertaModel``) for the same config, less the non-persistent position and token-type buffers."""

    def __init__(self, config: Config, add_pooling_layer: bool = True):
        super().__init__()
        if not supports(config):
            raise ValueError(
                f"BertEncoder does not cover this {config.model_type} config (model types {', '.join(MODEL_TYPES)}, "
                f"encoder only, absolute positions, activation one of {', '.join(ACTIVATIONS)}, no feed-forward "
                f"chunks; got hidden_act={config.hidden_act!r}); build it with build_encoder"
            )
        self.config = config
        self.embeddings = Embeddings(config)
        self.encoder = Encoder(config)
        self.pooler = Pooler(config) if add_pooling_layer else None
        self.apply(self._init_weights)

    def _init_weights(self, module: nn.Module) -> None:
        """transformers' initialisation: normal(0, initializer_range) weights, zero biases and
        padding rows, unit layer norms (a no-op on the meta device, where loading builds)."""
        std = self.config.initializer_range
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
            if module.padding_idx is not None:
                with torch.no_grad():
                    module.weight[module.padding_idx].zero_()
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        position_ids: torch.Tensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
    ) -> EncoderOutput:
        """``input_ids`` (batch, length) or ``inputs_embeds`` (batch, length, hidden); ``attention_mask``
        (batch, length), 1 or True where a step is real."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("give exactly one of input_ids and inputs_embeds")
        hidden = self.embeddings(input_ids, inputs_embeds, token_type_ids, position_ids)  # (batch, length, hidden)
        mask = None
        if attention_mask is not None:
            attention_mask = attention_mask.to(device=hidden.device, dtype=torch.bool)
            if not attention_mask.all():  # nothing padded: no mask, as transformers passes none then
                batch, length = attention_mask.shape
                mask = attention_mask[:, None, None, :].expand(batch, 1, hidden.shape[1], length).contiguous()
        hidden = self.encoder(hidden, mask)
        return EncoderOutput(hidden, self.pooler(hidden) if self.pooler is not None else None)
