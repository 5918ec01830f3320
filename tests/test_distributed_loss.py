"""The cross-rank gather: two gloo processes, each with half the batch and gradients averaged by
the trainer's DistributedDataParallel wrapping, give the gradients of one process on the whole
batch (a parameter no rank uses keeps no gradient); and the wrapping gives every rank rank 0's weights."""

from __future__ import annotations

import os
import socket
from types import SimpleNamespace

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from clamp3.training.loop import averaged
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
    unused = torch.nn.Linear(2, 2)  # a trained parameter outside the loss, as an encoder's pooler
    task = SimpleNamespace(model=torch.nn.ModuleList([text_tower, music_tower, unused]), logit_scale=None,
                           loss=lambda indices: contrastive_loss(text_tower(texts[indices]), music_tower(musics[indices])))
    wrapped = averaged(task)
    loss = wrapped(list(range(rank * 4, rank * 4 + 4)))
    loss.backward()
    assert unused.weight.grad is None and unused.bias.grad is None
    # a model seeded by rank, as the trainer seeds it, then wrapped: rank 0's weights on every rank
    torch.manual_seed(100 + rank)
    task = SimpleNamespace(model=torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.LayerNorm(3)),
                           logit_scale=torch.nn.Parameter(torch.tensor(float(rank))), loss=None)
    task.model[1].weight.data.uniform_()
    averaged(task)
    weights = [t.numpy().copy() for t in task.model.state_dict().values()] + [task.logit_scale.detach().numpy().copy()]
    grads = [p.grad.numpy().copy() for p in (*text_tower.parameters(), *music_tower.parameters())]
    # arrays, not tensors: a tensor crosses the queue as a handle to shared memory that dies with this process
    queue.put((rank, float(loss.detach()), grads, weights))
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
    for _, rank_loss, grads, _ in results:
        assert abs(rank_loss - float(loss.detach())) < 1e-5  # every rank sees the loss of the whole batch
        for got, want in zip(grads, expected):
            torch.testing.assert_close(torch.from_numpy(got), want, atol=1e-5, rtol=1e-4)
    by_rank = {rank: weights for rank, _, _, weights in results}
    torch.manual_seed(100)
    reference = torch.nn.Linear(3, 3)  # what rank 0 built
    assert torch.equal(torch.from_numpy(by_rank[1][0]), reference.weight) and float(by_rank[1][-1]) == 0.0
    for a, b in zip(by_rank[0], by_rank[1]):
        assert (a == b).all()
