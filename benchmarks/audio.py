"""Audio feature extraction speed: audio-seconds processed per wall-second.

Decoding included. The spectral extractor (no weights) and a full-size MERT-v1-95M-shaped
model with random weights (HuBERT base: 7 conv layers of 512, 12 layers of 768) run on
recordings synthesised from the Bach chorale MIDI files under tests/data/golden/convert
(pretty_midi's additive synthesis, 24 kHz).

    python benchmarks/audio.py [--minutes 5] [--mert-seconds 60] [--device cuda]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile
import torch

from clamp3.features import extract_files
from clamp3.features.mert import MertExtractor, hubert_config
from clamp3.features.spectral import SpectralExtractor

MIDI = Path(__file__).resolve().parents[1] / "tests" / "data" / "golden" / "convert" / "midi"
MERT_95M = {  # the shape of m-a-p/MERT-v1-95M's config.json
    "hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12, "intermediate_size": 3072,
    "conv_dim": [512] * 7, "conv_kernel": [10, 3, 3, 3, 3, 2, 2], "conv_stride": [5, 2, 2, 2, 2, 2, 2],
    "conv_bias": False, "feat_extract_norm": "group", "num_conv_pos_embeddings": 128,
    "num_conv_pos_embedding_groups": 16, "feat_proj_layer_norm": True, "do_stable_layer_norm": False,
}


def synthesise(folder: Path, minutes: float) -> list[Path]:
    import pretty_midi

    files, total = [], 0.0
    for midi in sorted(MIDI.glob("*.mid")):
        if total >= minutes * 60:
            break
        audio = pretty_midi.PrettyMIDI(str(midi)).synthesize(fs=24_000).astype(np.float32)
        audio /= max(1e-9, float(np.abs(audio).max()))
        path = folder / f"{midi.stem}.wav"
        soundfile.write(path, audio * 0.8, 24_000, subtype="PCM_16")
        files.append(path)
        total += len(audio) / 24_000
    return files


def seconds_of(files: list[Path]) -> float:
    return sum(soundfile.info(str(f)).duration for f in files)


def run(name: str, files: list[Path], extractor) -> tuple[str, float, float]:
    audio = seconds_of(files)
    start = time.perf_counter()
    for _, features, error in extract_files(files, extractor):
        assert error is None and features is not None
    wall = time.perf_counter() - start
    return name, audio, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="audio for the spectral extractor")
    parser.add_argument("--mert-seconds", type=float, default=60.0, help="audio for MERT (slow on CPU)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        files = synthesise(Path(scratch), args.minutes)
        spectral = SpectralExtractor()
        spectral.extract(np.zeros(24_000, dtype=np.float32))  # librosa's numba kernels compile once
        rows = [run("spectral-v1 (librosa, no weights)", files, spectral)]

        torch.manual_seed(0)
        from transformers import HubertModel

        model = HubertModel(hubert_config(MERT_95M)).to(args.device).eval()
        mert_files, total = [], 0.0
        for f in files:
            if total >= args.mert_seconds:
                break
            mert_files.append(f)
            total += soundfile.info(str(f)).duration
        rows.append(run(f"MERT-v1-95M shape, float32, {args.device}", mert_files, MertExtractor(model, "mert-95m-random")))
        if args.device.startswith("cuda"):
            rows.append(run("MERT-v1-95M shape, bfloat16, cuda", mert_files, MertExtractor(model.to(torch.bfloat16), "mert-bf16")))

    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} threads\n")
    print("| extractor | audio (s) | wall (s) | x real time |\n|---|---:|---:|---:|")
    for name, audio, wall in rows:
        print(f"| {name} | {audio:.0f} | {wall:.1f} | {audio / wall:.1f} |")


if __name__ == "__main__":
    main()
