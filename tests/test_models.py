"""Checkpoints: official layout with size inference, the project's format, M3, presets offline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import GOLDEN, TINY_OFFICIAL, TINY_TEXT_MODEL
from safetensors.torch import load_file
from torch.utils._python_dispatch import TorchDispatchMode

from clamp3.config import CLaMP3Config, EncoderConfig
from clamp3.errors import CheckpointError, ConfigError, describe
from clamp3.models import CLaMP3Model, load_m3, load_model, save_pretrained
from clamp3.models.loading import export_official, read_checkpoint


def test_sizes_are_inferred_from_the_official_checkpoint(tiny_model):
    config = tiny_model.config
    assert (config.symbolic.hidden_size, config.symbolic.num_layers, config.symbolic.max_length) == (64, 2, 32)
    assert (config.audio.hidden_size, config.audio.num_layers, config.audio.max_length) == (64, 2, 16)
    assert config.symbolic.num_heads == 1 and config.symbolic.intermediate_size == 256
    assert config.patch_size == 64 and config.projection_size == 48
    assert tiny_model.text_model.config.num_hidden_layers == 2
    assert not tiny_model.training


def test_stale_position_ids_buffers_are_accepted(tmp_path):
    state = read_checkpoint(TINY_OFFICIAL)
    state["text_model.embeddings.position_ids"] = torch.arange(514)[None]
    state["symbolic_model.base.embeddings.position_ids"] = torch.arange(32)[None]
    torch.save({"model": state}, tmp_path / "old.pth")
    model = load_model(tmp_path / "old.pth", text_model=str(TINY_TEXT_MODEL))
    reference = load_model(TINY_OFFICIAL, text_model=str(TINY_TEXT_MODEL))
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items()):
        assert torch.equal(a, b), name


def test_other_key_mismatches_are_errors_that_list_them(tmp_path):
    state = read_checkpoint(TINY_OFFICIAL)
    state["audio_proj.extra"] = torch.zeros(1)
    del state["symbolic_proj.bias"]
    torch.save({"model": state}, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=r"missing keys \['symbolic_proj.bias'\], unexpected keys \['audio_proj.extra'\]"):
        load_model(tmp_path / "bad.pth", text_model=str(TINY_TEXT_MODEL))


def test_text_model_that_does_not_fit_the_checkpoint_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="text tower '.*xlmr-base-shape' has") as error:
        load_model(TINY_OFFICIAL, text_model=str(TINY_TEXT_MODEL.parent / "xlmr-base-shape"))
    assert error.value.hint.setting == "text_model"


def test_not_a_checkpoint(tmp_path):
    (tmp_path / "x.pth").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="not a loadable PyTorch checkpoint"):
        load_model(tmp_path / "x.pth", text_model=str(TINY_TEXT_MODEL))
    with pytest.raises(CheckpointError, match="not found: expected a preset"):
        load_model(tmp_path / "missing.pth")


def test_presets_offline_fail_with_one_line_naming_file_and_setting():
    with pytest.raises(CheckpointError) as info:
        load_model("saas")
    message = describe(info.value)
    assert "weights_clamp3_saas_h_size_768" in message and info.value.hint.setting == "weights"
    assert "\n" not in message


def test_own_format_round_trip(tiny_model, tiny_model_dir):
    reloaded = load_model(tiny_model_dir)
    assert reloaded.config == tiny_model.config
    for (name, a), (_, b) in zip(reloaded.state_dict().items(), tiny_model.state_dict().items()):
        assert torch.equal(a, b), name
    ids = torch.tensor([[0, 5, 44, 5, 2]])
    assert reloaded.tokenizer("A lively jig")["input_ids"] == tiny_model.tokenizer("A lively jig")["input_ids"]
    with torch.inference_mode():
        assert torch.equal(reloaded.encode_text(ids, torch.ones_like(ids)), tiny_model.encode_text(ids, torch.ones_like(ids)))


def test_official_export_reloads(tiny_model, tmp_path):
    export_official(tiny_model, tmp_path / "export.pth")
    reloaded = load_model(tmp_path / "export.pth", text_model=str(TINY_TEXT_MODEL))
    for (name, a), (_, b) in zip(reloaded.state_dict().items(), tiny_model.state_dict().items()):
        assert torch.equal(a, b), name


def test_patch_embedding_equals_the_one_hot_linear_map(tiny_model):
    encoder = tiny_model.symbolic_model
    patches = torch.randint(0, 128, (2, 5, 64))
    one_hot = torch.nn.functional.one_hot(patches, 128).reshape(2, 5, -1).float()
    with torch.inference_mode():
        torch.testing.assert_close(encoder.embed_patches(patches), encoder.patch_embedding(one_hot), atol=1e-5, rtol=1e-5)


def test_m3_official_checkpoint_gives_the_official_loss():
    """tiny_m3_official.pth and its loss were made by the official M3Model (tests/data/README.md)."""
    model = load_m3(GOLDEN / "m3_tiny" / "tiny_m3_official.pth").eval()
    assert model.decoder.base.lm_head.weight is model.decoder.base.transformer.wte.weight  # tied, as built
    golden = np.load(GOLDEN / "m3_tiny" / "golden.npz")
    patches = torch.from_numpy(golden["input"])[None]
    selected = torch.from_numpy(golden["selected"]).bool()[None]
    targets = torch.from_numpy(golden["target"])[None]
    with torch.inference_mode():
        out = model(patches, torch.ones(patches.shape[:2]), selected, targets)
    assert abs(out.loss.item() - float(golden["loss"])) < 1e-5
    np.testing.assert_allclose(out.logits[:2].numpy(), golden["logits_first2"], atol=1e-4)


def test_config_validation_names_the_bad_value():
    with pytest.raises(ConfigError, match="hidden_size=100 is not divisible by num_heads=3"):
        EncoderConfig(hidden_size=100, num_heads=3)
    with pytest.raises(ConfigError, match="patch_size must be at least 3"):
        CLaMP3Config(patch_size=2)


def test_random_model_saves_and_loads_without_network(tmp_path, tiny_model):
    config = CLaMP3Config(
        text_model=str(TINY_TEXT_MODEL),
        text_config=tiny_model.config.text_config,
        symbolic=EncoderConfig(hidden_size=32, num_layers=1, max_length=8),
        audio=EncoderConfig(hidden_size=16, num_layers=1, max_length=8),
        projection_size=8,
    )
    model = CLaMP3Model(config)
    model.tokenizer = tiny_model.tokenizer
    reloaded = load_model(save_pretrained(model, tmp_path / "m"))
    assert reloaded.config.symbolic.max_length == 8 and reloaded.audio_proj.out_features == 8


def test_patch_embedding_follows_weight_changes(tiny_model, tmp_path):
    from clamp3.models import load_model

    model = load_model(TINY_OFFICIAL, text_model=str(TINY_TEXT_MODEL))
    encoder = model.symbolic_model
    patches = torch.randint(0, 128, (1, 3, 64))
    with torch.inference_mode():
        before = encoder.embed_patches(patches)
    with torch.no_grad():
        encoder.patch_embedding.weight.mul_(2)
    with torch.inference_mode():
        after = encoder.embed_patches(patches)
    bias = encoder.patch_embedding.bias
    torch.testing.assert_close(after - bias, 2 * (before - bias), atol=1e-5, rtol=1e-5)
    # with gradients on, the lookup is differentiable
    encoder.patch_embedding.weight.grad = None
    encoder.embed_patches(patches).sum().backward()
    assert encoder.patch_embedding.weight.grad.abs().sum() > 0


class RandomFills(TorchDispatchMode):
    """Records every random operation (``normal_``, ``uniform_``, ...) that fills real memory."""

    def __init__(self):
        super().__init__()
        self.real: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if torch.Tag.nondeterministic_seeded in func.tags and isinstance(out, torch.Tensor) and not out.is_meta:
            self.real.append(str(func))
        return out


def test_loading_builds_on_the_meta_device_and_equals_the_cpu_build(tiny_model_dir, tmp_path):
    with RandomFills() as fills:
        model = load_model(tiny_model_dir)
    assert fills.real == []
    # The old path, written out: built on the CPU (initialised at random), then the weights copied in.
    with RandomFills() as fills:
        reference = CLaMP3Model(model.config)
    assert fills.real  # what the recorder would have caught
    reference.load_state_dict(load_file(tiny_model_dir / "model.safetensors"))
    reference.eval()
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in reference.named_buffers()]  # position ids too
    for (name, a), (_, b) in zip([*model.named_parameters(), *model.named_buffers()], [*reference.named_parameters(), *reference.named_buffers()]):
        assert a.dtype == b.dtype and a.device == b.device and torch.equal(a, b), name
    ids, patches, frames = torch.tensor([[0, 5, 44, 5, 2]]), torch.randint(0, 128, (2, 5, 64)), torch.randn(2, 9, 64)
    with torch.inference_mode():
        for encode, inputs in (("encode_text", ids), ("encode_symbolic", patches), ("encode_audio", frames)):
            mask = torch.ones(inputs.shape[:2], dtype=torch.long)
            assert torch.equal(getattr(model, encode)(inputs, mask), getattr(reference, encode)(inputs, mask)), encode
    # Tensors of another dtype take the model's, as copying into its parameters gave them.
    state = read_checkpoint(TINY_OFFICIAL)
    torch.save({"model": {k: v.double() if v.is_floating_point() else v for k, v in state.items()}}, tmp_path / "f64.pth")
    double = load_model(tmp_path / "f64.pth", text_model=str(TINY_TEXT_MODEL))
    assert {p.dtype for p in double.parameters()} == {torch.float32}
    assert torch.equal(double.text_proj.weight, state["text_proj.weight"])


def test_the_tokenizer_loads_when_the_first_text_needs_it(tiny_model_dir, tmp_path):
    import shutil

    from clamp3.embedding import Embedder

    folder = tmp_path / "model"
    shutil.copytree(tiny_model_dir, folder)
    model = load_model(folder)
    assert model.has_tokenizer and model._tokenizer is None
    embedder = Embedder(model, batch_size=4)
    [result] = list(embedder.encode_files([GOLDEN.parent / "scores" / "bwv277.krn"], progress=False))
    assert result.error is None and model._tokenizer is None  # music alone never loads it
    assert embedder.encode_texts(["a chorale"]).shape == (1, model.config.projection_size)
    assert model._tokenizer is not None

    # A tokenizer that cannot load fails the first text, with the common one-line error; music still embeds.
    (folder / "tokenizer" / "tokenizer.json").write_text("{ not json")
    broken = Embedder(load_model(folder), batch_size=4)
    [result] = list(broken.encode_files([GOLDEN.parent / "scores" / "bwv277.krn"], progress=False))
    assert result.error is None
    with pytest.raises(CheckpointError, match="cannot load the tokenizer"):
        broken.encode_texts(["a chorale"])
