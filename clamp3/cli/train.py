"""``clamp3 train clamp3|m3 [--config CFG.yaml] [KEY=VALUE ...] [-q]``: the training engine with a progress bar."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

# A process id: the run ends as a Stop ends it once that process is no longer its parent (set by the
# app for the runs of its Train tab, whose stop button goes with the app)
PARENT_VARIABLE = "CLAMP3_PARENT_PID"
ORPHAN_GRACE_SECONDS = 60.0  # after the stop, how long an orphaned run may take to save before it is killed


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
        if os.environ.get(PARENT_VARIABLE, "").isdigit():
            watch_parent(int(os.environ[PARENT_VARIABLE]), stop)
    final = train(config, on_event=show, stop=stop)
    bar.close()
    print(f"trained model: {final}", file=sys.stderr)
    return 0


def watch_parent(pid: int, stop: threading.Event, every: float = 1.0,
                 grace: float = ORPHAN_GRACE_SECONDS) -> threading.Thread:
    """End the run when the process ``pid`` is no longer this one's parent: the app that started it
    ended without stopping it (killed, crashed), and no page is left to stop it or load what it
    makes. ``stop`` is set (the run ends at its next step with a checkpoint, as a Stop does); a run
    still going ``grace`` seconds later (a text cache being computed, a step that hangs) is killed."""

    def watch() -> None:
        while not stop.wait(every):
            if os.getppid() != pid:
                print(f"the process that started this run ({pid}) has ended: stopping", file=sys.stderr)
                stop.set()
        time.sleep(grace)  # a stop of any kind: the daemon thread goes with the process if it ends in time
        if os.getppid() != pid:
            print(f"no end {grace:g} s after the stop: killed", file=sys.stderr, flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    thread = threading.Thread(target=watch, name="parent watch", daemon=True)
    thread.start()
    return thread
