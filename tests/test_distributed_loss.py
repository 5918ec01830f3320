"""The cross-rank gather: two gloo processes, each with half the batch and gradients averaged
as DDP does, give the gradients of one process on the whole batch."""

from __future__ import annotations

import os
import socket

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from clamp3.training.loss import contrastive_loss


def _model():
    torch.manual_seed(0)
    return torch.nn.Linear(6, 4), torch.nn.Linear(5, 4)


def _data():
    generator = torch.Generator().manual_seed(1)
    return torch.randn(8, 6, generator=generator), torch.randn(8, 5, generator=generator)


def _worker(rank: int, world: int, port: int, queue) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    text_tower, music_tower = _model()
    texts, musics = _data()
    half = slice(rank * 4, rank * 4 + 4)
    loss = contrastive_loss(text_tower(texts[half]), music_tower(musics[half]))
    loss.backward()
    for param in (*text_tower.parameters(), *music_tower.parameters()):
        dist.all_reduce(param.grad)
        param.grad /= world  # what DistributedDataParallel does
    queue.put((rank, float(loss), [p.grad.clone() for p in (*text_tower.parameters(), *music_tower.parameters())]))
    dist.destroy_process_group()


def test_two_gloo_ranks_equal_one_process_with_the_whole_batch():
    text_tower, music_tower = _model()
    texts, musics = _data()
    loss = contrastive_loss(text_tower(texts), music_tower(musics))
    loss.backward()
    expected = [p.grad for p in (*text_tower.parameters(), *music_tower.parameters())]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    context = mp.get_context("spawn")
    queue = context.Queue()
    processes = [context.Process(target=_worker, args=(rank, 2, port, queue)) for rank in range(2)]
    for process in processes:
        process.start()
    results = [queue.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    for _, rank_loss, grads in results:
        assert abs(rank_loss - float(loss.detach())) < 1e-5  # every rank sees the loss of the whole batch
        for got, want in zip(grads, expected):
            torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-4)
