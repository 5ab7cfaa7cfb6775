"""Process-group set-up for torchrun (PyTorch DDP): nccl + SyncBatchNorm on GPU, gloo on CPU."""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from rtmpose.evaluation.device import pick_device


@dataclass
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device('cpu')

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def setup(requested_device: str = 'auto') -> Dist:
    """Read torchrun's RANK/WORLD_SIZE/LOCAL_RANK; initialise the process group when world_size > 1."""
    world = int(os.environ.get('WORLD_SIZE', '1'))
    rank = int(os.environ.get('RANK', '0'))
    local = int(os.environ.get('LOCAL_RANK', '0'))
    device = pick_device(requested_device, local)
    if world > 1 and not dist.is_initialized():
        backend = 'nccl' if device.type == 'cuda' else 'gloo'
        if device.type == 'cuda':
            torch.cuda.set_device(device)
        dist.init_process_group(backend=backend, rank=rank, world_size=world)
    return Dist(rank, world, local, device)


def cleanup() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def barrier(d: Dist) -> None:
    if d.enabled:
        dist.barrier()


def all_gather_object(d: Dist, obj):
    if not d.enabled:
        return [obj]
    out = [None] * d.world_size
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(d: Dist, obj):
    if not d.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def wrap_model(model: torch.nn.Module, d: Dist) -> torch.nn.Module:
    """DDP (with SyncBatchNorm on GPU, as the configs' norm_cfg=SyncBN); plain model when single-process."""
    if not d.enabled:
        return model
    if d.device.type == 'cuda':
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
        return torch.nn.parallel.DistributedDataParallel(model, device_ids=[d.device.index])
    return torch.nn.parallel.DistributedDataParallel(model)
