"""The untrained embedded model: multilingual-e5-small (frozen, from PyPI packages) as the text
tower, a small M3 symbolic tower and a small audio tower over spectral-v1 features.

    python -m demo.init_model --out runs/demo/init
"""

from __future__ import annotations

import argparse
import sys

import torch

from clamp3.config import CLaMP3Config, EncoderConfig
from clamp3.models import create_model, save_pretrained
from clamp3.models.packaged import E5_SMALL

CONFIG = CLaMP3Config(
    text_model=E5_SMALL,
    max_text_length=64,
    patch_size=64,
    symbolic=EncoderConfig(hidden_size=256, num_layers=4, max_length=64),  # 64 patches: a folk tune, the start of a longer work
    audio=EncoderConfig(hidden_size=256, num_layers=2, max_length=64),  # 256 = the spectral-v1 feature size
    projection_size=384,
    audio_extractor="spectral-v1",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default="runs/demo/init")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    model = create_model(CONFIG)
    save_pretrained(model, args.out)
    print(f"{args.out}: {sum(p.numel() for n, p in model.named_parameters() if not n.startswith('text_model')) / 1e6:.1f}M trainable-size parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
