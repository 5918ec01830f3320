"""clamp3's own BERT encoder against transformers' BertModel and XLMRobertaModel: the same state
dict loads into both, and the outputs agree (float32 to 1e-6, bfloat16 within its rounding)."""

from __future__ import annotations

import pytest
import torch
from transformers import BertConfig, BertModel, XLMRobertaConfig, XLMRobertaModel

from clamp3.models.bert import BertEncoder, build_encoder, supports

SIZES = dict(vocab_size=99, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
             max_position_embeddings=40, type_vocab_size=2, layer_norm_eps=1e-12, attn_implementation="sdpa")
BF16_TOLERANCE = 0.05  # bfloat16 keeps 8 bits of mantissa; hidden states are layer-normed (order 1)


def configs():
    return [
        pytest.param(BertConfig, BertModel, dict(pad_token_id=0), id="bert"),
        pytest.param(BertConfig, BertModel, dict(pad_token_id=0, hidden_act="relu"), id="bert-relu"),
        pytest.param(XLMRobertaConfig, XLMRobertaModel, dict(pad_token_id=1), id="xlm-roberta"),
    ]


def pair(config_class, model_class, extra, pooler=True):
    config = config_class(**SIZES, **extra)
    torch.manual_seed(0)
    reference = model_class(config, add_pooling_layer=pooler).eval()
    with torch.no_grad():  # nothing is zero or one, so a swapped tensor would show
        for parameter in reference.parameters():
            parameter.normal_(std=0.5 if parameter.ndim == 1 else 0.1)
    ours = BertEncoder(config, add_pooling_layer=pooler).eval()
    ours.load_state_dict(reference.state_dict(), strict=True)
    return reference, ours


def padded_batch(pad_token_id: int):
    generator = torch.Generator().manual_seed(1)
    ids = torch.randint(3, SIZES["vocab_size"], (4, 17), generator=generator)
    mask = torch.ones_like(ids)
    for row, length in enumerate([17, 11, 5, 1]):
        ids[row, length:] = pad_token_id
        mask[row, length:] = 0
    return ids, mask


def largest_difference(a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor | None = None) -> float:
    if mask is not None:  # padded steps are computed but meaningless; compare the real ones
        a, b = a[mask.bool()], b[mask.bool()]
    return (a.float() - b.float()).abs().max().item()


@pytest.mark.parametrize("config_class, model_class, extra", configs())
def test_state_dicts_have_the_same_names_and_shapes(config_class, model_class, extra):
    for pooler in (True, False):
        reference, ours = pair(config_class, model_class, extra, pooler)
        assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}


@pytest.mark.parametrize("config_class, model_class, extra", configs())
def test_float32_outputs_equal_transformers(config_class, model_class, extra):
    reference, ours = pair(config_class, model_class, extra)
    ids, mask = padded_batch(extra["pad_token_id"])
    embeds = torch.randn(4, 17, SIZES["hidden_size"], generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        for inputs in ({"input_ids": ids, "attention_mask": mask},  # padded
                       {"input_ids": ids[:1], "attention_mask": mask[:1]},  # nothing padded: no mask
                       {"input_ids": ids},
                       {"inputs_embeds": embeds, "attention_mask": mask},  # the music towers' way
                       {"input_ids": ids, "attention_mask": mask, "token_type_ids": (ids % 2)}):
            expected, got = reference(**inputs), ours(**inputs)
            real = inputs.get("attention_mask")
            assert largest_difference(got.last_hidden_state, expected.last_hidden_state, real) <= 1e-6
            assert largest_difference(got.pooler_output, expected.pooler_output) <= 1e-6


@pytest.mark.parametrize("config_class, model_class, extra", configs())
def test_train_mode_without_dropout_equals_transformers(config_class, model_class, extra):
    """With every dropout at 0 (as the trainer sets ``module.p``), train mode computes eval mode's
    outputs, and the gradients agree."""
    reference, ours = pair(config_class, model_class, extra)
    for model in (reference, ours):
        model.train()
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = 0.0
    ids, mask = padded_batch(extra["pad_token_id"])
    expected, got = reference(input_ids=ids, attention_mask=mask), ours(input_ids=ids, attention_mask=mask)
    assert largest_difference(got.last_hidden_state, expected.last_hidden_state, mask) <= 1e-6
    (expected.last_hidden_state[mask.bool()].sum() + expected.pooler_output.sum()).backward()
    (got.last_hidden_state[mask.bool()].sum() + got.pooler_output.sum()).backward()
    theirs = dict(reference.named_parameters())
    for name, parameter in ours.named_parameters():
        assert largest_difference(parameter.grad, theirs[name].grad) <= 1e-5, name


@pytest.mark.parametrize("config_class, model_class, extra", configs())
def test_bfloat16_outputs_agree_with_transformers(config_class, model_class, extra):
    reference, ours = pair(config_class, model_class, extra)
    reference, ours = reference.to(torch.bfloat16), ours.to(torch.bfloat16)
    ids, mask = padded_batch(extra["pad_token_id"])
    with torch.no_grad():
        expected, got = reference(input_ids=ids, attention_mask=mask), ours(input_ids=ids, attention_mask=mask)
    assert got.last_hidden_state.dtype == torch.bfloat16
    assert largest_difference(got.last_hidden_state, expected.last_hidden_state, mask) <= BF16_TOLERANCE
    assert largest_difference(got.pooler_output, expected.pooler_output) <= BF16_TOLERANCE


def test_dropout_modules_carry_the_config_probabilities():
    config = BertConfig(**SIZES, hidden_dropout_prob=0.2, attention_probs_dropout_prob=0.3)
    dropouts = [m for m in BertEncoder(config).modules() if isinstance(m, torch.nn.Dropout)]
    assert len(dropouts) == 1 + 3 * SIZES["num_hidden_layers"]
    assert sorted({m.p for m in dropouts}) == [0.2, 0.3]


def test_unsupported_configs_are_built_by_transformers():
    config = BertConfig(**SIZES, hidden_act="gelu_new")
    assert not supports(config)
    assert type(build_encoder(config)) is BertModel
    with pytest.raises(ValueError, match="hidden_act='gelu_new'"):
        BertEncoder(config)


@pytest.mark.parametrize("config_class", [BertConfig, XLMRobertaConfig], ids=["bert", "xlm-roberta"])
def test_settings_read_from_a_saved_config_are_transformers_own(config_class):
    """What :func:`encoder_config` reads without transformers equals transformers' config of the
    same saved fields (and its defaults for fields left out), so the encoder built is the same."""
    from dataclasses import fields

    from clamp3.models.bert import BertSettings, encoder_config

    saved = config_class(**SIZES).to_diff_dict()  # what a config.json holds: the fields that differ from the defaults
    saved.pop("attn_implementation", None)
    settings, reference = encoder_config(saved), config_class(**saved)
    assert isinstance(settings, BertSettings)
    for field in fields(BertSettings):  # (transformers 5 dropped position_embedding_type: absolute)
        assert getattr(settings, field.name) == getattr(reference, field.name, field.default), field.name


def test_a_config_the_encoder_does_not_cover_stays_transformers():
    from transformers import PretrainedConfig

    from clamp3.models.bert import encoder_config

    base = {"model_type": "bert", **{k: v for k, v in SIZES.items() if k != "attn_implementation"}}
    for extra in ({"position_embedding_type": "relative_key"}, {"is_decoder": True}, {"hidden_act": "gelu_new"}):
        config = encoder_config({**base, **extra})
        assert isinstance(config, PretrainedConfig) and not isinstance(build_encoder(config), BertEncoder)
    # a key it does not know: transformers reads the config (and decides what it means)
    assert isinstance(encoder_config({**base, "a_new_setting": 3}), PretrainedConfig)
    assert isinstance(build_encoder(encoder_config(base)), BertEncoder)
