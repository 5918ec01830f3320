"""The training loop: ``train(config)`` runs a task (:mod:`clamp3.training.contrastive` for
CLaMP 3's stages, :mod:`clamp3.training.m3` for M3), resumable to the batch.

It runs on one CPU or GPU, or on several under ``torchrun`` (each rank on the GPU of its
``LOCAL_RANK``, from rank 0's weights, takes its share of every global batch; PyTorch's
``DistributedDataParallel`` averages the gradients; only rank 0 logs and writes). A checkpoint
holds the model, optimiser, scheduler, every rank's RNG states and the position in the data, so a
resumed run continues exactly, in one process or several. Progress goes to a callback as events
(step, loss, learning rate, ETA, eval metrics) and to ``metrics.jsonl``; ``stop`` (a
threading.Event) ends a run cleanly with a checkpoint and a usable model.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from clamp3.errors import ConfigError
from clamp3.io import atomic_write
from clamp3.training.checkpoint import (
    rank_states,
    read_checkpoint,
    rng_states,
    set_rng_states,
    truncate_metrics,
    write_checkpoint,
)
from clamp3.training.config import PRECISIONS, TrainConfig
from clamp3.training.task import Task, epoch_order

logger = logging.getLogger(__name__)


def make_task(config: TrainConfig) -> Task:
    """The task of ``config.objective``."""
    if config.objective == "m3":
        from clamp3.training.m3 import M3Task

        return M3Task(config)
    from clamp3.training.contrastive import ContrastiveTask

    return ContrastiveTask(config)


class TaskLoss(torch.nn.Module):
    """A task's loss as the forward of a module that holds the task's model and logit scale:
    ``DistributedDataParallel`` averages the gradients of what its module's forward computes."""

    def __init__(self, task: Task):
        super().__init__()
        self.model = task.model
        if task.logit_scale is not None:
            self.logit_scale = task.logit_scale
        self.task = task

    def forward(self, indices: list[int]) -> torch.Tensor:
        return self.task.loss(indices)


def averaged(task: Task) -> DistributedDataParallel:
    """The task's loss with its gradients averaged across ranks; wrapping gives every rank rank
    0's weights (a model built from random weights, M3 from scratch or new projections, differs
    between ranks that seed their RNGs by rank)."""
    # find_unused_parameters: the encoders' poolers (kept for the checkpoints' keys; CLaMP 3 mean-pools) are parameters
    # the optimiser holds that never reach the loss; unused on every rank, their gradients stay None
    # as in one process (AdamW then skips them, weight decay included)
    return DistributedDataParallel(TaskLoss(task), find_unused_parameters=True)


def _distributed(device: str) -> tuple[int, int, str]:
    """(rank, world size, this rank's device). Under ``torchrun`` each rank of a machine takes the
    GPU of its ``LOCAL_RANK`` when the device is plain ``cuda``; NCCL for GPUs, gloo for the CPU."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1, device
    if device == "cuda":
        device = f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))  # object collectives and NCCL use the current device
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return dist.get_rank(), dist.get_world_size(), device


def train(config: TrainConfig, on_event: Callable[[dict], None] | None = None, stop=None) -> Path:
    """Train; returns the folder of the final model. Under ``torchrun`` the process group this
    call starts is shut down at its end, so that no rank leaves a live connection to exit with."""
    started_group = not dist.is_initialized()
    try:
        final = _train(config, on_event, stop)
        if started_group and dist.is_initialized():
            # Ranks leave together: the others wait while rank 0 writes the final model, rather than
            # closing their connections under it (a CI run saw a rank abort at the end of a 2-rank run).
            dist.barrier()
        return final
    finally:
        if started_group and dist.is_initialized():
            dist.destroy_process_group()


def _train(config: TrainConfig, on_event: Callable[[dict], None] | None, stop) -> Path:
    rank, world, device = _distributed(config.device)
    if device != config.device:
        config = replace(config, device=device)
    random.seed(config.seed + rank)
    np.random.seed(config.seed + rank)
    torch.manual_seed(config.seed + rank)
    out = Path(config.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    task = make_task(config)
    # Seeded again once the model is built, so that the run's random stream (dropout, masks) does not
    # depend on how many numbers building and loading it drew (a model built on the meta device draws none).
    torch.manual_seed(config.seed + rank)
    if config.dropout is not None:
        for module in task.model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = config.dropout
    global_batch = config.batch_size * world
    steps_per_epoch = len(task) // global_batch
    if steps_per_epoch == 0:
        raise ConfigError(f"a global batch of {global_batch} is larger than the {len(task)} training examples")
    optimizer = torch.optim.AdamW(task.parameter_groups(), lr=config.learning_rate, weight_decay=config.weight_decay)
    total_steps = config.max_steps or steps_per_epoch * config.epochs

    def lr_factor(step: int) -> float:
        warm = min(1.0, (step + 1) / max(1, config.warmup_steps))
        if config.lr_schedule == "cosine":
            return warm * 0.5 * (1 + math.cos(math.pi * min(1.0, step / max(1, total_steps))))
        return warm

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    scaler = torch.amp.GradScaler(enabled=config.precision == "float16")
    autocast_dtype = PRECISIONS[config.precision]
    state = {"epoch": 0, "step_in_epoch": 0, "global_step": 0, "best": -math.inf}
    checkpoint = out / "checkpoint.pt"
    resumed = checkpoint.exists()
    if resumed:
        saved = read_checkpoint(checkpoint)
        task.model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        if saved.get("scaler"):  # empty when saved without float16
            scaler.load_state_dict(saved["scaler"])
        if task.logit_scale is not None:
            task.logit_scale.data.copy_(saved["logit_scale"])
        state = saved["state"]
        own = rank_states(saved, rank, world, checkpoint)
        set_rng_states(own["rng"])
        task.rng.setstate(own["data_rng"])
        if rank == 0:
            truncate_metrics(out / "metrics.jsonl", state["global_step"])
        logger.info("resumed from step %d", state["global_step"])

    forward: torch.nn.Module = TaskLoss(task)
    if world > 1:
        # every rank must resume from the same step: nodes that do not share output_dir would not
        steps = [None] * world
        dist.all_gather_object(steps, state["global_step"] if resumed else None)
        if len(set(steps)) > 1:
            raise ConfigError(
                f"the ranks found different checkpoints in {out} (step by rank, None for none: {steps}); "
                "every node must see the same output_dir"
            )
        forward = averaged(task)

    def save_checkpoint() -> None:
        """Rank 0 writes; every rank's random states go in (a collective: every rank calls it)."""
        own = {"rng": rng_states(), "data_rng": task.rng.getstate()}
        ranks = [own]
        if world > 1:
            ranks = [None] * world if rank == 0 else None
            dist.gather_object(own, ranks, dst=0)
        if rank != 0:
            return
        blob = {
            "model": task.model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict(), "logit_scale": (task.logit_scale if task.logit_scale is not None else torch.zeros(())).data,
            "state": dict(state), "rank_rng": ranks, "config": asdict(config),
        }
        write_checkpoint(checkpoint, blob)

    if rank == 0:  # the settings beside the results, for the record
        import yaml

        atomic_write(out / "config.yaml", lambda handle: handle.write(yaml.safe_dump(asdict(config), sort_keys=False).encode()))
    metrics_file = open(out / "metrics.jsonl", "a", encoding="utf-8") if rank == 0 else None
    board = None
    if rank == 0 and config.tensorboard:
        try:
            from torch.utils.tensorboard import SummaryWriter

            # a resumed run drops the events it logged after its checkpoint, as it logs them again
            board = SummaryWriter(str(out / "tensorboard"), purge_step=state["global_step"] + 1 if resumed else None)
        except ImportError:
            logger.warning("tensorboard is not installed (pip install 'clamp3[train]'); metrics go to metrics.jsonl only")

    def emit(event: dict) -> None:
        if rank == 0:
            metrics_file.write(json.dumps(event) + "\n")
            metrics_file.flush()
            if board is not None and event["event"] in ("step", "eval"):
                for key, value in event.items():
                    if key not in ("event", "step", "epoch") and isinstance(value, (int, float)):
                        board.add_scalar(f"{event['event']}/{key}", value, state["global_step"])
            if on_event:
                on_event(event)

    started, first_step = time.time(), state["global_step"]
    task.train_mode()
    while state["global_step"] < total_steps and state["epoch"] < config.epochs:
        order = epoch_order(task, config, state["epoch"], global_batch)
        for step in range(state["step_in_epoch"], steps_per_epoch):
            start = step * global_batch + rank * config.batch_size
            device_type = "cuda" if str(config.device).startswith("cuda") else "cpu"
            precision = torch.autocast(device_type, dtype=autocast_dtype) if autocast_dtype else contextlib.nullcontext()
            last_micro_step = (step + 1) % config.accumulation == 0
            # gradients are averaged across ranks at the backward of an accumulation's last micro-step
            with forward.no_sync() if world > 1 and not last_micro_step else contextlib.nullcontext():
                with precision:
                    loss = forward(order[start : start + config.batch_size])
                scaler.scale(loss / config.accumulation).backward()
            if last_micro_step:
                if config.max_grad_norm > 0:
                    scaler.unscale_(optimizer)
                    torch.nn.utils.clip_grad_norm_(task.parameters(), config.max_grad_norm)
                scaler.step(optimizer)
                scaler.update()
                if task.logit_scale is not None and config.learnable_temperature:
                    with torch.no_grad():  # CLIP's bound: a temperature of at least 0.01
                        task.logit_scale.clamp_(0, math.log(100))
                scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            state["step_in_epoch"] = step + 1
            state["global_step"] += 1
            rate = (time.time() - started) / max(1, state["global_step"] - first_step)
            emit({"event": "step", "step": state["global_step"], "total": total_steps, "epoch": state["epoch"], "loss": float(loss.detach()),
                  "lr": scheduler.get_last_lr()[0], "elapsed_s": time.time() - started,
                  "eta_s": rate * (total_steps - state["global_step"])})
            if state["global_step"] % config.checkpoint_every == 0:
                save_checkpoint()
            if state["global_step"] >= total_steps or (stop is not None and stop.is_set()):
                break
        else:
            state["epoch"] += 1
            state["step_in_epoch"] = 0
            evaluation = task.evaluate()
            if evaluation is not None:
                emit({"event": "eval", "epoch": state["epoch"], **evaluation.metrics})
                if evaluation.score > state["best"] and rank == 0:
                    state["best"] = evaluation.score
                    task.save(out / "best")
            task.train_mode()
            continue
        break
    save_checkpoint()
    final = task.save(out / "final") if rank == 0 else out / "final"
    emit({"event": "done", "step": state["global_step"], "model": str(final)})
    if metrics_file:
        metrics_file.close()
    if board is not None:
        board.close()
    return final
