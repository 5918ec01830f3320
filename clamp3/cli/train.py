"""``clamp3 train clamp3|m3 [--config CFG.yaml] [KEY=VALUE ...] [-q]``: the training engine with a progress bar."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading


def register(commands) -> None:
    training = commands.add_parser("train", help="contrastive training of CLaMP 3 on text-music pairs")
    training.add_argument("objective", choices=["clamp3", "m3"])
    training.add_argument(
        "settings", nargs=argparse.REMAINDER, metavar="[--config CFG.yaml] [KEY=VALUE ...] [-q]",
        help="a YAML of TrainConfig fields, then settings over it",
    )
    training.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from tqdm.auto import tqdm

    from clamp3.training import TrainConfig, train

    config_path, quiet, overrides = None, False, []
    settings = iter(args.settings)
    for word in settings:
        if word == "--config":
            config_path = next(settings, None)
        elif word in ("-q", "--quiet"):
            quiet = True
        else:
            overrides.append(word)
    config = TrainConfig.from_yaml(config_path, overrides, objective=args.objective)  # a bad value is one line before the bar draws
    bar = tqdm(unit="step", desc="training", disable=quiet)

    def show(event: dict) -> None:
        if event["event"] == "step":
            bar.total = event["total"]
            bar.n = event["step"]
            bar.set_postfix(loss=f"{event['loss']:.4f}", lr=f"{event['lr']:.2e}")
        elif event["event"] == "eval":
            bar.write(json.dumps(event), file=sys.stderr)

    stop = threading.Event()
    if int(os.environ.get("WORLD_SIZE", "1")) == 1:  # under torchrun the ranks would stop at different steps
        # SIGTERM (the app's Stop) ends the run at the next step with a checkpoint and a usable model
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    final = train(config, on_event=show, stop=stop)
    bar.close()
    print(f"trained model: {final}", file=sys.stderr)
    return 0
