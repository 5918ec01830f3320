"""Audio: decoding, MERT against the official extractor, the spectral extractor, the cache,
and `clamp3 embed` / `clamp3 features` on audio files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from conftest import DATA, GOLDEN, TINY_OFFICIAL, TINY_TEXT_MODEL

from clamp3.cli import main
from clamp3.errors import CheckpointError, InputError
from clamp3.features import FeatureCache, extract_files, load_extractor, window_bounds
from clamp3.features.mert import MertExtractor
from clamp3.features.spectral import SpectralExtractor, SpectralExtractorV2, zero_crossing_rate
from clamp3.formats import read_items
from clamp3.formats.audio import load_audio

AUDIO = DATA / "audio"
MERT = GOLDEN / "mert_tiny"


@pytest.fixture(scope="module")
def mert():
    return MertExtractor.load(str(MERT / "tiny-mert"))


def test_windows_follow_the_official_rule_and_keep_a_lone_short_clip():
    sr = 24_000
    assert window_bounds(int(12 * sr), sr) == [(0, 120_000), (120_000, 240_000), (240_000, 288_000)]
    assert window_bounds(int(5.5 * sr), sr) == [(0, 120_000)]  # a 0.5 s tail is dropped
    assert window_bounds(int(6.2 * sr), sr) == [(0, 120_000), (120_000, 148_800)]
    assert window_bounds(int(0.6 * sr), sr) == [(0, 14_400)]  # the official script writes nothing here


def test_mert_matches_the_official_extractor(mert):
    """Goldens from the official extract_mert.py --mean_features on a tiny MERT built with the
    official MusicHubert code (tests/data/README.md)."""
    for expected_path in sorted((MERT / "official").glob("*.npy")):
        expected = np.load(expected_path)
        features = mert.extract(load_audio(AUDIO / f"{expected_path.stem}.wav"))
        assert features[None].shape == expected.shape, expected_path.name
        assert np.abs(features[None] - expected).max() <= 1e-4, expected_path.name
    assert mert.extract(load_audio(AUDIO / "clip_0.6s.wav")).shape == (1, 64)


def test_mert_loads_the_old_weight_norm_layout(mert, tmp_path):
    from safetensors.torch import load_file, save_file

    state = load_file(MERT / "tiny-mert" / "model.safetensors")
    old = {}
    for key, value in state.items():
        key = key.replace("parametrizations.weight.original0", "weight_g").replace("parametrizations.weight.original1", "weight_v")
        old[key] = value
    old.pop("masked_spec_embed")
    folder = tmp_path / "mert-old"
    folder.mkdir()
    shutil.copy(MERT / "tiny-mert" / "config.json", folder / "config.json")
    save_file(old, folder / "model.safetensors")
    waveform = load_audio(AUDIO / "clip_6.2s.wav")
    np.testing.assert_array_equal(MertExtractor.load(str(folder)).extract(waveform), mert.extract(waveform))


def test_mert_without_weights_offline_hints_at_the_mert_setting():
    with pytest.raises(CheckpointError, match="not in the Hugging Face cache") as error:
        MertExtractor.load("m-a-p/MERT-v1-95M")
    assert error.value.hint.setting == "mert"


def test_bad_mert_folders_are_one_line_errors(tmp_path):
    """Issue 16: a pickled pytorch_model.bin was refused in a 29-line traceback suggesting
    weights_only=False, and a bad config.json was a raw ValueError."""
    import pickle

    import torch

    pickled = tmp_path / "pickled"
    pickled.mkdir()
    shutil.copy(MERT / "tiny-mert" / "config.json", pickled / "config.json")
    (pickled / "pytorch_model.bin").write_bytes(pickle.dumps({"w": torch.nn.Linear(2, 2)}))  # a module, not tensors
    bad_config = tmp_path / "config"
    shutil.copytree(MERT / "tiny-mert", bad_config)
    config = json.loads((bad_config / "config.json").read_text())
    (bad_config / "config.json").write_text(json.dumps({**config, "conv_dim": "wide", "hidden_size": -3}))
    for folder, expected in ((pickled, "pytorch_model.bin: not a loadable PyTorch checkpoint"), (bad_config, "config.json: not a usable MERT v1 config")):
        with pytest.raises(CheckpointError) as caught:
            MertExtractor.load(str(folder))
        message = str(caught.value)
        assert expected in message and "\n" not in message and "weights_only=False" not in message, message


def test_batched_windows_equal_one_at_a_time(mert):
    waveform = load_audio(AUDIO / "chorale_12s.wav")
    mert.batch_size = 1
    single = mert.extract(waveform)
    mert.batch_size = 8
    np.testing.assert_allclose(mert.extract(waveform), single, atol=1e-5)


def test_spectral_features():
    extractor = SpectralExtractor()
    features = extractor.extract(load_audio(AUDIO / "chorale_12s.wav"))
    assert features.shape == (3, 256) and features.dtype == np.float32 and np.isfinite(features).all()
    np.testing.assert_array_equal(features, extractor.extract(load_audio(AUDIO / "chorale_12s.wav")))
    assert not np.allclose(features[0], features[2])
    assert load_extractor("spectral-v1").name == "spectral-v1"


def clicks(bpm: float, seconds: int = 20, sample_rate: int = 24_000) -> np.ndarray:
    """A click (5 ms of noise) on every beat at ``bpm``."""
    waveform = np.zeros(sample_rate * seconds, np.float32)
    burst = np.random.default_rng(0).standard_normal(120).astype(np.float32) * 0.5
    for start in (np.arange(0, seconds, 60 / bpm) * sample_rate).astype(int):
        waveform[start:start + 120] += burst[: len(waveform[start:start + 120])]
    return waveform


def test_spectral_v2_is_v1_with_how_fast_the_music_goes():
    """spectral-v2 keeps every v1 value but chroma's and MFCC's standard deviations (so a tower
    trained on v1 can go on training on it), and in their place says the tempo: the onset
    envelope's autocorrelation peaks at the beat of a click track, and the onset rate follows it."""
    v1, v2 = load_extractor("spectral-v1"), load_extractor("spectral-v2")
    assert isinstance(v2, SpectralExtractorV2) and (v2.name, v2.dim) == ("spectral-v2", 256)
    waveform = load_audio(AUDIO / "chorale_12s.wav")
    a, b = v1.extract(waveform), v2.extract(waveform)
    replaced = np.r_[204:216, 229:242]
    kept = np.setdiff1d(np.arange(256), replaced)
    np.testing.assert_array_equal(a[:, kept], b[:, kept])
    assert not np.allclose(a[:, replaced], b[:, replaced]) and b.dtype == np.float32
    rates = []
    for bpm in (50, 90, 150, 240):
        features = v2.extract(clicks(bpm))
        periodicity = np.concatenate([features[:, 204:216], features[:, 229:241]], axis=1).mean(0)
        assert abs(v2.TEMPI[periodicity.argmax()] / bpm - 1) < 0.1, bpm
        rates.append(features[:, 241].mean() * 10)
    assert rates == sorted(rates) and abs(rates[-1] - 4.0) < 0.5  # onsets per second
    for silent in (np.zeros(24_000, np.float32), np.zeros(100, np.float32)):
        assert np.isfinite(v2.extract(silent)).all() and not v2.extract(silent)[:, replaced].any()


# librosa's zero-crossing rate of each array in an .npz, in a child process whose numba compiles for
# a generic CPU: for its own CPU (AMD EPYC, numba 0.67 and 0.68) librosa's kernel crashes the process
LIBROSA_ZCR = """
import sys, numpy as np, librosa
arrays = np.load(sys.argv[1])
np.savez(sys.argv[2], **{k: librosa.feature.zero_crossing_rate(v, frame_length=2048, hop_length=512)[0] for k, v in arrays.items()})
"""


def test_the_zero_crossing_rate_is_librosas_without_its_numba_kernel(tmp_path):
    """spectral-v1's last value is computed in numpy (librosa's numba kernel for it crashed the app's
    process on some CPUs); a model trained on spectral-v1 must get the same features, so its values
    are librosa's to the last bit, on odd lengths, silence, signed zeros and values under its 1e-10
    threshold (which count as +0: no crossing between 0, -0.0 and 1e-11)."""
    y = np.array([1, -1, 1, 1, 0, -0.0, -1, 1e-11, 1], np.float32)
    np.testing.assert_array_equal(zero_crossing_rate(y, frame_length=4, hop_length=2), [0.25, 0.5, 0.0, 0.5, 0.25])
    rng = np.random.default_rng(0)
    arrays = {f"noise_{n}": rng.standard_normal(n).astype(np.float32) for n in (1, 2047, 2048, 2049, 24_000 * 5 + 37)}
    arrays |= {"silence": np.zeros(5000, np.float32), "chorale": load_audio(AUDIO / "chorale_12s.wav"),
               "signed_zeros": np.array([-0.0, 0.0, 1, -1e-11, 1e-11, -1, -0.0] * 900, np.float32)}
    np.savez(tmp_path / "in.npz", **arrays)
    env = {**os.environ, "NUMBA_CPU_NAME": "generic"}
    subprocess.run([sys.executable, "-c", LIBROSA_ZCR, tmp_path / "in.npz", tmp_path / "out.npz"], env=env, check=True, timeout=300)
    expected = np.load(tmp_path / "out.npz")
    for name, waveform in arrays.items():
        np.testing.assert_array_equal(zero_crossing_rate(waveform), expected[name], err_msg=name)


@pytest.mark.parametrize(
    "name, windows",
    [("short_0.3s.wav", 1), ("silence_3s.wav", 1), ("six_channels_96k.wav", 1)],
)
def test_odd_but_valid_audio_gives_vectors(mert, name, windows):
    waveform = load_audio(DATA / "bad_audio" / name)
    for extractor in (mert, SpectralExtractor()):
        features = extractor.extract(waveform)
        assert features.shape == (windows, extractor.dim) and np.isfinite(features).all()


def test_multichannel_high_rate_is_mixed_down_and_resampled():
    waveform = load_audio(DATA / "bad_audio" / "six_channels_96k.wav")
    assert waveform.shape == (12_000,)  # 0.5 s at 24 kHz
    spectrum = np.abs(np.fft.rfft(waveform))
    freqs = np.fft.rfftfreq(len(waveform), 1 / 24_000)
    assert sorted(freqs[np.argsort(spectrum)[-2:]].round()) == [440.0, 660.0]
    assert abs(waveform.max() - (0.6 + 0.3) / 6) < 0.01  # the mean of the six channels


@pytest.mark.parametrize(
    "name, reason",
    [("empty.wav", "file is empty"), ("corrupt.mp3", "not a readable audio file"), ("notes.flac", "not a readable audio file")],
)
def test_bad_audio_is_one_clear_line(name, reason):
    with pytest.raises(InputError) as info:
        read_items(DATA / "bad_audio" / name)
    assert reason in str(info.value) and name in str(info.value) and "\n" not in str(info.value)


def test_containers_without_ffmpeg_say_what_is_missing(tmp_path, monkeypatch):
    (tmp_path / "song.m4a").write_bytes(b"\x00\x00\x00\x20ftypM4A ")
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(InputError, match=r"decoding .m4a needs ffmpeg on PATH"):
        load_audio(tmp_path / "song.m4a")


def test_cache_means_a_second_run_extracts_nothing(tmp_path):
    calls = []

    class Counting(SpectralExtractor):
        def extract(self, waveform):
            calls.append(len(waveform))
            return super().extract(waveform)

    extractor, cache = Counting(), FeatureCache(tmp_path)
    paths = [AUDIO / "clip_5.5s.wav", AUDIO / "clip_6.2s.wav", DATA / "bad_audio" / "empty.wav"]
    first = list(extract_files(paths, extractor, cache))
    assert len(calls) == 2 and first[2][2] is not None
    second = list(extract_files(paths, extractor, cache))
    assert len(calls) == 2
    for (_, a, _), (_, b, _) in zip(first[:2], second[:2]):
        np.testing.assert_array_equal(a, b)


def test_embed_audio_equals_the_official_two_step_pipeline(tmp_path):
    """`clamp3 embed song.wav --weights <official .pth> --mert <MERT folder>` against the official
    extract_mert.py followed by extract_clamp3.py --get_global."""
    out = tmp_path / "out"
    args = ["embed", str(AUDIO), "--out", str(out), "--global", "--weights", str(TINY_OFFICIAL),
            "--text-model", str(TINY_TEXT_MODEL), "--mert", str(MERT / "tiny-mert"), "--cache-dir", str(tmp_path / "cache"), "-q"]
    assert main(args) == 0
    for expected in sorted((MERT / "official_clamp3_global").glob("*.npy")):
        assert np.abs(np.load(out / expected.name) - np.load(expected)).max() <= 1e-4, expected.name
    assert np.load(out / "clip_0.6s.npy").shape == (1, 48)  # the official pipeline drops this clip
    assert len(list((tmp_path / "cache").rglob("*.npy"))) == 5


def test_features_command_writes_the_official_layout(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["features", str(AUDIO), str(DATA / "bad_audio"), "--out", str(out), "--extractor", "mert",
            "--mert", str(MERT / "tiny-mert"), "--no-cache", "-q"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "extracted 8, skipped 0 existing, failed 3" in err
    expected = np.load(MERT / "official" / "chorale_12s.npy")
    assert np.abs(np.load(out / "chorale_12s.npy") - expected).max() <= 1e-4
    assert np.load(out / "silence_3s.npy").shape == (1, 1, 64)
    assert main(args) == 1 and "extracted 0, skipped 8 existing" in capsys.readouterr().err
